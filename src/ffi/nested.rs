//! Engine errors that C callbacks pass up by status alone.
//!
//! A C resolver (or import hook) that calls back into lazy_bind, say
//! `lazy_bind_resolve`, and fails with the status it got, can hand back a
//! runtime error object but not the engine's error itself. So while a
//! callback runs, the engine remembers, per thread, the last error it
//! reported through the C API during that callback ([`note`]). A callback
//! that returns that error's status with no runtime error object has passed
//! that error up: it becomes the callback's own error ([`failure`]), so a
//! cycle or deadlock keeps its kind and chain, and a resolver failure its
//! innermost status and runtime error, however deeply C resolvers nest.

use std::cell::RefCell;

use super::error::ForeignError;
use super::lazy_bind_result;
use super::runtime::ForeignValue;
use crate::{Error, ResolveError};

thread_local! {
    /// One slot per C callback in progress on this thread, innermost last:
    /// the last error reported to C during that callback.
    static CALLBACKS: RefCell<Vec<Option<Error>>> = const { RefCell::new(Vec::new()) };
}

/// Marks a C callback as in progress on this thread until [`leave`]
/// (or drop, when unwinding: a panic never leaves a stale slot behind).
///
/// [`leave`]: InProgress::leave
struct InProgress {
    /// Whether this still owns a slot (none when the thread-local is torn
    /// down).
    pushed: bool,
}

impl InProgress {
    fn enter() -> InProgress {
        let pushed = CALLBACKS
            .try_with(|callbacks| callbacks.borrow_mut().push(None))
            .is_ok();
        InProgress { pushed }
    }

    /// Ends the callback, returning the last error reported during it.
    fn leave(mut self) -> Option<Error> {
        if !std::mem::take(&mut self.pushed) {
            return None;
        }
        CALLBACKS
            .try_with(|callbacks| callbacks.borrow_mut().pop().flatten())
            .ok()
            .flatten()
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        if self.pushed {
            let _ = CALLBACKS.try_with(|callbacks| callbacks.borrow_mut().pop());
        }
    }
}

/// Runs the C callback `call` and returns its result with the last error
/// the engine reported to C on this thread while it ran.
pub(crate) fn call<T>(call: impl FnOnce() -> T) -> (T, Option<Error>) {
    let in_progress = InProgress::enter();
    let result = call();
    (result, in_progress.leave())
}

/// Remembers `error`, about to be reported to C, for the innermost C
/// callback in progress on this thread (does nothing outside callbacks).
pub(crate) fn note(error: &Error) {
    let _ = CALLBACKS.try_with(|callbacks| {
        if let Some(last) = callbacks.borrow_mut().last_mut() {
            *last = Some(error.clone());
        }
    });
}

/// The error for a C callback that failed with `status`: `nested` (what
/// [`call`] returned) unchanged if the callback returned its status without
/// a runtime error object, since it passed that error up; otherwise the
/// callback's own failure, with the runtime's error object if it gave one.
pub(crate) fn failure(
    status: u32,
    runtime_error: Option<ForeignValue>,
    nested: Option<Error>,
) -> ResolveError {
    match nested {
        Some(nested)
            if runtime_error.is_none() && status == lazy_bind_result::of_error(&nested) as u32 =>
        {
            ResolveError::from(nested)
        }
        _ => ResolveError::new(ForeignError::new(status, runtime_error)),
    }
}
