//! Counters of what the engine did, readable at any time.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of an engine's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Entries created pending (deferred bindings).
    pub deferred: u64,
    /// Entries resolved (by their resolver or by `provide`).
    pub resolved: u64,
    /// Failed resolution attempts (each retry counts).
    pub failed: u64,
    /// Live entries not resolved yet (pending, resolving or failed for good).
    pub pending: u64,
}

/// The live counters. Relaxed atomics: each counter is exact, but a snapshot
/// taken while other threads work is not one instant across counters.
#[derive(Default)]
pub(crate) struct CounterCells {
    deferred: AtomicU64,
    resolved: AtomicU64,
    failed: AtomicU64,
    pending: AtomicU64,
}

impl CounterCells {
    pub(crate) fn deferred(&self) {
        self.deferred.fetch_add(1, Ordering::Relaxed);
        self.pending.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn resolved(&self) {
        self.resolved.fetch_add(1, Ordering::Relaxed);
        self.pending.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn discarded(&self, was_resolved: bool) {
        if !was_resolved {
            self.pending.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Counters {
        Counters {
            deferred: self.deferred.load(Ordering::Relaxed),
            resolved: self.resolved.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            pending: self.pending.load(Ordering::Relaxed),
        }
    }
}
