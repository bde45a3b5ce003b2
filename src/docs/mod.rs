//! Design notes: how the engine keeps its promises.
//!
//! # Entry lifecycle
//! `Pending -> Resolving(attempt) -> Resolved`; a failed attempt goes back to
//! `Pending` (or to `Failed` with sticky failures). The phase lives under a
//! per-slot mutex that is held only for a few instructions and never while
//! runtime code (a resolver, a hook, a value's `Drop`) runs.
//!
//! # The resolved fast path
//! Each slot starts with a 64-bit state word followed by the value cell
//! (`#[repr(C)]`; the C header documents this prefix). The word holds the
//! entry's stamp, plus a `RESOLVED` bit once the value is in the cell. The
//! owner of the attempt writes the value into the cell and then stores
//! `stamp | RESOLVED` with `Release`; a reader loads the word with `Acquire`
//! and compares it with `handle.stamp | RESOLVED`. One load and one compare
//! answer both "is it resolved?" and "is this handle still this entry?", and
//! the acquire makes the value visible. A published value is never written
//! again and never dropped while `&Engine` can be held: discarding a resolved
//! entry clears the word but keeps the value in its slot (phase `Retired`)
//! until [`Engine::reclaim`] (which takes `&mut self`) or drop, and the slot
//! is reused only then. Hence `resolve` returns `&V` tied to `&self`.
//!
//! The table is a directory of fixed 1024-slot pages. Pages never move, so
//! `&Slot` is valid for the engine's life and [`Entry`] can cache it; a page
//! pointer is published with `Release` after its slots are initialised and
//! read with `Acquire`. Fixed pages keep the index lookup to a shift and a
//! mask (pages that doubled in size needed a bit scan that measured four
//! times slower). An [`Entry`] also keeps `stamp | RESOLVED` ready, so its
//! resolved access is the acquire load and one compare with no arithmetic
//! (6 instructions against `OnceLock::get`'s 3 under callgrind, 8 when it
//! computed the word on every access; `scripts/bench-instructions.sh`).
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
//! was held as lost (a `LOST` bit in its word: accesses fail instead of
//! blocking). The wait-for
//! graph is replaced by a fresh one (the old one is leaked).
//!
//! [`Engine::reclaim`]: crate::Engine::reclaim
//! [`Entry`]: crate::Entry
//! [`Engine::after_fork_child`]: crate::Engine::after_fork_child
