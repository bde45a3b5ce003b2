//! Model test: the policy's decision function against a deliberately naive
//! reference (a linear scan with string formatting) over random rule sets,
//! module names, contexts, modes, filters and eager scopes.

use std::sync::Arc;

use lazy_bind::policy::{
    eager_scope, ActivePolicy, ContextReason, Decision, Filter, ImportContext, ImportQuery, Mode,
    Pattern, Policy, Reason, RuleKind,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Rule {
    kind: RuleKind,
    name: String,
    prefix: bool,
}

/// Naive matching, written independently of the library.
fn rule_matches(rule: &Rule, module: &str) -> bool {
    module == rule.name || (rule.prefix && module.starts_with(&format!("{}.", rule.name)))
}

/// The most specific matching rule of `kind` on `module`: longest name,
/// exact before prefix.
fn best(rules: &[Rule], kind: RuleKind, module: &str) -> Option<Pattern> {
    rules
        .iter()
        .filter(|r| r.kind == kind && rule_matches(r, module))
        .max_by_key(|r| (r.name.len(), !r.prefix))
        .map(|r| {
            let text = if r.prefix {
                format!("{}.*", r.name)
            } else {
                r.name.clone()
            };
            Pattern::parse(&text).unwrap()
        })
}

fn reference_filter(importer: &str, target: &str, fromlist: &[&str]) -> bool {
    (importer.len() + target.len() + fromlist.len()) % 3 != 0
}

/// The documented precedence, spelled out step by step.
fn reference(
    mode: Mode,
    rules: &[Rule],
    filter: bool,
    scope: bool,
    q: &ImportQuery<'_>,
) -> (Decision, Reason) {
    use Decision::{Defer, Eager};
    let c = q.context;
    let context = if c.future || q.target == "__future__" {
        Some(ContextReason::Future)
    } else if c.star {
        Some(ContextReason::StarImport)
    } else if !c.module_level {
        Some(ContextReason::NotModuleLevel)
    } else if c.in_try {
        Some(ContextReason::InTry)
    } else if c.in_with {
        Some(ContextReason::InWith)
    } else if c.in_loop {
        Some(ContextReason::InLoop)
    } else {
        None
    };
    if let Some(c) = context {
        return (Eager, Reason::Context(c));
    }
    if mode == Mode::None {
        return (Eager, Reason::ModeNone);
    }
    if scope {
        return (Eager, Reason::EagerScope);
    }
    if let Some(rule) = best(rules, RuleKind::EagerImporter, q.importer) {
        return (Eager, Reason::ImporterOptOut { rule });
    }
    if let Some(rule) = best(rules, RuleKind::EagerTarget, q.target) {
        return (Eager, Reason::TargetOptOut { rule });
    }
    if let Some(rule) = best(rules, RuleKind::LazyTarget, q.target) {
        return (Defer, Reason::TargetOptIn { rule });
    }
    if let Some(rule) = best(rules, RuleKind::LazyImporter, q.importer) {
        return (Defer, Reason::ImporterOptIn { rule });
    }
    if mode == Mode::Normal && !c.marked_lazy {
        return (Eager, Reason::NotMarkedLazy);
    }
    if filter && !reference_filter(q.importer, q.target, q.fromlist) {
        return (Eager, Reason::Filter);
    }
    if mode == Mode::Normal {
        (Defer, Reason::MarkedLazy)
    } else {
        (Defer, Reason::ModeAll)
    }
}

fn segment() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "ab", "_x", "b2"]).prop_map(str::to_owned)
}

fn module_name() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..5).prop_map(|s| s.join("."))
}

/// Query names: mostly valid names, sometimes odd strings a runtime might pass.
fn query_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => module_name(),
        1 => prop::sample::select(vec!["", "a.", ".a", "a..b", "__future__", "a.*"])
            .prop_map(str::to_owned),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        prop::sample::select(RuleKind::ALL.to_vec()),
        module_name(),
        any::<bool>(),
    )
        .prop_map(|(kind, name, prefix)| Rule { kind, name, prefix })
}

fn context() -> impl Strategy<Value = ImportContext> {
    // Each never-lazy flag is rare, so rules are exercised most of the time.
    let rare = || prop::bool::weighted(0.08);
    (
        prop::bool::weighted(0.92),
        rare(),
        rare(),
        rare(),
        rare(),
        rare(),
        any::<bool>(),
    )
        .prop_map(
            |(module_level, in_try, in_with, in_loop, star, future, marked_lazy)| ImportContext {
                module_level,
                in_try,
                in_with,
                in_loop,
                star,
                future,
                marked_lazy,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn decision_matches_naive_reference(
        rules in prop::collection::vec(rule(), 0..16),
        mode in prop::sample::select(Mode::ALL.to_vec()),
        queries in prop::collection::vec(
            (query_name(), query_name(), prop::collection::vec(segment(), 0..3), context()),
            1..8,
        ),
        filter in any::<bool>(),
        scope in prop::bool::weighted(0.1),
    ) {
        let mut builder = Policy::builder().mode(mode);
        for r in &rules {
            let text = if r.prefix { format!("{}.*", r.name) } else { r.name.clone() };
            builder = builder.rule(r.kind, &text).unwrap();
        }
        let policy = builder.build();
        // The text form describes the same policy.
        prop_assert_eq!(&Policy::parse(&policy.to_string()).unwrap(), &policy);

        let active = ActivePolicy::new(policy);
        if filter {
            let f: Filter = Arc::new(reference_filter);
            active.set_filter(Some(f));
        }
        let _guard = scope.then(eager_scope);
        for (importer, target, fromlist, context) in &queries {
            let fromlist: Vec<&str> = fromlist.iter().map(String::as_str).collect();
            let q = ImportQuery {
                importer,
                target,
                fromlist: &fromlist,
                context: *context,
            };
            let (decision, reason) = reference(mode, &rules, filter, scope, &q);
            let got = active.explain_query(&q);
            prop_assert_eq!(&got.reason, &reason, "query {:?}", q);
            prop_assert_eq!(got.decision, decision);
            prop_assert_eq!(active.decide(&q), decision);
        }
    }
}
