//! One attempt at resolving an entry: who runs it, and how it ended.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::{Declaration, Error, ThreadKey};

/// How an attempt ended.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// The entry now holds its value.
    Resolved,
    /// The attempt failed; every waiter receives this error.
    Failed(Error),
}

/// A resolution attempt that other threads can wait on.
///
/// An attempt is created by the thread that moves an entry from pending to
/// resolving, and finished exactly once by that same thread. Waiters hold an
/// `Arc` to it, so they learn the outcome of the attempt they waited for even
/// if a later attempt has started since.
pub(crate) struct Attempt {
    owner: ThreadKey,
    declaration: Arc<Declaration>,
    done: AtomicBool,
    outcome: Mutex<Ending>,
    finished: Condvar,
}

/// The outcome once there is one, and how many threads sleep waiting for it
/// (so that an attempt nobody waited for ends without a wake-up syscall).
#[derive(Default)]
struct Ending {
    outcome: Option<Outcome>,
    sleepers: u32,
}

impl Attempt {
    pub(crate) fn new(owner: ThreadKey, declaration: Arc<Declaration>) -> Self {
        Attempt {
            owner,
            declaration,
            done: AtomicBool::new(false),
            outcome: Mutex::new(Ending::default()),
            finished: Condvar::new(),
        }
    }

    /// The thread running the attempt.
    pub(crate) fn owner(&self) -> ThreadKey {
        self.owner
    }

    /// The entry being resolved.
    pub(crate) fn declaration(&self) -> &Arc<Declaration> {
        &self.declaration
    }

    /// Whether the attempt has finished. Used by the deadlock walk, which
    /// must not treat a finished attempt as a wait that never ends.
    pub(crate) fn is_done(&self) -> bool {
        // Acquire pairs with the Release store in `finish`.
        self.done.load(Ordering::Acquire)
    }

    /// Records the outcome and wakes every waiter.
    pub(crate) fn finish(&self, outcome: Outcome) {
        let mut ending = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        debug_assert!(ending.outcome.is_none(), "an attempt finishes once");
        ending.outcome = Some(outcome);
        // Release: a walker that sees `done` also sees that the owner moved on.
        self.done.store(true, Ordering::Release);
        // Sleepers register under this lock before they sleep, so none is
        // missed; with none, skip the wake-up (a syscall) altogether.
        let wake = ending.sleepers > 0;
        drop(ending);
        if wake {
            self.finished.notify_all();
        }
    }

    /// The outcome, once there is one.
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .outcome
            .clone()
    }

    /// The error of a finished, failed attempt.
    ///
    /// # Panics
    /// If the attempt did not fail: a caller bug.
    pub(crate) fn failure(&self) -> Error {
        match self.outcome() {
            Some(Outcome::Failed(error)) => error,
            _ => panic!("attempt for {} did not fail", self.declaration),
        }
    }

    /// Blocks until the attempt finishes and returns its outcome.
    pub(crate) fn wait(&self) -> Outcome {
        let mut ending = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        ending.sleepers += 1;
        loop {
            if let Some(outcome) = &ending.outcome {
                let outcome = outcome.clone();
                ending.sleepers -= 1;
                return outcome;
            }
            ending = self
                .finished
                .wait(ending)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}
