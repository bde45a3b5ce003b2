//! The built-in opt-outs: packages whose import has side effects that other
//! code relies on at import time, found by running real programs lazily,
//! each with the reason. One table for every runtime.

use std::ffi::CStr;

use super::Policy;

/// One built-in opt-out rule and why it is needed.
#[derive(Clone, Copy, Debug)]
pub struct BuiltinRule {
    rule: &'static CStr,
    reason: &'static CStr,
    lazy_from_only: bool,
}

impl BuiltinRule {
    /// The rule, in the policy format (`eager-importer pandas.*`).
    pub fn rule(&self) -> &'static str {
        self.rule.to_str().expect("built-in rules are ASCII")
    }

    /// What breaks without it, in one sentence.
    pub fn reason(&self) -> &'static str {
        self.reason.to_str().expect("built-in reasons are ASCII")
    }

    /// The same two as NUL-terminated strings, for the C ABI.
    pub(crate) fn c_strings(&self) -> (&'static CStr, &'static CStr) {
        (self.rule, self.reason)
    }

    /// Whether only a runtime that defers `from` imports needs it: the side
    /// effects it protects happen anyway when `from a import x` runs `a` at
    /// once.
    pub fn lazy_from_only(&self) -> bool {
        self.lazy_from_only
    }
}

const fn rule(rule: &'static CStr, reason: &'static CStr, lazy_from_only: bool) -> BuiltinRule {
    BuiltinRule {
        rule,
        reason,
        lazy_from_only,
    }
}

/// Every built-in rule, in the order they are added. `eager-importer P.*`
/// keeps the package's own imports eager while a program's `import P`
/// stays deferred: the choice when the side effects are spread over many
/// modules.
pub const BUILTIN_RULES: &[BuiltinRule] = &[
    rule(
        c"eager-importer pandas.*",
        c"pandas/_libs/__init__.py imports pandas_parser and pandas_datetime only so that \
their exec stores C API capsules on pandas (PyCapsule_Import fails otherwise), and \
pandas.core.config_init registers the options other modules read at import time \
(KeyError: 'compute' otherwise)",
        false,
    ),
    rule(
        c"eager-importer matplotlib.*",
        c"matplotlib modules register docstring substitutions (_docstring.interpd.register) \
that class bodies elsewhere use at import time (KeyError: '_legend_kw_axes' otherwise)",
        false,
    ),
    rule(
        c"eager-importer torch.*",
        c"torch imports its own submodules in an order it depends on: torch._jit_internal \
imports torch.distributed.rpc first, which needs torch.autograd and torch.nn that \
torch/__init__.py imports earlier (cannot import name '_overload' from partially initialized \
torch._jit_internal otherwise), and torch.jit._builtins walks every attribute of torch, \
resolving them all while one of them is being resolved (a lazy-import cycle otherwise)",
        false,
    ),
    rule(
        c"eager-importer mpmath.*",
        c"mpmath.functions' submodules add their functions to the contexts by decorators when \
imported ('FPContext' object has no attribute 'zetazero' otherwise)",
        true,
    ),
    rule(
        c"eager-importer sympy.*",
        c"sympy classes register into the singleton registry S when their module runs \
(Attribute 'Catalan' was not installed on SymPy registry S otherwise)",
        true,
    ),
    rule(
        c"eager-importer hypothesis.*",
        c"hypothesis.strategies checks at import time that every strategy it exports was \
registered into _all_strategies by the @defines_strategy decorators of the modules it \
imports names from (AssertionError listing the unregistered names otherwise)",
        true,
    ),
    rule(
        c"eager-importer _pytest.assertion.rewrite",
        c"pytest's assertion-rewriting import hook runs for every import, including those of \
the modules its own code uses: find_spec calls _pytest.pathlib.fnmatch_ex, which needs \
fnmatch while fnmatch itself is being found (a lazy-import cycle otherwise); eagerly they \
are imported before the hook is installed",
        true,
    ),
    rule(
        c"eager-importer _pytest.pathlib",
        c"the other half of the rule for _pytest.assertion.rewrite: the names its import \
hook uses from _pytest.pathlib must be loaded before the hook runs",
        true,
    ),
];

/// The built-in rules a runtime needs, as rules to add to its policy
/// ([`ActivePolicy::add_rules`](super::ActivePolicy::add_rules)): all of
/// them when `lazy_from` (the runtime defers `from` imports), else those
/// that are not [`lazy_from_only`](BuiltinRule::lazy_from_only).
pub fn builtin_rules(lazy_from: bool) -> Policy {
    let text: Vec<&str> = BUILTIN_RULES
        .iter()
        .filter(|rule| lazy_from || !rule.lazy_from_only)
        .map(BuiltinRule::rule)
        .collect();
    Policy::parse_rules(&text.join("\n")).expect("the built-in rules parse")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{ActivePolicy, Decision, ImportQuery};

    #[test]
    fn every_rule_parses_and_has_a_reason() {
        for rule in BUILTIN_RULES {
            Policy::parse_rules(rule.rule()).unwrap();
            assert!(rule.reason().len() > 40, "{}: say why", rule.rule());
        }
    }

    #[test]
    fn a_runtime_that_imports_from_eagerly_gets_fewer_rules() {
        let query = ImportQuery::new("sympy.core", "sympy.core.numbers");
        let torch = ImportQuery::new("torch.nn", "torch.nn.modules");
        for (lazy_from, sympy) in [(true, Decision::Eager), (false, Decision::Defer)] {
            let active = ActivePolicy::new(Policy::parse("mode all").unwrap());
            active.add_rules(&builtin_rules(lazy_from));
            assert_eq!(active.decide(&query), sympy, "lazy_from = {lazy_from}");
            assert_eq!(active.decide(&torch), Decision::Eager);
            assert_eq!(
                active.decide(&ImportQuery::new("app", "torch")),
                Decision::Defer
            );
        }
    }
}
