//! The process-wide wait-for graph that turns would-be deadlocks into errors.
//!
//! Before a thread blocks, it records what it waits for and walks the chain
//! "what I wait for -> its owner thread -> what that thread waits for -> ...".
//! If the walk comes back to the thread itself, blocking would never end, and
//! the wait fails with [`Error::Deadlock`] instead. Records are added and the
//! walk is made under one lock, so of two threads that close a cycle the later
//! one always sees the earlier one's record. The lock is held only for the
//! walk, never while anybody resolves or blocks.
//!
//! Runtimes with locks of their own (CPython's per-module import locks) report
//! their waits with [`ExternalWait`], so a cycle through an engine entry and a
//! runtime lock is detected too.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::engine::attempt::Attempt;
use crate::{Chain, ChainLink, Declaration, Error, LinkKind, Site, ThreadKey};

/// What one blocked thread waits for.
enum Target {
    /// An engine entry's resolution attempt.
    Attempt(Arc<Attempt>),
    /// A runtime lock; its holder is read at each walk.
    Lock(Arc<RuntimeLock>),
}

impl Target {
    /// The thread that must move for the wait to end, if any.
    fn owner(&self) -> Option<ThreadKey> {
        match self {
            Target::Attempt(attempt) => Some(attempt.owner()),
            Target::Lock(lock) => lock.holder(),
        }
    }

    /// Whether the wait can still block: a finished attempt or a lock that
    /// nobody holds does not.
    fn is_live(&self) -> bool {
        match self {
            Target::Attempt(attempt) => !attempt.is_done(),
            Target::Lock(lock) => lock.holder().is_some(),
        }
    }

    fn link(&self) -> ChainLink {
        let (declaration, kind) = match self {
            Target::Attempt(attempt) => (Arc::clone(attempt.declaration()), LinkKind::Entry),
            Target::Lock(lock) => (Arc::clone(&lock.what), LinkKind::RuntimeLock),
        };
        ChainLink {
            declaration,
            owner: self.owner(),
            kind,
        }
    }
}

type Records = Mutex<Vec<(ThreadKey, Target)>>;

/// The records, behind a pointer so that a forked child can start afresh
/// even if a thread that no longer exists held the lock at the fork.
static RECORDS: AtomicPtr<Records> = AtomicPtr::new(std::ptr::null_mut());

fn records() -> MutexGuard<'static, Vec<(ThreadKey, Target)>> {
    // Acquire pairs with the Release of the successful exchange below (or of
    // `reset_after_fork`), so the pointed-to mutex is fully initialised.
    let mut current = RECORDS.load(Ordering::Acquire);
    if current.is_null() {
        let fresh = Box::into_raw(Box::new(Records::default()));
        match RECORDS.compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => current = fresh,
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` above and was
                // never published.
                drop(unsafe { Box::from_raw(fresh) });
                current = winner;
            }
        }
    }
    // SAFETY: a published pointer is never freed (a fork reset leaks it), so
    // it is valid for 'static.
    let records = unsafe { &*current };
    records.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Gives a forked child an empty wait-for graph. The old one is leaked: a
/// thread that no longer exists may have held its lock.
pub(crate) fn reset_after_fork() {
    let fresh = Box::into_raw(Box::new(Records::default()));
    // Release: publishes the initialised mutex (see `records`).
    RECORDS.store(fresh, Ordering::Release);
}

/// A recorded wait; removed from the graph when dropped.
pub(crate) struct Registration {
    thread: ThreadKey,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut records = records();
        if let Some(i) = records.iter().position(|(t, _)| *t == self.thread) {
            records.swap_remove(i);
        }
    }
}

/// Records that the calling thread is about to block on `target`, unless
/// that would close a cycle of waits, in which case the chain is returned.
fn register(target: Target) -> Result<Registration, Chain> {
    let me = ThreadKey::current();
    let mut records = records();
    let mut links = Vec::new();
    if let Some(resolving) = crate::stack::innermost() {
        links.push(ChainLink {
            declaration: resolving,
            owner: Some(me),
            kind: LinkKind::Entry,
        });
    }
    links.push(target.link());
    let mut owner = target.owner();
    // Each step follows one record, so a walk longer than the number of
    // records is going round a cycle of other threads: that cycle's own
    // threads detect it, not us.
    for _ in 0..=records.len() {
        let Some(thread) = owner else { break };
        if thread == me {
            return Err(Chain::new(links));
        }
        match records.iter().find(|(t, _)| *t == thread) {
            Some((_, next)) if next.is_live() => {
                links.push(next.link());
                owner = next.owner();
            }
            _ => break,
        }
    }
    records.push((me, target));
    Ok(Registration { thread: me })
}

/// Records a wait on an entry's resolution attempt.
pub(crate) fn register_attempt(
    attempt: &Arc<Attempt>,
    access: Option<&Site>,
) -> Result<Registration, Error> {
    register(Target::Attempt(Arc::clone(attempt))).map_err(|chain| Error::Deadlock {
        chain,
        access: access.cloned(),
    })
}

/// A lock of the runtime's own (CPython's per-module import locks, say) as
/// the wait-for graph sees it: what it is, and which thread holds it now.
///
/// The runtime reports each acquisition and release; a wait on the lock
/// ([`ExternalWait::begin`]) is followed through the holder of the moment
/// whenever a thread walks the graph, so a lock released meanwhile never
/// closes a cycle.
///
/// # Thread-safety
/// `Send + Sync`; `acquired` and `released` are atomic stores.
pub struct RuntimeLock {
    what: Arc<Declaration>,
    /// The holder's thread key, 0 when free.
    holder: AtomicU64,
}

impl RuntimeLock {
    /// A free lock, named by `what` in deadlock chains.
    pub fn new(what: Declaration) -> Arc<RuntimeLock> {
        Arc::new(RuntimeLock {
            what: Arc::new(what),
            holder: AtomicU64::new(0),
        })
    }

    /// Records that the calling thread now holds the lock.
    pub fn acquired(&self) {
        // Release: a walker that reads this key also sees what the holder
        // did before (its own wait records are under the graph's mutex).
        self.holder
            .store(ThreadKey::current().as_u64(), Ordering::Release);
    }

    /// Records that no thread holds the lock.
    pub fn released(&self) {
        // Release: pairs with the Acquire in `holder`.
        self.holder.store(0, Ordering::Release);
    }

    /// The thread holding the lock, if any.
    pub fn holder(&self) -> Option<ThreadKey> {
        // Acquire: pairs with the stores above.
        ThreadKey::from_u64(self.holder.load(Ordering::Acquire))
    }
}

/// A wait on a [`RuntimeLock`], recorded in the engine's wait-for graph for
/// as long as this guard lives.
///
/// A runtime calls [`ExternalWait::begin`] just before it blocks on one of
/// its own locks and drops the guard when the wait ends. Engine waits then
/// see through the lock: a thread that owns entry `A` and waits for lock
/// `M`, while `M`'s holder waits for `A`, is a deadlock that the second
/// waiter reports.
///
/// # Thread-safety
/// The guard must be dropped on the thread that created it (it is `!Send`).
pub struct ExternalWait {
    _registration: Registration,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ExternalWait {
    /// Records that the calling thread waits for `lock`.
    ///
    /// # Errors
    /// [`Error::Deadlock`] when the lock's holder (directly or through
    /// other waits) waits for the calling thread, or is the calling thread;
    /// nothing is recorded then, and the runtime should fail its lock
    /// acquisition instead of blocking.
    pub fn begin(lock: &Arc<RuntimeLock>, access: Option<&Site>) -> Result<ExternalWait, Error> {
        match register(Target::Lock(Arc::clone(lock))) {
            Ok(registration) => Ok(ExternalWait {
                _registration: registration,
                _not_send: std::marker::PhantomData,
            }),
            Err(chain) => Err(Error::Deadlock {
                chain,
                access: access.cloned(),
            }),
        }
    }
}
