//! Thread-local eager scopes: `with eager_imports():` for Rust.

use std::cell::Cell;
use std::marker::PhantomData;

thread_local! {
    /// How many [`EagerScope`] guards are alive on this thread.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

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
    DEPTH.with(|d| {
        d.set(
            d.get()
                .checked_add(1)
                .expect("eager scope nesting overflow"),
        )
    });
    EagerScope {
        _not_send: PhantomData,
    }
}

/// Whether the calling thread is inside at least one eager scope.
#[inline]
pub fn in_eager_scope() -> bool {
    DEPTH.with(|d| d.get() != 0)
}

impl Drop for EagerScope {
    fn drop(&mut self) {
        // The guard is !Send, so it is dropped on the thread that created it
        // and the counter is at least 1 here.
        DEPTH.with(|d| d.set(d.get() - 1));
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
    fn scope_closes_on_panic() {
        let r = std::panic::catch_unwind(|| {
            let _s = eager_scope();
            panic!("boom");
        });
        assert!(r.is_err());
        assert!(!in_eager_scope());
    }
}
