//! The decision function: one pass over the precedence order.

use std::sync::Arc;

use super::builder::Policy;
use super::context::{ContextReason, ImportQuery};
use super::explain::{Decision, Explanation, Reason};
use super::mode::Mode;
use super::rules::{Hit, Side};
use super::scope::in_eager_scope;

/// A runtime filter: `(importer, target, fromlist) -> allow laziness?`.
///
/// Returning `false` makes the import eager; returning `true` leaves the
/// decision to the mode. It can veto laziness, never create it.
///
/// # Thread-safety
/// It may be called from many threads at once, and re-entrantly (an import
/// triggered inside the filter is decided with the same filter). No lock or
/// snapshot guard is held while it runs, so it may also change the
/// [`ActivePolicy`](super::ActivePolicy) that called it; the decision in
/// progress keeps the rules and filter it started with.
pub type Filter = Arc<dyn Fn(&str, &str, &[&str]) -> bool + Send + Sync>;

/// What decided, without allocating: rule matches are positions in the query.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Why {
    Context(ContextReason),
    ModeNone,
    EagerScope,
    ImporterOptOut(Hit),
    TargetOptOut(Hit),
    TargetOptIn(Hit),
    ImporterOptIn(Hit),
    Filter,
    Mode(Mode),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Verdict {
    pub(crate) decision: Decision,
    why: Why,
}

impl Verdict {
    fn eager(why: Why) -> Verdict {
        Verdict {
            decision: Decision::Eager,
            why,
        }
    }

    fn defer(why: Why) -> Verdict {
        Verdict {
            decision: Decision::Defer,
            why,
        }
    }

    /// Turns the verdict into an owned explanation (allocates for rules).
    pub(crate) fn explain(self, query: &ImportQuery<'_>) -> Explanation {
        let reason = match self.why {
            Why::Context(c) => Reason::Context(c),
            Why::ModeNone => Reason::ModeNone,
            Why::EagerScope => Reason::EagerScope,
            Why::ImporterOptOut(h) => Reason::ImporterOptOut {
                rule: h.pattern(query.importer),
            },
            Why::TargetOptOut(h) => Reason::TargetOptOut {
                rule: h.pattern(query.target),
            },
            Why::TargetOptIn(h) => Reason::TargetOptIn {
                rule: h.pattern(query.target),
            },
            Why::ImporterOptIn(h) => Reason::ImporterOptIn {
                rule: h.pattern(query.importer),
            },
            Why::Filter => Reason::Filter,
            Why::Mode(m) => Reason::from_mode(m, query.context.marked_lazy),
        };
        Explanation {
            decision: self.decision,
            reason,
        }
    }
}

/// Where the rules leave a query: decided, or up to the filter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// A context, the mode or a rule decided.
    Decided(Verdict),
    /// The mode would defer and no rule decided: the filter (if any) may
    /// veto. Holds the mode that defers.
    AskFilter(Mode),
}

impl Step {
    /// The verdict, calling `filter` if the rules left the query to it.
    /// Callers that loaded the filter from a published snapshot drop the
    /// snapshot's guard first: the filter is runtime code.
    pub(crate) fn finish(self, filter: Option<&Filter>, q: &ImportQuery<'_>) -> Verdict {
        match self {
            Step::Decided(verdict) => verdict,
            Step::AskFilter(mode) => match filter {
                Some(f) if !f(q.importer, q.target, q.fromlist) => Verdict::eager(Why::Filter),
                _ => Verdict::defer(Why::Mode(mode)),
            },
        }
    }
}

/// Applies the precedence order:
/// context > mode none > eager scope > opt-outs (importer, then target) >
/// opt-ins (target, then importer) > filter > mode.
#[inline]
pub(crate) fn evaluate(policy: &Policy, filter: Option<&Filter>, q: &ImportQuery<'_>) -> Verdict {
    evaluate_rules(policy, q).finish(filter, q)
}

/// Every step of [`evaluate`] before the filter.
#[inline]
pub(crate) fn evaluate_rules(policy: &Policy, q: &ImportQuery<'_>) -> Step {
    if let Some(c) = q.context.never_lazy_reason(q.target) {
        return Step::Decided(Verdict::eager(Why::Context(c)));
    }
    if policy.mode == Mode::None {
        return Step::Decided(Verdict::eager(Why::ModeNone));
    }
    if in_eager_scope() {
        return Step::Decided(Verdict::eager(Why::EagerScope));
    }
    let rules = &*policy.rules;
    if !rules.is_empty() {
        let importer = rules.lookup(Side::Importer, q.importer);
        if let Some(h) = importer.eager {
            return Step::Decided(Verdict::eager(Why::ImporterOptOut(h)));
        }
        let target = rules.lookup(Side::Target, q.target);
        if let Some(h) = target.eager {
            return Step::Decided(Verdict::eager(Why::TargetOptOut(h)));
        }
        if let Some(h) = target.lazy {
            return Step::Decided(Verdict::defer(Why::TargetOptIn(h)));
        }
        if let Some(h) = importer.lazy {
            return Step::Decided(Verdict::defer(Why::ImporterOptIn(h)));
        }
    }
    if policy.mode == Mode::Normal && !q.context.marked_lazy {
        // Would be eager whatever the filter says: do not call it.
        return Step::Decided(Verdict::eager(Why::Mode(Mode::Normal)));
    }
    Step::AskFilter(policy.mode)
}
