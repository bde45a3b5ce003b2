//! One row of the deferred-object table.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use super::attempt::Attempt;
use super::Resolution;
use crate::{Declaration, ResolveError};

/// A resolver as the table stores it.
pub(crate) type BoxedResolver<V> =
    Box<dyn FnMut(&Resolution<'_, V>) -> Result<V, ResolveError> + Send>;

/// A resolved value with the stamp of the entry it belongs to.
///
/// `#[repr(C)]` because the C ABI's inline fast path reads `stamp` and the
/// first word of `value` directly.
#[repr(C)]
pub(crate) struct Resolved<V> {
    pub(crate) stamp: u64,
    pub(crate) value: V,
}

/// The `resolved` word of a slot whose entry was lost in a fork. Never
/// dereferenced: the fast path treats every address up to this one as
/// "not resolved".
pub(crate) const LOST: usize = 1;

/// The [`LOST`] marker as a pointer (an address without provenance).
fn lost<V>() -> *mut Resolved<V> {
    std::ptr::without_provenance_mut(LOST)
}

/// Where an entry is in its life.
pub(crate) enum Phase {
    /// The slot holds no entry.
    Free,
    /// Waiting for its first access (or for a retry after a failure).
    Pending,
    /// A thread is running the resolver.
    Resolving(Arc<Attempt>),
    /// The value is in the slot's `resolved` word.
    Resolved,
    /// A sticky failure: the attempt holds the error every access returns.
    Failed(Arc<Attempt>),
}

/// The part of a slot that changes only under its lock.
pub(crate) struct State {
    /// The stamp of the entry in the slot; `0` when free.
    pub(crate) stamp: u64,
    /// What the entry stands for; `None` when free.
    /// Stored inline (not behind an `Arc`) to keep a pending entry small;
    /// cold paths that need to share it allocate an `Arc` then.
    pub(crate) declaration: Option<Declaration>,
    pub(crate) phase: Phase,
}

/// A table row: the published value, the lifecycle state, and the resolver.
///
/// `resolved` is first and the struct is `#[repr(C)]`, so the C ABI can
/// document that a slot starts with the pointer to its [`Resolved`] value.
#[repr(C)]
pub(crate) struct Slot<V> {
    /// Null until resolved (or [`LOST`]); then the value, which is freed only
    /// when the engine is dropped or reclaims under `&mut`.
    pub(crate) resolved: AtomicPtr<Resolved<V>>,
    state: Mutex<State>,
    /// Accessed only by the thread that moved the phase to `Resolving` (until
    /// it moves it out again), or under the lock while the phase is not
    /// `Resolving`.
    resolver: UnsafeCell<Option<BoxedResolver<V>>>,
}

// SAFETY: the resolver cell is only touched by one thread at a time (see its
// field comment), and resolvers are `Send`; values are shared between threads
// by reference, which needs `V: Send + Sync`.
unsafe impl<V: Send + Sync> Sync for Slot<V> {}
// SAFETY: as above; moving a slot moves its resolver and value.
unsafe impl<V: Send> Send for Slot<V> {}

impl<V> Default for Slot<V> {
    fn default() -> Self {
        Slot {
            resolved: AtomicPtr::new(std::ptr::null_mut()),
            state: Mutex::new(State {
                stamp: 0,
                declaration: None,
                phase: Phase::Free,
            }),
            resolver: UnsafeCell::new(None),
        }
    }
}

impl<V> Slot<V> {
    /// The resolved value if the slot holds one for `stamp`. One acquire load.
    #[inline]
    pub(crate) fn resolved(&self, stamp: u64) -> Option<&V> {
        // Acquire pairs with the Release store in `publish`: the value is
        // fully written before its pointer is seen.
        let resolved = self.resolved.load(Ordering::Acquire);
        if resolved.addr() <= LOST {
            return None;
        }
        // SAFETY: a published value is freed only when nobody can hold a
        // reference into the engine (drop or `&mut` reclaim), and it is never
        // written after publication.
        let resolved = unsafe { &*resolved };
        (resolved.stamp == stamp).then_some(&resolved.value)
    }

    /// Whether the slot was lost in a fork.
    pub(crate) fn is_lost(&self) -> bool {
        self.resolved.load(Ordering::Acquire).addr() == LOST
    }

    /// Publishes the value of the entry with `stamp` and returns a reference
    /// to it. Must be called under the lock, by the attempt's owner.
    pub(crate) fn publish(&self, stamp: u64, value: V) -> &V {
        let resolved = Box::into_raw(Box::new(Resolved { stamp, value }));
        // Release pairs with the Acquire in `resolved`.
        self.resolved.store(resolved, Ordering::Release);
        // SAFETY: just allocated; freed only as described in `resolved`.
        unsafe { &(*resolved).value }
    }

    /// Unpublishes the value (when the entry is discarded) and hands it to
    /// the caller to keep until no reference to it can remain.
    pub(crate) fn unpublish(&self) -> Option<NonNull<Resolved<V>>> {
        // Relaxed: called under the lock, which orders it with `publish`.
        let resolved = self.resolved.swap(std::ptr::null_mut(), Ordering::Relaxed);
        if resolved.addr() <= LOST {
            None
        } else {
            NonNull::new(resolved)
        }
    }

    /// Marks the slot as lost in a fork (see [`LOST`]) unless it holds a
    /// value, which stays readable. Returns whether it marked it.
    pub(crate) fn mark_lost_if_unpublished(&self) -> bool {
        // Relaxed: only the forked child's single thread is running.
        self.resolved
            .compare_exchange(
                std::ptr::null_mut(),
                lost(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing under this lock can panic with the state half-changed (no
        // runtime code runs under it), so a poisoned lock holds a good state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lock, unless it is held: used after a fork, where a holder may
    /// not exist any more.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, State>> {
        match self.state.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The resolver cell.
    ///
    /// # Safety
    /// The caller must hold the lock with the phase not `Resolving`, or be the
    /// thread that moved the phase to `Resolving` and not yet out of it.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn resolver(&self) -> &mut Option<BoxedResolver<V>> {
        // SAFETY: the caller guarantees exclusive access (see above).
        unsafe { &mut *self.resolver.get() }
    }
}

impl<V> Drop for Slot<V> {
    fn drop(&mut self) {
        if let Some(resolved) = self.unpublish() {
            // SAFETY: `&mut self`: no reference to the value can remain; it
            // came from `Box::into_raw` in `publish`.
            drop(unsafe { Box::from_raw(resolved.as_ptr()) });
        }
    }
}
