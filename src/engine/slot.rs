//! One row of the deferred-object table.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use super::attempt::Attempt;
use super::Resolution;
use crate::{Declaration, ResolveError};

/// A resolver as the table stores it.
pub(crate) type BoxedResolver<V> =
    Box<dyn FnMut(&Resolution<'_, V>) -> Result<V, ResolveError> + Send>;

/// Set in a slot's state word once its value is published.
pub(crate) const RESOLVED: u64 = 1 << 63;
/// Set in a slot's state word when a fork lost its lock (see `fork.rs`).
pub(crate) const LOST: u64 = 1 << 62;
/// The bits of the state word that hold the entry's stamp.
pub(crate) const STAMP_MASK: u64 = LOST - 1;

/// Where an entry is in its life.
pub(crate) enum Phase {
    /// The slot holds no entry.
    Free,
    /// Waiting for its first access (or for a retry after a failure).
    Pending,
    /// A thread is running the resolver.
    Resolving(Arc<Attempt>),
    /// The value is published in the slot.
    Resolved,
    /// A sticky failure: the attempt holds the error every access returns.
    Failed(Arc<Attempt>),
    /// Discarded with its value still in the slot, because other threads may
    /// hold references to it; freed (and the slot reused) by `reclaim`.
    Retired,
}

/// What [`Slot::vacate`] took out of a slot. Drop it only after releasing
/// the slot's lock: the resolver's captures and a sticky failure's error
/// (a runtime error object) run runtime code when dropped.
#[must_use = "dropped under the lock, it would run runtime code there"]
pub(crate) struct Vacated<V> {
    _resolver: Option<BoxedResolver<V>>,
    _phase: Phase,
    _declaration: Option<Declaration>,
}

/// The part of a slot that changes only under its lock.
pub(crate) struct State {
    /// What the entry stands for; `None` when free. Stored inline (not
    /// behind an `Arc`) to keep a pending entry small; cold paths that need
    /// to share it allocate an `Arc` then.
    pub(crate) declaration: Option<Declaration>,
    pub(crate) phase: Phase,
}

/// A table row: the state word and value that the fast path reads, the
/// lifecycle state, and the resolver.
///
/// `#[repr(C)]` with `word` first and `value` second: the C ABI documents
/// this prefix so a C caller can inline the resolved fast path.
#[repr(C)]
pub(crate) struct Slot<V> {
    /// The entry's stamp (`0` when free), with [`RESOLVED`] set once `value`
    /// holds the published value and [`LOST`] after a fork lost the slot.
    /// Written only under the lock (or by a forked child's only thread).
    word: AtomicU64,
    /// Initialised exactly while the phase is `Resolved` or `Retired`; never
    /// written while initialised, dropped only under `&mut` (reclaim, drop).
    value: UnsafeCell<MaybeUninit<V>>,
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
            word: AtomicU64::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            state: Mutex::new(State {
                declaration: None,
                phase: Phase::Free,
            }),
            resolver: UnsafeCell::new(None),
        }
    }
}

/// What a slot's word holds once the entry with a given stamp is resolved:
/// the stamp with [`RESOLVED`] set. Made only by [`ResolvedWord::of`], so it
/// always has the bit; an [`Entry`](super::Entry) keeps one, so its resolved
/// access compares the word with it directly.
#[derive(Clone, Copy)]
pub(crate) struct ResolvedWord(u64);

impl ResolvedWord {
    /// The resolved word of the entry with `stamp`.
    #[inline]
    pub(crate) fn of(stamp: u64) -> ResolvedWord {
        ResolvedWord(stamp | RESOLVED)
    }

    /// The entry's stamp.
    #[inline]
    pub(crate) fn stamp(self) -> u64 {
        self.0 & STAMP_MASK
    }
}

impl<V> Slot<V> {
    /// The resolved value if the slot holds one for `stamp`: one acquire
    /// load and a compare.
    #[inline]
    pub(crate) fn resolved(&self, stamp: u64) -> Option<&V> {
        self.resolved_as(ResolvedWord::of(stamp))
    }

    /// The resolved value if the slot's word is `expected`: one acquire load
    /// and a compare.
    #[inline]
    pub(crate) fn resolved_as(&self, expected: ResolvedWord) -> Option<&V> {
        // Acquire pairs with the Release store in `publish`: the value is
        // fully written before the word says it is there.
        if self.word.load(Ordering::Acquire) != expected.0 {
            return None;
        }
        // SAFETY: RESOLVED is set only after the value was written, and the
        // value is neither written again nor dropped while `&self` lives
        // (only `reclaim` and drop, both under `&mut`, drop it).
        Some(unsafe { (*self.value.get()).assume_init_ref() })
    }

    /// The stamp of the entry in the slot (`0` when free). Exact under the
    /// lock.
    pub(crate) fn stamp(&self) -> u64 {
        // Relaxed: the word is written under the lock the caller holds.
        self.word.load(Ordering::Relaxed) & STAMP_MASK
    }

    /// Gives the slot to a new entry, or marks it free (`0`) or discarded.
    /// Must be called under the lock.
    pub(crate) fn set_stamp(&self, stamp: u64) {
        debug_assert_eq!(stamp & !STAMP_MASK, 0, "stamps stay below 2^62");
        // Relaxed: nothing is published with it; a fast-path reader only
        // acts on RESOLVED, which this store clears.
        self.word.store(stamp, Ordering::Relaxed);
    }

    /// Whether the slot was lost in a fork.
    pub(crate) fn is_lost(&self) -> bool {
        self.word.load(Ordering::Acquire) & LOST != 0
    }

    /// Publishes the value of the entry with `stamp` and returns a reference
    /// to it. Must be called under the lock, by the attempt's owner (or on a
    /// pending entry), with the value cell empty.
    pub(crate) fn publish(&self, stamp: u64, value: V) -> &V {
        // SAFETY: the cell is empty (phase neither `Resolved` nor `Retired`)
        // and the lock we hold keeps every other writer out; no reader looks
        // at it before the store below.
        let value = unsafe { (*self.value.get()).write(value) };
        // Release pairs with the Acquire in `resolved`.
        self.word.store(stamp | RESOLVED, Ordering::Release);
        value
    }

    /// Drops the value in the cell.
    ///
    /// # Safety
    /// The cell must hold a value (phase `Resolved` or `Retired`), and no
    /// reference to it may remain: the caller holds `&mut` to the engine.
    pub(crate) unsafe fn drop_value(&self) {
        // SAFETY: guaranteed by the caller.
        unsafe { (*self.value.get()).assume_init_drop() }
    }

    /// Marks the slot as lost in a fork unless it holds a value, which stays
    /// readable. Returns whether it marked it.
    pub(crate) fn mark_lost_if_unpublished(&self) -> bool {
        // Relaxed: only the forked child's single thread is running.
        let word = self.word.load(Ordering::Relaxed);
        if word == 0 || word & RESOLVED != 0 {
            return false;
        }
        self.word.store(word | LOST, Ordering::Release);
        true
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

    /// Ends the slot's entry: the phase becomes `phase` (`Free`, or
    /// `Retired` while its value waits for reclaim) and the declaration goes.
    /// Returns what it took out (the resolver and the old phase, which may
    /// hold a sticky failure's error) for the caller to drop after releasing
    /// the lock: dropping them runs runtime code.
    ///
    /// # Safety
    /// As for [`Slot::resolver`], with `state` this slot's locked state.
    pub(crate) unsafe fn vacate(&self, state: &mut State, phase: Phase) -> Vacated<V> {
        let declaration = state.declaration.take();
        let phase = std::mem::replace(&mut state.phase, phase);
        // SAFETY: guaranteed by the caller.
        let resolver = unsafe { self.resolver() }.take();
        Vacated {
            _resolver: resolver,
            _phase: phase,
            _declaration: declaration,
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

/// The offsets of `word` and `value` in a slot, which the C header promises.
#[cfg(test)]
pub(crate) fn prefix_offsets<V>() -> (usize, usize) {
    (
        std::mem::offset_of!(Slot<V>, word),
        std::mem::offset_of!(Slot<V>, value),
    )
}

impl<V> Drop for Slot<V> {
    fn drop(&mut self) {
        let holds_value = matches!(
            self.state
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .phase,
            Phase::Resolved | Phase::Retired
        );
        if holds_value {
            // SAFETY: the phase says the cell holds a value, and `&mut self`
            // means no reference to it remains.
            unsafe { self.drop_value() }
        }
    }
}
