//! Recovering the engine in a child process after `fork()`.

use super::slot::Phase;
use super::Engine;
use crate::{wait, ThreadKey};

/// What [`Engine::after_fork_child`] found and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkReport {
    /// Entries that were being resolved by threads that do not exist in the
    /// child, now pending again.
    pub reset: usize,
    /// Unresolved entries whose lock a vanished thread held at the fork:
    /// accessing them returns [`Error::LostInFork`](crate::Error::LostInFork).
    pub lost: usize,
    /// Whether a vanished thread held the engine's allocation lock at the
    /// fork. Creating or discarding entries would then block forever; the
    /// child should build a new engine instead of using this one.
    pub allocation_lost: bool,
}

impl<V> Engine<V> {
    /// Resets, in a forked child, every entry that a thread which did not
    /// survive the fork was resolving, so the next access resolves it again.
    /// Entries the calling thread is resolving are left alone. Also empties
    /// the process-wide wait-for graph.
    ///
    /// # Safety
    /// Call only in the child of a `fork()`, while the calling thread is the
    /// only thread of the process (before the child starts any thread). Called
    /// anywhere else, it would hand entries still being resolved by live
    /// threads to a second resolver.
    pub unsafe fn after_fork_child(&self) -> ForkReport {
        wait::reset_after_fork();
        let me = ThreadKey::current();
        let mut report = ForkReport {
            allocation_lost: !self.table.allocation_lock_is_free()
                || self.retired.try_lock().is_err(),
            ..ForkReport::default()
        };
        for (index, slot) in self.table.slots() {
            let Some(mut state) = slot.try_lock() else {
                if slot.mark_lost_if_unpublished() {
                    report.lost += 1;
                }
                continue;
            };
            let Phase::Resolving(attempt) = &state.phase else {
                continue;
            };
            if attempt.owner() == me {
                continue;
            }
            if slot.stamp() == 0 {
                // Discarded during the vanished resolution: free it now.
                // SAFETY: the only thread of the process holds the lock and
                // the resolution that owned the cell cannot run any more.
                let vacated = unsafe { slot.vacate(&mut state, Phase::Free) };
                drop(state);
                drop(vacated);
                // As when the resolution itself ends a discarded entry.
                self.counters.discarded(false);
                if !report.allocation_lost {
                    self.table.release(index);
                }
            } else {
                state.phase = Phase::Pending;
            }
            report.reset += 1;
        }
        report
    }
}
