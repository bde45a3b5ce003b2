//! Thread-local eager scopes: `with eager_imports():` for Rust.

use std::cell::Cell;
use std::marker::PhantomData;

use crate::depth::Depth;

thread_local! {
    static SCOPES: Cell<usize> = const { Cell::new(0) };
}

/// How many eager scopes (guards and [`enter_eager_scope`] calls) are open
/// on this thread.
static DEPTH: Depth = Depth::new(&SCOPES);

/// While alive, every import decided on this thread is eager.
///
/// Scopes nest: laziness returns only when the outermost guard is dropped.
/// # Thread-safety
/// The scope affects only the thread that opened it; the guard is `!Send`
/// so it is closed on that same thread.
#[must_use = "the eager scope ends when this guard is dropped"]
#[derive(Debug)]
pub struct EagerScope {
    _not_send: PhantomData<*const ()>,
}

/// Opens an eager scope on the calling thread; drop the guard to close it.
///
/// # Panics
/// Panics if more than `usize::MAX` scopes are nested on one thread.
pub fn eager_scope() -> EagerScope {
    enter_eager_scope();
    EagerScope {
        _not_send: PhantomData,
    }
}

/// Opens an eager scope on the calling thread without a guard, for callers
/// that cannot hold one across calls (a C runtime's `__enter__` and
/// `__exit__`); close it with [`leave_eager_scope`].
///
/// Scopes opened this way and by [`eager_scope`] share one per-thread
/// depth, so they nest with each other. Every call must be balanced by one
/// [`leave_eager_scope`] on the same thread.
///
/// # Panics
/// Panics if more than `usize::MAX` scopes are nested on one thread.
pub fn enter_eager_scope() {
    DEPTH.enter("eager scope nesting overflow");
}

/// Closes the innermost eager scope opened by [`enter_eager_scope`] on the
/// calling thread.
///
/// # Errors
/// [`NotInEagerScope`] if the thread is not inside any eager scope; the
/// depth is left at zero, never wrapped.
pub fn leave_eager_scope() -> Result<(), NotInEagerScope> {
    DEPTH.leave().then_some(()).ok_or(NotInEagerScope)
}

/// [`leave_eager_scope`] was called on a thread that is not inside an eager
/// scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not inside an eager scope on this thread")]
pub struct NotInEagerScope;

/// Whether the calling thread is inside at least one eager scope.
#[inline]
pub fn in_eager_scope() -> bool {
    DEPTH.is_open()
}

impl Drop for EagerScope {
    fn drop(&mut self) {
        // The guard is !Send, so it is dropped on the thread that created it
        // and the counter is at least 1 here, unless an unbalanced
        // `leave_eager_scope` already closed this scope: stay at zero rather
        // than wrap (or panic in a destructor).
        DEPTH.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_are_thread_local() {
        assert!(!in_eager_scope());
        let outer = eager_scope();
        assert!(in_eager_scope());
        {
            let _inner = eager_scope();
            assert!(in_eager_scope());
            std::thread::spawn(|| assert!(!in_eager_scope()))
                .join()
                .unwrap();
        }
        assert!(in_eager_scope());
        drop(outer);
        assert!(!in_eager_scope());
    }

    #[test]
    fn eager_enter_and_leave_nest_with_guards() {
        assert!(!in_eager_scope());
        enter_eager_scope();
        let guard = eager_scope();
        enter_eager_scope();
        assert_eq!(leave_eager_scope(), Ok(()));
        drop(guard);
        assert!(in_eager_scope());
        std::thread::spawn(|| {
            assert!(!in_eager_scope());
            assert_eq!(leave_eager_scope(), Err(NotInEagerScope));
        })
        .join()
        .unwrap();
        assert_eq!(leave_eager_scope(), Ok(()));
        assert!(!in_eager_scope());
        assert_eq!(leave_eager_scope(), Err(NotInEagerScope));
        assert!(!in_eager_scope());
    }

    #[test]
    fn scope_closes_on_panic() {
        let r = std::panic::catch_unwind(|| {
            let _s = eager_scope();
            panic!("boom");
        });
        assert!(r.is_err());
        assert!(!in_eager_scope());
    }
}
