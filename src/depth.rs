//! A per-thread nesting depth: how many eager scopes, or guarded imports,
//! are open on the calling thread.

use std::cell::Cell;
use std::thread::LocalKey;

/// A nesting counter kept in a thread-local `Cell<usize>`.
pub(crate) struct Depth(&'static LocalKey<Cell<usize>>);

impl Depth {
    /// The counter stored in `key`.
    pub(crate) const fn new(key: &'static LocalKey<Cell<usize>>) -> Depth {
        Depth(key)
    }

    /// Opens one level on the calling thread.
    ///
    /// # Panics
    /// Panics with `overflow` if more than `usize::MAX` levels are open.
    pub(crate) fn enter(&self, overflow: &str) {
        self.0
            .with(|d| d.set(d.get().checked_add(1).expect(overflow)));
    }

    /// Closes one level; `false` (the depth stays at zero) if none is open.
    pub(crate) fn leave(&self) -> bool {
        self.0.with(|d| match d.get().checked_sub(1) {
            Some(depth) => {
                d.set(depth);
                true
            }
            None => false,
        })
    }

    /// Whether at least one level is open on the calling thread.
    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        self.0.with(|d| d.get() != 0)
    }
}
