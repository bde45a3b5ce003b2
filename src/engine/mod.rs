//! The engine: a deferred-object table with resolution on access.

pub(crate) mod attempt;
mod counters;
mod fault;
mod fork;
#[cfg(test)]
mod recovery_tests;
mod resolve;
mod slot;
mod table;

use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwapOption;

pub use counters::Counters;
pub use fork::ForkReport;

use crate::trace::{EventKind, Recorder};
use crate::{Declaration, Error, Handle, Hooks, NoHooks, ResolveError, Site, ThreadKey};
use counters::CounterCells;
#[cfg(test)]
pub(crate) use slot::{prefix_offsets, RESOLVED};
use slot::{Phase, ResolvedWord};
use table::Table;

/// A deferred-object table: one entry per lazy binding, each resolved by its
/// resolver on first access, exactly once per attempt.
///
/// `V` is the runtime's value type (for a C runtime, a retained object
/// pointer). Its `Clone` and `Drop` are the runtime's retain and release.
///
/// # Guarantees
/// - A resolved access ([`resolve`](Engine::resolve) on a resolved entry) is
///   one acquire load and a compare: no lock, no allocation, no thread-local.
/// - However many threads touch a pending entry at once, its resolver runs
///   once per attempt; the others wait and get the same value or error.
/// - No engine lock is held while a resolver runs, so resolvers may create,
///   resolve and discard other entries.
/// - A resolution that needs itself on the same thread fails with
///   [`Error::Cycle`]; a wait that would never end fails with
///   [`Error::Deadlock`]. Nothing hangs.
/// - A failed attempt puts the entry back to pending (the next access
///   retries), unless the engine was built with sticky failures.
///
/// # Thread-safety
/// `Engine<V>` is `Send + Sync` when `V` is; share it by reference or `Arc`.
pub struct Engine<V> {
    table: Table<V>,
    hooks: Arc<dyn Hooks>,
    sticky_failures: bool,
    counters: CounterCells,
    /// Where events go, if recording is on. Read only on slow paths.
    recorder: ArcSwapOption<Recorder>,
    /// Slots of discarded entries whose values other threads may still
    /// reference: freed and reused by `reclaim` (or on drop).
    retired: Mutex<Vec<u32>>,
}

/// The context a resolver runs in.
pub struct Resolution<'a, V> {
    engine: &'a Engine<V>,
    handle: Handle,
    declaration: &'a Arc<Declaration>,
    access: Option<&'a Site>,
}

impl<'a, V> Resolution<'a, V> {
    /// The engine, for resolvers that create or resolve other entries.
    pub fn engine(&self) -> &'a Engine<V> {
        self.engine
    }

    /// The entry being resolved.
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// What the entry stands for.
    pub fn declaration(&self) -> &'a Declaration {
        self.declaration
    }

    /// Where the access that triggered this resolution happened, if known.
    pub fn access_site(&self) -> Option<&'a Site> {
        self.access
    }
}

/// A borrowed reference to one entry, for runtimes that keep it in their
/// placeholder object: resolved access through it skips the table lookup and
/// is one acquire load and a compare.
///
/// An `Entry` is only a cached handle: it stays memory-safe after the entry is
/// discarded (its accesses then fail with [`Error::StaleHandle`]).
pub struct Entry<'e, V> {
    engine: &'e Engine<V>,
    slot: &'e slot::Slot<V>,
    /// The handle's stamp as the slot's word holds it once resolved, kept
    /// ready so a resolved access is the load and one compare.
    resolved: ResolvedWord,
    index: u32,
}

impl<V> Clone for Entry<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Entry<'_, V> {}

impl<'e, V> Entry<'e, V> {
    /// The entry's handle.
    pub fn handle(&self) -> Handle {
        Handle {
            stamp: self.resolved.stamp(),
            index: self.index,
        }
    }

    /// The value if the entry is resolved; `None` otherwise. Never blocks.
    #[inline]
    pub fn get(&self) -> Option<&'e V> {
        self.slot.resolved_as(self.resolved)
    }

    /// The value, resolving the entry first if needed; as
    /// [`Engine::resolve`].
    ///
    /// # Errors
    /// As for [`Engine::resolve`].
    #[inline]
    pub fn resolve(&self) -> Result<&'e V, Error> {
        match self.get() {
            Some(value) => Ok(value),
            None => self.engine.resolve_slow(self.handle(), None),
        }
    }

    /// Like [`resolve`](Entry::resolve), recording where the access happened.
    ///
    /// # Errors
    /// As for [`Engine::resolve`].
    #[inline]
    pub fn resolve_at(&self, access: &Site) -> Result<&'e V, Error> {
        match self.get() {
            Some(value) => Ok(value),
            None => self.engine.resolve_slow(self.handle(), Some(access)),
        }
    }
}

/// What [`Engine::offer`] did, holding what the caller drops once it holds
/// no lock of its own (dropping either runs runtime code).
#[must_use = "dropped under a lock, it would run runtime code there"]
pub(crate) struct Offer<V> {
    /// As [`Engine::provide`] returns it.
    pub(crate) taken: Result<bool, Error>,
    _refused: Option<V>,
    _resolver: Option<slot::BoxedResolver<V>>,
}

/// What [`Engine::peek`] sees, without resolving anything.
#[derive(Debug)]
pub enum Peek<'a, V> {
    /// Not resolved yet (never tried, or the last attempt failed).
    Pending,
    /// A thread is resolving it now.
    Resolving {
        /// The thread running the resolver.
        owner: ThreadKey,
    },
    /// Resolved to this value.
    Resolved(&'a V),
    /// Failed for good (sticky failures only).
    Failed(Error),
}

/// The state of an entry in a [`snapshot`](Engine::snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Not resolved yet.
    Pending,
    /// Being resolved by this thread.
    Resolving(ThreadKey),
    /// Resolved.
    Resolved,
    /// Failed for good (sticky failures only).
    Failed,
}

/// One entry as seen by [`Engine::snapshot`].
#[derive(Clone, Debug)]
pub struct EntryInfo {
    /// The entry's handle.
    pub handle: Handle,
    /// What it stands for.
    pub declaration: Arc<Declaration>,
    /// Where it was at the time of the snapshot.
    pub state: EntryState,
}

/// Configures an [`Engine`].
pub struct EngineBuilder<V> {
    hooks: Arc<dyn Hooks>,
    sticky_failures: bool,
    recorder: Option<Arc<Recorder>>,
    value: PhantomData<fn() -> V>,
}

impl<V> EngineBuilder<V> {
    /// Sets the runtime's block/wake hooks (default: [`NoHooks`]).
    pub fn hooks(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Makes failures sticky: after a failed attempt every access returns the
    /// same error and the resolver never runs again. Default: retry.
    pub fn sticky_failures(mut self, sticky: bool) -> Self {
        self.sticky_failures = sticky;
        self
    }

    /// Records the engine's events in `recorder` from the start (default:
    /// no recording). See [`Engine::set_recorder`].
    pub fn recorder(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Builds the engine.
    pub fn build(self) -> Engine<V> {
        Engine {
            table: Table::new(),
            hooks: self.hooks,
            sticky_failures: self.sticky_failures,
            counters: CounterCells::default(),
            recorder: ArcSwapOption::new(self.recorder),
            retired: Mutex::new(Vec::new()),
        }
    }
}

impl<V> Default for Engine<V> {
    fn default() -> Self {
        Engine::builder().build()
    }
}

impl<V> Engine<V> {
    /// An engine with retrying failures and no hooks.
    pub fn new() -> Self {
        Engine::default()
    }

    /// A builder for an engine with hooks or sticky failures.
    pub fn builder() -> EngineBuilder<V> {
        EngineBuilder {
            hooks: Arc::new(NoHooks),
            sticky_failures: false,
            recorder: None,
            value: PhantomData,
        }
    }

    /// Starts recording this engine's events in `recorder`, or stops
    /// recording with `None`.
    ///
    /// A resolution already running keeps the recorder it started with, so
    /// its start and end events land in the same recorder. A resolved access
    /// never reads the recorder: recording costs nothing on the hot path.
    ///
    /// # Thread-safety
    /// May be called while other threads use the engine; they switch to the
    /// new recorder at their next slow-path event.
    pub fn set_recorder(&self, recorder: Option<Arc<Recorder>>) {
        self.recorder.store(recorder);
    }

    /// The recorder events go to, if recording is on.
    pub fn recorder(&self) -> Option<Arc<Recorder>> {
        self.recorder.load_full()
    }

    /// Whether failed resolutions are sticky.
    pub fn sticky_failures(&self) -> bool {
        self.sticky_failures
    }

    /// Creates a pending entry for `declaration`, resolved by `resolver` on
    /// first access.
    ///
    /// The resolver runs at most once per attempt, on the thread that
    /// accesses the entry, with no engine lock held; it is dropped once the
    /// entry is resolved or discarded.
    pub fn create<F>(&self, declaration: Declaration, resolver: F) -> Handle
    where
        F: FnMut(&Resolution<'_, V>) -> Result<V, ResolveError> + Send + 'static,
    {
        self.insert(declaration, Some(Box::new(resolver)), None)
    }

    /// Creates an entry that is already resolved to `value` (a binding whose
    /// target the runtime already had).
    pub fn create_resolved(&self, declaration: Declaration, value: V) -> Handle {
        self.insert(declaration, None, Some(value))
    }

    fn insert(
        &self,
        declaration: Declaration,
        resolver: Option<slot::BoxedResolver<V>>,
        value: Option<V>,
    ) -> Handle {
        let (index, slot) = self.table.allocate();
        let stamp = crate::handle::next_stamp();
        let mut state = slot.lock();
        debug_assert!(matches!(state.phase, Phase::Free));
        // SAFETY: we hold the lock and the phase is `Free`, not `Resolving`.
        *unsafe { slot.resolver() } = resolver;
        slot.set_stamp(stamp);
        let recorded = match (&value, &*self.recorder.load()) {
            (None, Some(recorder)) => Some((Arc::clone(recorder), Arc::new(declaration.clone()))),
            _ => None,
        };
        state.declaration = Some(declaration);
        state.phase = match value {
            Some(value) => {
                slot.publish(stamp, value);
                Phase::Resolved
            }
            None => {
                self.counters.deferred();
                Phase::Pending
            }
        };
        drop(state);
        if let Some((recorder, declaration)) = recorded {
            recorder.record(EventKind::Deferred { declaration });
        }
        Handle { stamp, index }
    }

    /// The entry's value, resolving it first if needed.
    ///
    /// On a resolved entry this is one acquire load and a compare.
    ///
    /// # Errors
    /// [`Error::StaleHandle`] for a handle of no live entry;
    /// [`Error::ResolverFailed`] or [`Error::ResolverPanicked`] when this
    /// attempt (run here or waited for) failed; [`Error::Cycle`] and
    /// [`Error::Deadlock`] when resolving would need itself or never end; the
    /// stored error for a sticky failure.
    ///
    /// # Panics
    /// If this thread runs the resolver and it panics, the panic is resumed
    /// here after the entry is made pending again and its waiters are told.
    #[inline]
    pub fn resolve(&self, handle: Handle) -> Result<&V, Error> {
        match self.get(handle) {
            Some(value) => Ok(value),
            None => self.resolve_slow(handle, None),
        }
    }

    /// Like [`resolve`](Engine::resolve), recording where the access happened
    /// (it appears in errors and traces).
    ///
    /// # Errors
    /// As for [`resolve`](Engine::resolve).
    #[inline]
    pub fn resolve_at(&self, handle: Handle, access: &Site) -> Result<&V, Error> {
        match self.get(handle) {
            Some(value) => Ok(value),
            None => self.resolve_slow(handle, Some(access)),
        }
    }

    /// A cached reference to the entry, for fast repeated access.
    ///
    /// # Errors
    /// [`Error::StaleHandle`] for a handle of no live entry.
    pub fn entry(&self, handle: Handle) -> Result<Entry<'_, V>, Error> {
        let slot = self.live_slot(handle, None)?;
        let state = slot.lock();
        if slot.stamp() != handle.stamp || matches!(state.phase, Phase::Free | Phase::Retired) {
            return Err(stale(handle, None));
        }
        Ok(Entry {
            engine: self,
            slot,
            resolved: ResolvedWord::of(handle.stamp),
            index: handle.index,
        })
    }

    /// The entry's value if it is resolved; `None` otherwise (pending,
    /// resolving, failed, or a stale handle). Never resolves, never blocks.
    #[inline]
    pub fn get(&self, handle: Handle) -> Option<&V> {
        self.table.get(handle.index)?.resolved(handle.stamp)
    }

    /// Where the entry is in its life, without resolving it.
    ///
    /// # Errors
    /// [`Error::StaleHandle`] for a handle of no live entry.
    pub fn peek(&self, handle: Handle) -> Result<Peek<'_, V>, Error> {
        let slot = self.live_slot(handle, None)?;
        let state = slot.lock();
        if slot.stamp() != handle.stamp {
            return Err(stale(handle, None));
        }
        Ok(match &state.phase {
            Phase::Free | Phase::Retired => return Err(stale(handle, None)),
            Phase::Pending => Peek::Pending,
            Phase::Resolving(attempt) => Peek::Resolving {
                owner: attempt.owner(),
            },
            Phase::Resolved => Peek::Resolved(
                slot.resolved(handle.stamp)
                    .expect("a resolved entry has a published value"),
            ),
            Phase::Failed(attempt) => Peek::Failed(attempt.failure()),
        })
    }

    /// What the entry stands for.
    ///
    /// # Errors
    /// [`Error::StaleHandle`] for a handle of no live entry.
    pub fn declaration(&self, handle: Handle) -> Result<Arc<Declaration>, Error> {
        let slot = self.live_slot(handle, None)?;
        let state = slot.lock();
        match &state.declaration {
            Some(declaration) if slot.stamp() == handle.stamp => Ok(Arc::new(declaration.clone())),
            _ => Err(stale(handle, None)),
        }
    }

    /// Resolves a pending entry to `value` without running its resolver
    /// (for a binding whose target the runtime loaded by other means).
    ///
    /// Returns `Ok(true)` if the entry took the value, `Ok(false)` if it was
    /// already resolved, being resolved, or failed for good (then `value` is
    /// dropped and nothing changes).
    ///
    /// # Errors
    /// [`Error::StaleHandle`] for a handle of no live entry.
    pub fn provide(&self, handle: Handle, value: V) -> Result<bool, Error> {
        self.offer(handle, value).taken
    }

    /// [`provide`](Engine::provide) for a caller that holds a lock of its
    /// own: the refused value, or the resolver the entry no longer needs,
    /// comes back inside the [`Offer`] instead of being dropped here, so the
    /// caller drops it (running runtime code) after releasing its lock.
    pub(crate) fn offer(&self, handle: Handle, value: V) -> Offer<V> {
        let refuse = |value, taken| Offer {
            taken,
            _refused: Some(value),
            _resolver: None,
        };
        let slot = match self.live_slot(handle, None) {
            Ok(slot) => slot,
            Err(error) => return refuse(value, Err(error)),
        };
        let mut state = slot.lock();
        if slot.stamp() != handle.stamp {
            return refuse(value, Err(stale(handle, None)));
        }
        if !matches!(state.phase, Phase::Pending) {
            return refuse(value, Ok(false));
        }
        slot.publish(handle.stamp, value);
        state.phase = Phase::Resolved;
        // SAFETY: we hold the lock and the phase is not `Resolving`.
        let resolver = unsafe { slot.resolver() }.take();
        drop(state);
        self.counters.resolved();
        Offer {
            taken: Ok(true),
            _refused: None,
            _resolver: resolver,
        }
    }

    /// Whether the entry is live and has no value yet (pending or being
    /// resolved). Unlike [`peek`](Engine::peek) it copies nothing out of the
    /// entry, so a caller holding a lock of its own drops nothing of the
    /// runtime's.
    pub(crate) fn is_unresolved(&self, handle: Handle) -> bool {
        let Ok(slot) = self.live_slot(handle, None) else {
            return false;
        };
        let state = slot.lock();
        slot.stamp() == handle.stamp && matches!(state.phase, Phase::Pending | Phase::Resolving(_))
    }

    /// Removes the entry. Its handle (and every copy) becomes stale.
    ///
    /// A resolved value stays in its slot until [`reclaim`](Engine::reclaim)
    /// or drop, because other threads may still hold references to it; the
    /// slot is reused only after that. An entry discarded while a thread
    /// resolves it is freed when that resolution ends; that thread and its
    /// waiters get [`Error::Discarded`].
    ///
    /// # Errors
    /// [`Error::StaleHandle`] for a handle of no live entry.
    pub fn discard(&self, handle: Handle) -> Result<(), Error> {
        let slot = self.live_slot(handle, None)?;
        let mut state = slot.lock();
        if slot.stamp() != handle.stamp || matches!(state.phase, Phase::Free | Phase::Retired) {
            return Err(stale(handle, None));
        }
        slot.set_stamp(0);
        let was_resolved = match state.phase {
            // The resolving thread frees the slot when it finishes.
            Phase::Resolving(_) => return Ok(()),
            Phase::Resolved => true,
            _ => false,
        };
        let phase = if was_resolved {
            Phase::Retired
        } else {
            Phase::Free
        };
        // SAFETY: we hold the lock and the phase is not `Resolving`.
        let vacated = unsafe { slot.vacate(&mut state, phase) };
        drop(state);
        self.counters.discarded(was_resolved);
        if was_resolved {
            self.retired
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(handle.index);
        } else {
            self.table.release(handle.index);
        }
        drop(vacated);
        Ok(())
    }

    /// Frees the values of discarded entries and makes their slots reusable.
    /// Needs `&mut self`, which proves no reference to them remains. Returns
    /// how many values it freed.
    pub fn reclaim(&mut self) -> usize {
        let retired = std::mem::take(
            self.retired
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for &index in &retired {
            let slot = self.table.get(index).expect("a retired slot exists");
            slot.lock().phase = Phase::Free;
            // SAFETY: the phase was `Retired`, so the cell holds a value, and
            // `&mut self` means no reference into the engine is alive.
            unsafe { slot.drop_value() };
            self.table.release(index);
        }
        retired.len()
    }

    /// The engine's counters at this moment.
    pub fn counters(&self) -> Counters {
        self.counters.snapshot()
    }

    /// Every live entry with its state. Entries created or changed during
    /// the call may or may not appear.
    pub fn snapshot(&self) -> Vec<EntryInfo> {
        let mut entries = Vec::new();
        for (index, slot) in self.table.slots() {
            let state = slot.lock();
            let Some(declaration) = &state.declaration else {
                continue;
            };
            let entry_state = match &state.phase {
                Phase::Free | Phase::Retired => continue,
                Phase::Pending => EntryState::Pending,
                Phase::Resolving(attempt) => EntryState::Resolving(attempt.owner()),
                Phase::Resolved => EntryState::Resolved,
                Phase::Failed(_) => EntryState::Failed,
            };
            entries.push(EntryInfo {
                handle: Handle {
                    stamp: slot.stamp(),
                    index,
                },
                declaration: Arc::new(declaration.clone()),
                state: entry_state,
            });
        }
        entries
    }

    /// Resolves every entry that is still pending (the phase switch before
    /// the first batch), returning every failure rather than stopping at the
    /// first. Entries being resolved by other threads are waited for.
    pub fn resolve_all_pending(&self) -> Vec<Error> {
        self.snapshot()
            .into_iter()
            .filter(|entry| matches!(entry.state, EntryState::Pending | EntryState::Resolving(_)))
            .filter_map(|entry| self.resolve(entry.handle).err())
            .collect()
    }

    /// The address of the handle's slot, for the C ABI's inline fast path:
    /// the slot is `#[repr(C)]` and starts with its `resolved` word, and
    /// slots never move while the engine lives. Checks only that the slot
    /// exists and the stamp is not `0`.
    ///
    /// # Errors
    /// [`Error::StaleHandle`] when there is no such slot.
    pub(crate) fn slot_address(&self, handle: Handle) -> Result<*const (), Error> {
        self.live_slot(handle, None)
            .map(|slot| (slot as *const slot::Slot<V>).cast())
    }

    /// The slot a handle points at, checking only that it exists.
    fn live_slot(&self, handle: Handle, access: Option<&Site>) -> Result<&slot::Slot<V>, Error> {
        match self.table.get(handle.index) {
            Some(slot) if handle.stamp != 0 => Ok(slot),
            _ => Err(stale(handle, access)),
        }
    }
}

fn stale(handle: Handle, access: Option<&Site>) -> Error {
    Error::StaleHandle {
        handle,
        access: access.cloned(),
    }
}

impl<V> Drop for Engine<V> {
    fn drop(&mut self) {
        self.reclaim();
    }
}

impl<V> std::fmt::Debug for Engine<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("sticky_failures", &self.sticky_failures)
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}
