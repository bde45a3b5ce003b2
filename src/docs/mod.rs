//! Design notes: how the engine keeps its promises.
//!
//! # Entry lifecycle
//! `Pending -> Resolving(attempt) -> Resolved`; a failed attempt goes back to
//! `Pending` (or to `Failed` with sticky failures). The phase lives under a
//! per-slot mutex that is held only for a few instructions and never while
//! runtime code (a resolver, a hook, a value's `Drop`) runs.
//!
//! # The resolved fast path
//! Each slot starts with an `AtomicPtr` to a heap `Resolved { stamp, value }`.
//! The owner of the attempt writes the value into a fresh allocation and
//! stores the pointer with `Release`; readers load it with `Acquire`, so the
//! value is fully visible to anyone who sees the pointer. The stamp inside the
//! allocation is compared with the handle's, which rejects stale and foreign
//! handles without touching the lock. A published value is never written
//! again and never freed while `&Engine` can be held: discarding an entry
//! moves its value to a retired list freed by [`Engine::reclaim`] (which takes
//! `&mut self`) or on drop. Hence `resolve` returns `&V` tied to `&self`.
//!
//! The table is an array of pages that double in size (64, 128, 256, ...
//! slots). Pages never move or shrink, so `&Slot` is valid for the engine's
//! life; a page pointer is published with `Release` after its slots are
//! initialised and read with `Acquire`.
//!
//! # Exactly once per attempt
//! Only the thread that moves a slot from `Pending` to `Resolving` (under the
//! slot lock) runs the resolver; that thread alone touches the resolver cell
//! until it moves the phase out of `Resolving`, again under the lock. Every
//! other accessor clones the `Arc<Attempt>` and waits on the attempt's own
//! condition variable, so a waiter always receives the outcome of the attempt
//! it waited for, even if a newer attempt has started since.
//!
//! # Cycles and deadlocks
//! A thread-local stack records the resolutions in progress on each thread.
//! An access to an entry whose attempt is owned by the current thread is a
//! cycle; the chain is read from the stack. Before blocking on another
//! thread's attempt, a thread records the wait in the process-wide wait-for
//! graph ([`crate::wait`]) and walks it; coming back to itself means deadlock.
//! Both the record and the walk happen under one short lock, so of two
//! threads closing a cycle the second always sees the first. Finished
//! attempts (`done`, a `Release` store read with `Acquire`) end a walk, which
//! keeps a thread that has just moved on from being blamed.
//!
//! # Fork
//! In a forked child only the calling thread exists. Slot locks are never
//! held across runtime code, so a vanished thread can only have held one for
//! a few instructions; [`Engine::after_fork_child`] uses `try_lock`, resets
//! entries whose attempt owner vanished, and marks the rare slot whose lock
//! was held as lost (its accesses fail instead of blocking). The wait-for
//! graph is replaced by a fresh one (the old one is leaked).
//!
//! [`Engine::reclaim`]: crate::Engine::reclaim
//! [`Engine::after_fork_child`]: crate::Engine::after_fork_child
