//! The answer of the policy and the reason behind it.

use std::fmt;

use super::context::ContextReason;
use super::mode::Mode;
use super::pattern::Pattern;

/// Whether an import is deferred (lazy) or executed now (eager).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Create a lazy binding; the import runs at first use.
    Defer,
    /// Import now, as without lazy_bind.
    Eager,
}

impl Decision {
    /// `true` for [`Decision::Defer`].
    pub const fn is_defer(self) -> bool {
        matches!(self, Decision::Defer)
    }
}

impl fmt::Display for Decision {
    /// Writes `defer` or `eager`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Defer => "defer",
            Decision::Eager => "eager",
        })
    }
}

/// The rule or context that decided an import, in precedence order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A context that is never lazy (always [`Decision::Eager`]).
    Context(ContextReason),
    /// The mode is `none` (always eager).
    ModeNone,
    /// The calling thread is inside an eager scope (always eager).
    EagerScope,
    /// An importer opt-out rule matched the importer (always eager).
    ImporterOptOut {
        /// The matching rule, e.g. `myapp.plugins` or `myapp.*`.
        rule: Pattern,
    },
    /// A target opt-out rule matched the target (always eager).
    TargetOptOut {
        /// The matching rule, e.g. `torch.*`.
        rule: Pattern,
    },
    /// A target opt-in rule matched the target (always deferred).
    TargetOptIn {
        /// The matching rule.
        rule: Pattern,
    },
    /// An importer opt-in rule matched the importer (always deferred).
    ImporterOptIn {
        /// The matching rule.
        rule: Pattern,
    },
    /// In mode `normal`, the import is neither marked lazy nor opted in
    /// (always eager).
    NotMarkedLazy,
    /// The filter callback returned `false` (always eager).
    Filter,
    /// In mode `normal`, the import is marked lazy (always deferred).
    MarkedLazy,
    /// In mode `all`, no rule or filter objected (always deferred).
    ModeAll,
}

impl fmt::Display for Reason {
    /// A human sentence fragment naming the deciding rule or context.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Context(c) => write!(f, "the import is {c}, which is never lazy"),
            Reason::ModeNone => f.write_str("the mode is none"),
            Reason::EagerScope => f.write_str("the thread is inside an eager scope"),
            Reason::ImporterOptOut { rule } => {
                write!(f, "importer opt-out rule 'eager-importer {rule}'")
            }
            Reason::TargetOptOut { rule } => write!(f, "target opt-out rule 'eager-target {rule}'"),
            Reason::TargetOptIn { rule } => write!(f, "target opt-in rule 'lazy-target {rule}'"),
            Reason::ImporterOptIn { rule } => {
                write!(f, "importer opt-in rule 'lazy-importer {rule}'")
            }
            Reason::NotMarkedLazy => {
                f.write_str("mode normal and the import is neither marked lazy nor opted in")
            }
            Reason::Filter => f.write_str("the filter callback returned false"),
            Reason::MarkedLazy => f.write_str("mode normal and the import is marked lazy"),
            Reason::ModeAll => f.write_str("mode all"),
        }
    }
}

/// A decision together with what decided it, for debugging.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Explanation {
    /// The decision, identical to what `decide` returns for the same input.
    pub decision: Decision,
    /// The rule or context that decided.
    pub reason: Reason,
}

impl fmt::Display for Explanation {
    /// E.g. `eager: target opt-out rule 'eager-target torch.*'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.decision, self.reason)
    }
}

impl Reason {
    /// The mode-derived reason for an import no rule decided.
    pub(crate) fn from_mode(mode: Mode, marked_lazy: bool) -> Reason {
        match (mode, marked_lazy) {
            (Mode::None, _) => Reason::ModeNone,
            (Mode::Normal, false) => Reason::NotMarkedLazy,
            (Mode::Normal, true) => Reason::MarkedLazy,
            (Mode::All, _) => Reason::ModeAll,
        }
    }
}
