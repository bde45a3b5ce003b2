//! Runtime hooks the engine calls around blocking waits.

/// Callbacks a runtime gives the engine so that waiting cooperates with the
/// runtime's own locks.
///
/// A runtime with a global interpreter lock releases it in
/// [`before_block`](Hooks::before_block) and takes it back in
/// [`after_wake`](Hooks::after_wake); without that, a thread waiting for another
/// thread's resolution would keep the lock the resolving thread needs.
///
/// Value retain/release is not a hook in the Rust API: the value type's
/// `Clone` and `Drop` are those operations (the C ABI maps its retain/release
/// callbacks onto them).
///
/// # Thread-safety
/// Both methods are called from any thread that waits, possibly at once. They
/// are always called in pairs, on the same thread, with no engine lock held.
pub trait Hooks: Send + Sync {
    /// Called just before the current thread blocks waiting for another
    /// thread's resolution.
    fn before_block(&self) {}

    /// Called on the same thread right after the wait ends, before the engine
    /// looks at the outcome.
    fn after_wake(&self) {}
}

/// Hooks that do nothing: for runtimes without a global lock.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks for NoHooks {}
