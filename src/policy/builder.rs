//! `Policy`, the immutable mode-plus-rules value, and `PolicyBuilder`.

use std::fmt;
use std::sync::Arc;

use super::context::ImportQuery;
use super::decide::evaluate;
use super::explain::{Decision, Explanation};
use super::mode::Mode;
use super::pattern::{NameError, Pattern};
use super::rules::{RuleKind, RuleSet};

/// An immutable policy: a mode and a set of rules.
///
/// Cloning is cheap (the rules are shared behind an `Arc`). Build one with
/// [`PolicyBuilder`], parse one with [`Policy::parse`], or load one with
/// [`Policy::from_env`] / [`Policy::from_file`]. `Display` writes it back in
/// the policy file format, and parsing that text gives an equal policy.
#[derive(Clone, Default)]
pub struct Policy {
    pub(crate) mode: Mode,
    pub(crate) rules: Arc<RuleSet>,
}

impl Policy {
    /// Starts building a policy (mode `normal`, no rules).
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The same rules with another mode (cheap: the rules are shared).
    pub fn with_mode(&self, mode: Mode) -> Policy {
        Policy {
            mode,
            rules: Arc::clone(&self.rules),
        }
    }

    /// This policy's mode with the rules of both policies: `self`'s first,
    /// then those of `other` it lacks. For a runtime that layers built-in
    /// rules (say, opt-outs of packages known to need eager imports) under
    /// a user's policy; opt-outs win over opt-ins whatever their order.
    pub fn with_rules_of(&self, other: &Policy) -> Policy {
        let mut rules = (*self.rules).clone();
        for (kind, pattern) in other.rules.list() {
            rules.insert(*kind, pattern.clone());
        }
        Policy {
            mode: self.mode,
            rules: Arc::new(rules),
        }
    }

    /// The rules in the order they were added, each once.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = (RuleKind, &Pattern)> + '_ {
        self.rules.list().iter().map(|(k, p)| (*k, p))
    }

    /// Decides `query` under this policy alone (no filter callback), honouring
    /// the calling thread's eager scopes.
    ///
    /// Costs one hash probe per dotted segment of the importer and target
    /// names, independent of the number of rules, and never allocates.
    #[inline]
    pub fn decide(&self, query: &ImportQuery<'_>) -> Decision {
        evaluate(self, None, query).decision
    }

    /// Like [`Policy::decide`], also naming the rule or context that decided.
    pub fn explain_query(&self, query: &ImportQuery<'_>) -> Explanation {
        evaluate(self, None, query).explain(query)
    }
}

impl PartialEq for Policy {
    /// Equal when the modes are equal and the rules are the same set,
    /// regardless of order.
    fn eq(&self, other: &Self) -> bool {
        let same_rules = || {
            let a = self.rules.list();
            let b = other.rules.list();
            a.len() == b.len() && a.iter().all(|r| b.contains(r))
        };
        self.mode == other.mode && (Arc::ptr_eq(&self.rules, &other.rules) || same_rules())
    }
}

impl Eq for Policy {}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("mode", &self.mode)
            .field("rules", &self.rules.list())
            .finish()
    }
}

impl fmt::Display for Policy {
    /// Writes the policy in the policy file format: a `mode` line, then one
    /// line per rule in insertion order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "mode {}", self.mode)?;
        for (kind, pattern) in self.rules.list() {
            writeln!(f, "{kind} {pattern}")?;
        }
        Ok(())
    }
}

/// Builds a [`Policy`] from API calls.
///
/// ```
/// use lazy_bind::policy::{Mode, Policy};
///
/// let policy = Policy::builder()
///     .mode(Mode::All)
///     .eager_target("torch.*")?
///     .eager_importer("myapp.plugins")?
///     .lazy_target("numpy")?
///     .build();
/// assert_eq!(policy.rules().len(), 3);
/// # Ok::<(), lazy_bind::policy::NameError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct PolicyBuilder {
    mode: Mode,
    rules: RuleSet,
}

impl PolicyBuilder {
    /// A builder with mode `normal` and no rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the mode (the last call wins).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Adds an already validated rule. Adding a rule twice has no effect.
    pub fn pattern(mut self, kind: RuleKind, pattern: Pattern) -> Self {
        self.rules.insert(kind, pattern);
        self
    }

    /// Parses `pattern` (`a.b` or `a.b.*`) and adds it as a `kind` rule.
    ///
    /// # Errors
    /// Returns [`NameError`] if `pattern` is not a valid module pattern.
    pub fn rule(self, kind: RuleKind, pattern: &str) -> Result<Self, NameError> {
        Ok(self.pattern(kind, Pattern::parse(pattern)?))
    }

    /// Adds a target opt-out (`eager-target`).
    ///
    /// # Errors
    /// Returns [`NameError`] if `pattern` is not a valid module pattern.
    pub fn eager_target(self, pattern: &str) -> Result<Self, NameError> {
        self.rule(RuleKind::EagerTarget, pattern)
    }

    /// Adds a target opt-in (`lazy-target`).
    ///
    /// # Errors
    /// Returns [`NameError`] if `pattern` is not a valid module pattern.
    pub fn lazy_target(self, pattern: &str) -> Result<Self, NameError> {
        self.rule(RuleKind::LazyTarget, pattern)
    }

    /// Adds an importer opt-out (`eager-importer`; `m` is shallow, `m.*`
    /// covers submodules too).
    ///
    /// # Errors
    /// Returns [`NameError`] if `pattern` is not a valid module pattern.
    pub fn eager_importer(self, pattern: &str) -> Result<Self, NameError> {
        self.rule(RuleKind::EagerImporter, pattern)
    }

    /// Adds an importer opt-in (`lazy-importer`).
    ///
    /// # Errors
    /// Returns [`NameError`] if `pattern` is not a valid module pattern.
    pub fn lazy_importer(self, pattern: &str) -> Result<Self, NameError> {
        self.rule(RuleKind::LazyImporter, pattern)
    }

    /// Finishes the policy.
    pub fn build(self) -> Policy {
        Policy {
            mode: self.mode,
            rules: Arc::new(self.rules),
        }
    }
}
