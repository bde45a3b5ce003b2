//! The slow path of an access: run the resolver, wait for another thread's
//! attempt, or report a cycle or deadlock.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, MutexGuard};

use super::attempt::{Attempt, Outcome};
use super::fault;
use super::slot::{Phase, Slot, State};
use super::{stale, Engine, Resolution};
use crate::trace::{self, Span};
use crate::{stack, wait, Error, Handle, ResolveError, Site, ThreadKey};

impl<V> Engine<V> {
    /// Everything [`Engine::resolve`] does when the entry is not resolved.
    #[cold]
    #[inline(never)]
    pub(super) fn resolve_slow(&self, handle: Handle, access: Option<&Site>) -> Result<&V, Error> {
        let slot = self.live_slot(handle, access)?;
        loop {
            if slot.is_lost() {
                return Err(Error::LostInFork { handle });
            }
            let state = slot.lock();
            if slot.stamp() != handle.stamp {
                return Err(stale(handle, access));
            }
            let attempt = match &state.phase {
                Phase::Free | Phase::Retired => return Err(stale(handle, access)),
                Phase::Resolved => {
                    return Ok(slot
                        .resolved(handle.stamp)
                        .expect("a resolved entry has a published value"))
                }
                Phase::Failed(attempt) => return Err(attempt.failure()),
                Phase::Pending => return self.run(slot, state, handle, access),
                Phase::Resolving(attempt) => Arc::clone(attempt),
            };
            drop(state);
            if attempt.owner() == ThreadKey::current() {
                let error = Error::Cycle {
                    chain: stack::cycle_chain(handle.stamp, attempt.declaration()),
                    access: access.cloned(),
                };
                trace::record_error(self.recorder.load().as_deref(), &error);
                return Err(error);
            }
            match self.wait(&attempt, access)? {
                // Loop to read the value (or find the entry discarded since).
                Outcome::Resolved => continue,
                Outcome::Failed(error) => return Err(error),
            }
        }
    }

    /// Runs one attempt on this thread. `state` is the locked, pending slot.
    fn run<'e>(
        &'e self,
        slot: &'e Slot<V>,
        mut state: MutexGuard<'e, State>,
        handle: Handle,
        access: Option<&Site>,
    ) -> Result<&'e V, Error> {
        let declaration = Arc::new(
            state
                .declaration
                .clone()
                .expect("a pending entry has a declaration"),
        );
        let attempt = Arc::new(Attempt::new(ThreadKey::current(), Arc::clone(&declaration)));
        state.phase = Phase::Resolving(Arc::clone(&attempt));
        // From here until `running.end`, a panic anywhere ends the attempt.
        let running = Running {
            engine: self,
            slot,
            handle,
            attempt,
            access,
            ended: false,
        };
        drop(state);
        fault::hit(fault::Point::Marked);

        let span = Span::start(self.recorder.load_full(), &declaration, access);
        fault::hit(fault::Point::SpanStarted);
        let frame = stack::push(handle.stamp, Arc::clone(&declaration));
        fault::hit(fault::Point::FramePushed);
        // SAFETY: this thread moved the phase to `Resolving`; until `finish`
        // moves it out, no other thread touches the resolver cell.
        let resolver = unsafe { slot.resolver() }
            .as_mut()
            .expect("a pending entry has a resolver");
        let context = Resolution {
            engine: self,
            handle,
            declaration: &declaration,
            access,
        };
        let result = panic::catch_unwind(AssertUnwindSafe(|| resolver(&context)));
        fault::hit(fault::Point::ResolverReturned);
        drop(frame);
        fault::hit(fault::Point::FramePopped);

        match result {
            Ok(Ok(value)) => span.end(running.end(Ok(value))),
            Ok(Err(error)) => {
                let error = failure(error, &declaration, access);
                span.end(running.end(Err(error)))
            }
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                let error = Error::ResolverPanicked {
                    declaration,
                    access: access.cloned(),
                    message: message.into(),
                };
                // Waiters learn of the panic as an error; the panic itself
                // belongs to this thread's caller.
                let _ = span.end(running.end(Err(error)));
                panic::resume_unwind(payload)
            }
        }
    }

    /// Ends this thread's attempt: publishes the value or records the
    /// failure, moves the phase out of `Resolving`, and wakes the waiters.
    ///
    /// Nothing before the waiters are woken can panic; runtime code (the
    /// resolver's or a discarded value's drop) runs only after that, with
    /// no lock held, so a panic there leaves a finished attempt.
    fn finish<'e>(
        &'e self,
        slot: &'e Slot<V>,
        handle: Handle,
        attempt: &Arc<Attempt>,
        result: Result<V, Error>,
    ) -> Result<&'e V, Error> {
        let mut state = slot.lock();
        if slot.stamp() != handle.stamp {
            // Discarded while we were resolving: free the slot now.
            // SAFETY: the phase is still `Resolving(attempt)`, moved there by
            // this thread, and we hold the lock.
            let vacated = unsafe { slot.vacate(&mut state, Phase::Free) };
            drop(state);
            self.counters.discarded(false);
            self.table.release(handle.index);
            let error = Error::Discarded {
                declaration: Arc::clone(attempt.declaration()),
                access: None,
            };
            attempt.finish(Outcome::Failed(error.clone()));
            drop((vacated, result));
            return Err(error);
        }
        // SAFETY: the phase is still `Resolving(attempt)`, moved there by this
        // thread; we leave it below, under the same lock.
        let resolver = unsafe { slot.resolver() };
        match result {
            Ok(value) => {
                let value = slot.publish(handle.stamp, value);
                state.phase = Phase::Resolved;
                let resolver = resolver.take();
                drop(state);
                self.counters.resolved();
                attempt.finish(Outcome::Resolved);
                drop(resolver);
                Ok(value)
            }
            Err(error) => {
                let resolver = if self.sticky_failures {
                    state.phase = Phase::Failed(Arc::clone(attempt));
                    resolver.take()
                } else {
                    state.phase = Phase::Pending;
                    None
                };
                drop(state);
                self.counters.failed();
                attempt.finish(Outcome::Failed(error.clone()));
                drop(resolver);
                Err(error)
            }
        }
    }

    /// Blocks until another thread's attempt ends, unless that would
    /// deadlock. Calls the runtime's block/wake hooks around the wait.
    fn wait(&self, attempt: &Arc<Attempt>, access: Option<&Site>) -> Result<Outcome, Error> {
        if let Some(outcome) = attempt.outcome() {
            return Ok(outcome);
        }
        let registration = wait::register_attempt(attempt, access).inspect_err(|error| {
            trace::record_error(self.recorder.load().as_deref(), error);
        })?;
        self.hooks.before_block();
        let outcome = attempt.wait();
        drop(registration);
        self.hooks.after_wake();
        Ok(outcome)
    }
}

/// This thread's attempt, from the moment the entry is marked `Resolving`
/// until its result is published: the once_cell-style guard of the slow
/// path.
///
/// [`end`](Running::end) publishes the result. Dropped without `end` (a
/// panic in the engine's own code around the resolver: tracing, the
/// resolution stack, a thread-local torn down), it ends the attempt with
/// [`Error::ResolverPanicked`]: the waiters are woken with that error and
/// the entry is pending again, so nobody waits for ever and this thread
/// meets no false cycle on its next access.
struct Running<'e, 'a, V> {
    engine: &'e Engine<V>,
    slot: &'e Slot<V>,
    handle: Handle,
    attempt: Arc<Attempt>,
    access: Option<&'a Site>,
    /// Set when `end` starts, so a panic inside `end` (which has then
    /// published already, see `finish`) never ends the attempt twice.
    ended: bool,
}

impl<'e, V> Running<'e, '_, V> {
    /// Publishes `result` and wakes the waiters (see [`Engine::finish`]).
    fn end(mut self, result: Result<V, Error>) -> Result<&'e V, Error> {
        self.ended = true;
        self.engine
            .finish(self.slot, self.handle, &self.attempt, result)
    }
}

impl<V> Drop for Running<'_, '_, V> {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let error = Error::ResolverPanicked {
            declaration: Arc::clone(self.attempt.declaration()),
            access: self.access.cloned(),
            message: "lazy_bind panicked around the resolver (tracing, the resolution stack \
                      or a thread-local being torn down)"
                .into(),
        };
        let _ = self
            .engine
            .finish(self.slot, self.handle, &self.attempt, Err(error));
    }
}

/// The error an access reports for a resolver's error: a cycle or deadlock
/// passed up by the resolver keeps its kind and chain; anything else is
/// wrapped with the entry's declaration and the access site.
fn failure(
    error: ResolveError,
    declaration: &Arc<crate::Declaration>,
    access: Option<&Site>,
) -> Error {
    match error.as_engine_error() {
        Some(inner @ (Error::Cycle { .. } | Error::Deadlock { .. })) => inner.clone(),
        _ => Error::ResolverFailed {
            declaration: Arc::clone(declaration),
            access: access.cloned(),
            source: error,
        },
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
