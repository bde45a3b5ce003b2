//! Creating and freeing engines, and engine-wide operations.

use std::sync::Arc;

use super::boundary::{self, arg, out, write_optional};
use super::error::lazy_bind_error_list;
use super::lazy_bind_result::{self, *};
use super::runtime::{lazy_bind_runtime_hooks, ForeignValue, Runtime};
use crate::{Engine, ThreadKey};

/// `lazy_bind_engine_new` flag: a failed resolution is final; every later
/// access returns the same error and the resolver never runs again. Without
/// it, the next access retries.
pub const LAZY_BIND_STICKY_FAILURES: u32 = 1;

/// Every flag this version knows.
const KNOWN_FLAGS: u32 = LAZY_BIND_STICKY_FAILURES;

/// A deferred-object table for one runtime: create with
/// `lazy_bind_engine_new`, free with `lazy_bind_engine_free`.
///
/// # Thread-safety
/// Every function taking a `const lazy_bind_engine *` may be called from any
/// number of threads at once, and from inside resolvers of the same engine.
pub struct lazy_bind_engine {
    /// Shared with the importers created over this engine.
    pub(crate) engine: Arc<Engine<ForeignValue>>,
    pub(crate) runtime: Arc<Runtime>,
}

/// Creates an engine.
///
/// `hooks` may be NULL (no hooks); otherwise it is copied (reading only its
/// first `hooks->size` bytes), so it need not outlive the call. `flags` is 0
/// or `LAZY_BIND_STICKY_FAILURES`.
///
/// On success, writes an owned engine to `*engine_out`; free it with
/// `lazy_bind_engine_free`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine_out`;
/// `LAZY_BIND_INVALID_ARGUMENT` for unknown flag bits or a `hooks->size`
/// smaller than the first version of the struct.
///
/// # Safety
/// `hooks` must be NULL or readable for `hooks->size` bytes; `engine_out`
/// must be NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_engine_new(
    hooks: *const lazy_bind_runtime_hooks,
    flags: u32,
    engine_out: *mut *mut lazy_bind_engine,
) -> lazy_bind_result {
    boundary::status(|| {
        let engine_out = out(engine_out)?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(LAZY_BIND_INVALID_ARGUMENT);
        }
        let runtime = if hooks.is_null() {
            Runtime::none()
        } else {
            // SAFETY: non-null; the caller guarantees `size` readable bytes.
            unsafe { Runtime::copy_from(hooks) }?
        };
        let runtime = Arc::new(runtime);
        let engine = Engine::builder()
            .hooks(Arc::clone(&runtime) as Arc<dyn crate::Hooks>)
            .sticky_failures(flags & LAZY_BIND_STICKY_FAILURES != 0)
            .build();
        let engine = Box::into_raw(Box::new(lazy_bind_engine {
            engine: Arc::new(engine),
            runtime,
        }));
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { engine_out.write(engine) };
        Ok(())
    })
}

/// Frees an engine and sets `*engine` to NULL.
///
/// Releases (through the `release` hook) every value the engine holds, and
/// drops every resolver's userdata (through its `drop_userdata`). Pointers
/// returned by `lazy_bind_resolve` and slots from `lazy_bind_engine_slot`
/// become invalid. Does nothing if `engine` or `*engine` is NULL, so freeing
/// twice through the same variable is harmless.
///
/// # Safety
/// `engine` must be NULL or point to NULL or to an engine from
/// `lazy_bind_engine_new` not freed yet. No other thread may be using the
/// engine, and it must not be called from inside one of its resolvers.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_engine_free(engine: *mut *mut lazy_bind_engine) {
    // SAFETY: the caller guarantees `engine` is NULL or writable and
    // holds NULL or a live object of ours (all made by `Box::into_raw`).
    unsafe { boundary::free_box(engine) }
}

/// A snapshot of an engine's counters, filled by `lazy_bind_engine_counters`.
///
/// Versioned like the hooks: set `size` to `sizeof(lazy_bind_counters)`; the
/// engine writes only the fields that fit in `size`, so new counters can be
/// appended.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct lazy_bind_counters {
    /// `sizeof(lazy_bind_counters)` as the caller compiled it (set by the
    /// caller, left unchanged).
    pub size: usize,
    /// Entries created pending (deferred bindings).
    pub deferred: u64,
    /// Entries resolved (by their resolver or by `lazy_bind_entry_provide`).
    pub resolved: u64,
    /// Failed resolution attempts (each retry counts).
    pub failed: u64,
    /// Live entries not resolved yet.
    pub pending: u64,
}

/// Fills `*counters` with the engine's counters (each one exact; the set
/// is not one instant while other threads work).
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL arguments; `LAZY_BIND_INVALID_ARGUMENT`
/// when `counters->size` is smaller than the `size` field itself.
///
/// # Safety
/// `engine` must be NULL or a live engine; `counters` must be NULL or
/// writable for `counters->size` bytes.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_engine_counters(
    engine: *const lazy_bind_engine,
    counters: *mut lazy_bind_counters,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let counters = out(counters)?;
        // SAFETY: non-null; `size` is the first field of every version.
        let size = unsafe { std::ptr::addr_of!((*counters).size).read_unaligned() };
        if size < std::mem::size_of::<usize>() {
            return Err(LAZY_BIND_INVALID_ARGUMENT);
        }
        let now = engine.engine.counters();
        let full = lazy_bind_counters {
            size,
            deferred: now.deferred,
            resolved: now.resolved,
            failed: now.failed,
            pending: now.pending,
        };
        let fits = size.min(std::mem::size_of::<lazy_bind_counters>());
        // SAFETY: the caller guarantees `size >= fits` writable bytes; the
        // source is a whole struct; they do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&full as *const lazy_bind_counters).cast::<u8>(),
                counters.cast::<u8>(),
                fits,
            );
        }
        Ok(())
    })
}

/// Resolves every entry still pending (the switch that turns laziness off),
/// reporting every failure instead of stopping at the first.
///
/// Writes the number of failures to `*failures_out` and, if `errors_out` is
/// not NULL, an owned list of them (free with `lazy_bind_error_list_free`;
/// an empty list when nothing failed).
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine` or `failures_out`. Failed
/// entries are not an error of this call: they are counted and listed.
///
/// # Safety
/// `engine` must be NULL or a live engine; the out-parameters must be NULL
/// or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_resolve_all_pending(
    engine: *const lazy_bind_engine,
    failures_out: *mut usize,
    errors_out: *mut *mut lazy_bind_error_list,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let failures_out = out(failures_out)?;
        let errors = engine.engine.resolve_all_pending();
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { failures_out.write(errors.len()) };
        if !errors_out.is_null() {
            let list = Box::into_raw(Box::new(lazy_bind_error_list::new(errors)));
            // SAFETY: non-null; the caller guarantees it is writable.
            unsafe { errors_out.write(list) };
        }
        Ok(())
    })
}

/// Frees the values of discarded, resolved entries and lets new entries reuse
/// their slots. Writes how many values it freed (each released through the
/// runtime's release hook) to `*freed_out` if that is not NULL.
///
/// A discarded value is kept until this call (or `lazy_bind_engine_free`)
/// because other threads may still hold the borrowed pointer that
/// `lazy_bind_resolve` or `lazy_bind_get_fast` returned.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine`;
/// `LAZY_BIND_INVALID_ARGUMENT` while an importer created over the engine
/// (`lazy_bind_importer_new`) is alive: free it first.
///
/// # Safety
/// `engine` must be NULL or a live engine that no other thread uses during
/// the call, and no value pointer borrowed from a discarded entry may be used
/// after it. `freed_out` must be NULL or writable.
///
/// # Thread-safety
/// Not thread-safe: the caller must have exclusive use of the engine.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_engine_reclaim(
    engine: *mut lazy_bind_engine,
    freed_out: *mut usize,
) -> lazy_bind_result {
    boundary::status(|| {
        if engine.is_null() {
            return Err(lazy_bind_result::LAZY_BIND_NULL_ARGUMENT);
        }
        // SAFETY: the caller guarantees a live engine used by nobody else
        // during the call, so this is the only reference to it.
        let engine = unsafe { &mut *engine };
        // An importer over this engine shares it: it must be freed first.
        let engine = Arc::get_mut(&mut engine.engine).ok_or(LAZY_BIND_INVALID_ARGUMENT)?;
        let freed = engine.reclaim();
        // SAFETY: the caller guarantees NULL or writable.
        unsafe { write_optional(freed_out, freed) };
        Ok(())
    })
}

/// What `lazy_bind_after_fork_child` found and did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct lazy_bind_fork_report {
    /// Entries that vanished threads were resolving, now pending again.
    pub reset: usize,
    /// Unresolved entries whose lock a vanished thread held: accessing them
    /// returns `LAZY_BIND_LOST_IN_FORK`.
    pub lost: usize,
    /// Whether a vanished thread held the engine's allocation lock: the child
    /// must not create or discard entries in this engine (build a new one).
    pub allocation_lost: bool,
}

/// Recovers the engine in the child after `fork()`: entries that threads
/// which did not survive the fork were resolving become pending again.
/// Writes what it did to `*report_out` if that is not NULL.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine`.
///
/// # Safety
/// Call only in a forked child while it has a single thread (before it
/// starts any). `engine` must be NULL or a live engine; `report_out` NULL or
/// writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_after_fork_child(
    engine: *const lazy_bind_engine,
    report_out: *mut lazy_bind_fork_report,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        // SAFETY: the caller guarantees a single-threaded forked child.
        let report = unsafe { engine.engine.after_fork_child() };
        let report = lazy_bind_fork_report {
            reset: report.reset,
            lost: report.lost,
            allocation_lost: report.allocation_lost,
        };
        // SAFETY: the caller guarantees NULL or writable.
        unsafe { write_optional(report_out, report) };
        Ok(())
    })
}

/// A process-unique nonzero number for the calling thread, the same one
/// that error chains name (`lazy_bind_error_chain_thread`).
///
/// # Thread-safety
/// Any thread; never reused within the process.
#[no_mangle]
pub extern "C" fn lazy_bind_thread_key() -> u64 {
    boundary::value(0, || ThreadKey::current().as_u64())
}
