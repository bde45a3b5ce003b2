//! The published, run-time-changeable policy and the phase switch.

use std::fmt;

use arc_swap::ArcSwap;

use super::builder::Policy;
use super::context::ImportQuery;
use super::decide::{evaluate_rules, Filter, Step};
use super::explain::{Decision, Explanation};
use super::mode::Mode;

/// What a reader loads: the policy and the filter, published together so a
/// decision never mixes one version's rules with another's filter.
struct Snapshot {
    policy: Policy,
    filter: Option<Filter>,
}

/// The policy in force, read on every import and changed rarely.
///
/// # Thread-safety
/// `ActivePolicy` is `Send + Sync`. Readers ([`decide`](Self::decide),
/// [`explain`](Self::explain)) take no lock: they load the current snapshot
/// from an [`ArcSwap`]. Writers publish a new snapshot; concurrent writers
/// do not lose each other's changes (each update is a read-copy-update loop).
/// A decision that is running while a writer publishes uses either the old
/// or the new snapshot, never a mix.
pub struct ActivePolicy {
    current: ArcSwap<Snapshot>,
}

impl ActivePolicy {
    /// Publishes `policy`, with no filter.
    pub fn new(policy: Policy) -> Self {
        ActivePolicy {
            current: ArcSwap::from_pointee(Snapshot {
                policy,
                filter: None,
            }),
        }
    }

    /// The policy in force (a cheap clone).
    pub fn policy(&self) -> Policy {
        self.current.load().policy.clone()
    }

    /// The mode in force.
    pub fn mode(&self) -> Mode {
        self.current.load().policy.mode
    }

    /// Changes the mode, keeping the rules and the filter. Imports decided
    /// after this returns see the new mode.
    pub fn set_mode(&self, mode: Mode) {
        self.update(|s| Snapshot {
            policy: s.policy.with_mode(mode),
            filter: s.filter.clone(),
        });
    }

    /// Replaces the policy (mode and rules), keeping the filter.
    pub fn replace(&self, policy: Policy) {
        self.update(|s| Snapshot {
            policy: policy.clone(),
            filter: s.filter.clone(),
        });
    }

    /// Adds the rules of `rules` (its mode is not used), keeping the mode
    /// and the filter. Imports decided after this returns see them.
    pub fn add_rules(&self, rules: &Policy) {
        self.update(|s| Snapshot {
            policy: s.policy.with_rules_of(rules),
            filter: s.filter.clone(),
        });
    }

    /// Installs (`Some`) or removes (`None`) the filter callback.
    ///
    /// The filter is consulted only for imports that would otherwise be
    /// deferred and that no rule decided; it is never called in mode `none`.
    pub fn set_filter(&self, filter: Option<Filter>) {
        self.update(|s| Snapshot {
            policy: s.policy.clone(),
            filter: filter.clone(),
        });
    }

    /// Decides whether `query` is deferred. This is the hot path: a lock-free
    /// load, one hash probe per name segment, no allocation.
    ///
    /// The filter runs after the snapshot's guard is dropped (a decision
    /// that needs it takes its own reference to it, one atomic increment),
    /// so it may change this policy or decide other imports.
    ///
    /// # Panics
    /// Propagates a panic from the filter callback.
    #[inline]
    pub fn decide(&self, query: &ImportQuery<'_>) -> Decision {
        let (step, filter) = self.rules_step(query);
        step.finish(filter.as_ref(), query).decision
    }

    /// Decides `query` and names the rule or context that decided; the
    /// decision always equals [`decide`](Self::decide)'s for the same state.
    ///
    /// # Panics
    /// Propagates a panic from the filter callback.
    pub fn explain_query(&self, query: &ImportQuery<'_>) -> Explanation {
        let (step, filter) = self.rules_step(query);
        step.finish(filter.as_ref(), query).explain(query)
    }

    /// Explains a plain module-level `import target` run by `importer`
    /// (default context, not marked lazy, empty fromlist).
    ///
    /// # Panics
    /// Propagates a panic from the filter callback.
    pub fn explain(&self, importer: &str, target: &str) -> Explanation {
        self.explain_query(&ImportQuery::new(importer, target))
    }

    /// The phase switch: sets mode `none`, so no new import is deferred, then
    /// asks `engine` to resolve every entry still pending and returns every
    /// failure (an empty vector means all resolved).
    ///
    /// Laziness stays off afterwards; call [`set_mode`](Self::set_mode) to
    /// turn it back on.
    ///
    /// # Thread-safety
    /// A decision that loaded the policy on another thread just before the
    /// mode changed may still defer one import while `engine` is draining;
    /// an engine that must leave nothing pending should drain until empty,
    /// or the caller should switch at a point where no imports run.
    pub fn disable_laziness<R: PendingResolver + ?Sized>(&self, engine: &R) -> Vec<R::Failure> {
        self.set_mode(Mode::None);
        engine.resolve_all_pending()
    }

    /// Applies the current snapshot's rules to `query` and, if they leave
    /// it to the filter, returns that snapshot's filter too: both from one
    /// snapshot, never mixing versions, with the guard dropped on return.
    #[inline]
    fn rules_step(&self, query: &ImportQuery<'_>) -> (Step, Option<Filter>) {
        let snap = self.current.load();
        match evaluate_rules(&snap.policy, query) {
            decided @ Step::Decided(_) => (decided, None),
            ask @ Step::AskFilter(_) => (ask, snap.filter.clone()),
        }
    }

    fn update(&self, f: impl Fn(&Snapshot) -> Snapshot) {
        self.current.rcu(|s| f(s));
    }
}

impl Default for ActivePolicy {
    /// Mode `normal`, no rules, no filter.
    fn default() -> Self {
        ActivePolicy::new(Policy::default())
    }
}

impl fmt::Debug for ActivePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snap = self.current.load();
        f.debug_struct("ActivePolicy")
            .field("policy", &snap.policy)
            .field("filter", &snap.filter.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

/// Something that can resolve every deferred entry still pending: the engine
/// implements it so [`ActivePolicy::disable_laziness`] can drain it.
pub trait PendingResolver {
    /// One resolution failure (for imports: the module name and its error).
    type Failure;

    /// Resolves every entry that is still pending and returns every failure,
    /// in any order. Must not stop at the first failure.
    fn resolve_all_pending(&self) -> Vec<Self::Failure>;
}

/// The engine is the resolver the phase switch drains.
impl<V> PendingResolver for crate::Engine<V> {
    type Failure = crate::Error;

    fn resolve_all_pending(&self) -> Vec<crate::Error> {
        crate::Engine::resolve_all_pending(self)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{mpsc, Arc, Mutex, PoisonError};
    use std::thread;
    use std::time::Duration;

    use super::*;

    /// A filter that replaces the policy while it runs sees the snapshot it
    /// was called from already freed, so no guard pins it; the decision in
    /// progress still follows that snapshot, later ones the new policy.
    #[test]
    fn the_filter_runs_with_no_snapshot_guard_held() {
        let (done, outcome) = mpsc::channel();
        thread::spawn(move || {
            let policy = Policy::parse("mode all").expect("valid policy");
            let active = Arc::new(ActivePolicy::new(policy));
            let pinned = Arc::new(Mutex::new(None));
            let filter: Filter = {
                let active = Arc::downgrade(&active);
                let pinned = Arc::clone(&pinned);
                Arc::new(move |_: &str, target: &str, _: &[&str]| {
                    let Some(active) = active.upgrade() else {
                        return true;
                    };
                    if target == "outer" {
                        let rules = Arc::downgrade(&active.current.load().policy.rules);
                        active.replace(Policy::parse("mode none").expect("valid policy"));
                        // Re-entrant: decided under the policy just stored.
                        let inner = active.decide(&ImportQuery::new("app", "inner"));
                        *pinned.lock().unwrap_or_else(PoisonError::into_inner) =
                            Some((rules.upgrade().is_some(), inner));
                    }
                    true
                })
            };
            active.set_filter(Some(filter));
            let outer = active.decide(&ImportQuery::new("app", "outer"));
            let after = active.decide(&ImportQuery::new("app", "outer"));
            let pinned = pinned.lock().unwrap_or_else(PoisonError::into_inner).take();
            let _ = done.send((outer, after, pinned));
        });
        let (outer, after, pinned) = outcome
            .recv_timeout(Duration::from_secs(10))
            .expect("a filter that changes the policy does not hang");
        assert_eq!(
            pinned,
            Some((false, Decision::Eager)),
            "no guard kept the old snapshot alive during the filter"
        );
        assert_eq!(outer, Decision::Defer, "the decision kept its own snapshot");
        assert_eq!(after, Decision::Eager, "later decisions see mode none");
    }
}
