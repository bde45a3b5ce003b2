//! The bounded, thread-safe event buffer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Event, EventKind};
use crate::ThreadKey;

/// Records the events of one or more engines, up to a fixed number.
///
/// Attach it with [`EngineBuilder::recorder`](crate::EngineBuilder::recorder)
/// or [`Engine::set_recorder`](crate::Engine::set_recorder). Events are only
/// recorded on slow paths (creating a pending entry, running a resolver,
/// reporting a cycle or deadlock); a resolved access never looks at the
/// recorder.
///
/// # Memory bound
/// The buffer holds at most `capacity` events. Once it is full, new events
/// are not stored but counted in [`dropped`](Recorder::dropped), so
/// `events().len() + dropped()` is exactly the number of events offered.
/// An event is a few machine words plus shared references to the entry's
/// declaration and access site (which the engine holds anyway); the only
/// owned data are the message of a [`Failure`](EventKind::Failure) and the
/// strings of a [`PolicyDecision`](EventKind::PolicyDecision). The buffer
/// grows as events arrive; nothing is allocated up front.
///
/// # Thread-safety
/// `Recorder` is `Send + Sync`. Each event is pushed under a short lock that
/// is never held while anything else runs, so no event is lost to a race.
/// After `fork()`, a child whose parent had a thread inside that lock would
/// block on its next event; create a fresh recorder in the child.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    capacity: usize,
    events: Mutex<Vec<Event>>,
    dropped: AtomicU64,
    next_span: AtomicU64,
}

impl Recorder {
    /// A recorder that keeps at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Recorder {
            start: Instant::now(),
            capacity,
            events: Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
            next_span: AtomicU64::new(0),
        }
    }

    /// The most events this recorder keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A copy of the recorded events. Each thread's events are in the order
    /// they happened on that thread.
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }

    /// How many events are stored now (at most [`capacity`](Recorder::capacity)),
    /// without copying them as [`events`](Recorder::events) does.
    pub fn event_count(&self) -> usize {
        self.lock().len()
    }

    /// Takes the recorded events out, leaving the buffer empty (so recording
    /// continues with the full capacity). [`dropped`](Recorder::dropped) is
    /// not reset.
    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.lock())
    }

    /// How many events were not stored because the buffer was full.
    pub fn dropped(&self) -> u64 {
        // Relaxed: a count, read on its own; the lock orders it against the
        // pushes that did not drop.
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records that an import policy decided how `importer` imports
    /// `target`: `decision` (for example `lazy` or `eager`) and the rule
    /// that decided it (`reason`).
    pub fn record_policy_decision(
        &self,
        importer: &str,
        target: &str,
        decision: &str,
        reason: &str,
    ) {
        self.record(EventKind::PolicyDecision {
            importer: importer.to_owned(),
            target: target.to_owned(),
            decision: decision.to_owned(),
            reason: reason.to_owned(),
        });
    }

    /// Time since the recorder was created.
    pub(crate) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// A fresh span number.
    pub(crate) fn next_span(&self) -> u64 {
        // Relaxed: numbers only need to be distinct.
        self.next_span.fetch_add(1, Ordering::Relaxed)
    }

    /// Records `kind` as happening now on the calling thread.
    pub(crate) fn record(&self, kind: EventKind) {
        self.record_at(self.now(), kind);
    }

    /// Records `kind` as happening at `at` on the calling thread.
    pub(crate) fn record_at(&self, at: Duration, kind: EventKind) {
        let event = Event {
            at,
            thread: ThreadKey::current(),
            kind,
        };
        let mut events = self.lock();
        if events.len() < self.capacity {
            events.push(event);
        } else {
            // Relaxed: see `dropped`. Counted under the lock, so a reader
            // holding the lock sees stored + dropped = offered.
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        // A panic while the lock is held can only come from an allocation
        // failure in `push`; the vector is still valid.
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
