//! Creating, resolving, inspecting and discarding entries.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::boundary::{self, arg, optional_str_arg, out, str_arg, write_optional};
use super::engine::lazy_bind_engine;
use super::error::{lazy_bind_error, report};
use super::lazy_bind_result::{self, *};
use super::nested;
use super::runtime::{ForeignValue, Runtime};
use crate::{Declaration, Handle, Peek, ResolveError, Site};

/// The resolver of one entry.
///
/// Called at most once per attempt, on the thread that accesses the entry,
/// with no engine lock held: it may create, resolve and discard other entries
/// of `engine`. `handle` is the entry being resolved.
///
/// On success, return `LAZY_BIND_OK` (0) and write the value to `*value_out`:
/// a NEW reference, which the engine owns from then on and gives back through
/// the `release` hook. A NULL value counts as a failure.
///
/// On failure, return any other status (`LAZY_BIND_RESOLVER_FAILED`, or the
/// status a nested `lazy_bind_resolve` returned) and leave `*value_out`
/// alone; optionally write an owned runtime error object (an exception) to
/// `*runtime_error_out`. The access then fails with
/// `LAZY_BIND_RESOLVER_FAILED`; the error object reports the status
/// (`lazy_bind_error_resolver_status`) and lends out the runtime error
/// (`lazy_bind_error_runtime_value`).
///
/// Passing a nested failure up: a resolver that returns the status of the
/// last lazy_bind call that failed during it on this thread (a nested
/// `lazy_bind_resolve`, `lazy_bind_external_wait_begin`, ...) and writes no
/// runtime error object passes that call's error up unchanged. The access
/// then fails with the same status and error: `LAZY_BIND_CYCLE` and
/// `LAZY_BIND_DEADLOCK` keep their chains, and a `LAZY_BIND_RESOLVER_FAILED`
/// keeps the innermost resolver's status and runtime error, however deeply
/// resolvers nest. To report a failure of its own instead, a resolver
/// returns another status or hands back a runtime error object.
///
/// The resolver must not unwind (no C++ exception or `longjmp` may leave it).
pub type lazy_bind_resolve_fn = Option<
    unsafe extern "C" fn(
        entry_userdata: *mut c_void,
        engine: *const lazy_bind_engine,
        handle: Handle,
        value_out: *mut *mut c_void,
        runtime_error_out: *mut *mut c_void,
    ) -> u32,
>;

/// Frees a resolver's userdata once the resolver is no longer needed.
pub type lazy_bind_drop_fn = Option<unsafe extern "C" fn(entry_userdata: *mut c_void)>;

/// Where an entry is in its life, as `lazy_bind_peek` reports it.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lazy_bind_state {
    /// Not resolved yet (never tried, or the last attempt failed).
    LAZY_BIND_STATE_PENDING = 0,
    /// A thread is running its resolver now.
    LAZY_BIND_STATE_RESOLVING = 1,
    /// Resolved.
    LAZY_BIND_STATE_RESOLVED = 2,
    /// Failed for good (sticky failures only).
    LAZY_BIND_STATE_FAILED = 3,
}

/// The table row of an entry, for the header's inline fast path
/// `lazy_bind_get_fast`. Opaque here: its stable prefix is spelled out in
/// the header.
#[repr(C)]
pub struct lazy_bind_slot {
    _private: [u8; 0],
}

/// A C resolver with its userdata, as the engine stores it.
struct ForeignResolver {
    resolve: unsafe extern "C" fn(
        *mut c_void,
        *const lazy_bind_engine,
        Handle,
        *mut *mut c_void,
        *mut *mut c_void,
    ) -> u32,
    userdata: *mut c_void,
    drop_userdata: lazy_bind_drop_fn,
    /// The engine that owns this resolver, so it outlives it.
    engine: *const lazy_bind_engine,
    runtime: Arc<Runtime>,
}

// SAFETY: the header requires resolvers and their userdata to be usable from
// any thread; the engine pointer is to a `Sync` engine that owns this resolver.
unsafe impl Send for ForeignResolver {}

impl ForeignResolver {
    fn call(&mut self, handle: Handle) -> Result<ForeignValue, ResolveError> {
        let mut value: *mut c_void = std::ptr::null_mut();
        let mut runtime_error: *mut c_void = std::ptr::null_mut();
        let (status, passed_up) = nested::call(|| {
            // SAFETY: the runtime gave this function and userdata for exactly
            // this call; the engine is alive (it owns this resolver).
            unsafe {
                (self.resolve)(
                    self.userdata,
                    self.engine,
                    handle,
                    &mut value,
                    &mut runtime_error,
                )
            }
        });
        let adopt = |object: *mut c_void| {
            (!object.is_null()).then(|| ForeignValue::adopt(object, Arc::clone(&self.runtime)))
        };
        match (status, adopt(value)) {
            (0, Some(value)) => Ok(value),
            (0, None) => Err(ResolveError::msg(
                "the runtime's resolver returned LAZY_BIND_OK without a value",
            )),
            (status, value) => {
                // A value written despite the failure is released, not leaked.
                drop(value);
                Err(nested::failure(status, adopt(runtime_error), passed_up))
            }
        }
    }
}

impl Drop for ForeignResolver {
    fn drop(&mut self) {
        if let Some(drop_userdata) = self.drop_userdata {
            // SAFETY: the runtime gave this function to free this userdata,
            // called once, when the resolver is dropped.
            unsafe { drop_userdata(self.userdata) };
        }
    }
}

/// A declaration from C arguments (`file` NULL means unknown).
///
/// # Safety
/// The strings must be NULL or NUL-terminated.
pub(crate) unsafe fn declaration(
    name: *const c_char,
    file: *const c_char,
    line: u32,
) -> Result<Declaration, lazy_bind_result> {
    // SAFETY: forwarded to the caller.
    let name = unsafe { str_arg(name) }?;
    // SAFETY: forwarded to the caller.
    let site = match unsafe { optional_str_arg(file) }? {
        Some(file) => Site::new(file, line),
        None => Site::unknown(),
    };
    Ok(Declaration::new(name, site))
}

/// Creates a pending entry named `name`, declared at `file:line` (`file`
/// may be NULL: unknown), resolved by `resolve` on first access.
///
/// `entry_userdata` is passed to every call of `resolve`. On success the
/// engine owns it: `drop_userdata` (may be NULL) is called with it exactly
/// once, when the entry is resolved or discarded or the engine is freed, on
/// whichever thread that happens. On failure the caller still owns it and
/// `drop_userdata` is not called. The strings are copied. On success, writes
/// the new entry's handle to `*handle_out`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine`, `name`, `resolve` or
/// `handle_out`; `LAZY_BIND_INVALID_UTF8` for a name or file that is not
/// UTF-8.
///
/// # Safety
/// `engine` must be NULL or a live engine; the strings NULL or
/// NUL-terminated; `handle_out` NULL or writable. `resolve` and
/// `drop_userdata` must be callable from any thread.
#[must_use]
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lazy_bind_entry_create(
    engine: *const lazy_bind_engine,
    name: *const c_char,
    file: *const c_char,
    line: u32,
    resolve: lazy_bind_resolve_fn,
    entry_userdata: *mut c_void,
    drop_userdata: lazy_bind_drop_fn,
    handle_out: *mut Handle,
) -> lazy_bind_result {
    boundary::status(|| {
        let resolve = resolve.ok_or(LAZY_BIND_NULL_ARGUMENT)?;
        // SAFETY: the caller guarantees a live engine.
        let wrapper = unsafe { arg(engine) }?;
        let handle_out = out(handle_out)?;
        // SAFETY: the caller guarantees NUL-terminated strings.
        let declaration = unsafe { declaration(name, file, line) }?;
        // Nothing can fail from here on: the engine owns the userdata.
        let mut resolver = ForeignResolver {
            resolve,
            userdata: entry_userdata,
            drop_userdata,
            engine,
            runtime: Arc::clone(&wrapper.runtime),
        };
        let handle = wrapper
            .engine
            .create(declaration, move |context| resolver.call(context.handle()));
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { handle_out.write(handle) };
        Ok(())
    })
}

/// Creates an entry that is already resolved to `value` (a binding whose
/// target the runtime already had).
///
/// `value` is borrowed: the engine takes its own reference with the `retain`
/// hook. On success, writes the handle to `*handle_out`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine`, `name`, `value` or
/// `handle_out`; `LAZY_BIND_INVALID_UTF8` for strings that are not UTF-8.
///
/// # Safety
/// As for `lazy_bind_entry_create`; `value` must be a live runtime object.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_entry_create_resolved(
    engine: *const lazy_bind_engine,
    name: *const c_char,
    file: *const c_char,
    line: u32,
    value: *mut c_void,
    handle_out: *mut Handle,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let handle_out = out(handle_out)?;
        if value.is_null() {
            return Err(LAZY_BIND_NULL_ARGUMENT);
        }
        // SAFETY: the caller guarantees NUL-terminated strings.
        let declaration = unsafe { declaration(name, file, line) }?;
        let value = engine.runtime.retain(value);
        let handle = engine.engine.create_resolved(declaration, value);
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { handle_out.write(handle) };
        Ok(())
    })
}

/// Resolves an entry (running its resolver on first access, or waiting for
/// the thread that runs it) and writes its value to `*value_out`.
///
/// This is the slow path: call it when `lazy_bind_get_fast` returns NULL.
/// `access_file:access_line` is where the access happened (`access_file` may
/// be NULL: unknown); it appears in errors.
///
/// The value is borrowed from the engine: valid while the entry lives, and
/// after it is discarded until `lazy_bind_engine_reclaim` (or
/// `lazy_bind_engine_free`) frees it. Retain it to keep it longer.
///
/// On failure, if `error_out` is not NULL and the engine reported the
/// failure (every status but `LAZY_BIND_NULL_ARGUMENT`,
/// `LAZY_BIND_INVALID_UTF8` and `LAZY_BIND_PANIC`), writes an owned error
/// object there (free with `lazy_bind_error_free`).
///
/// # Errors
/// `LAZY_BIND_STALE_HANDLE`, `LAZY_BIND_RESOLVER_FAILED`, `LAZY_BIND_CYCLE`,
/// `LAZY_BIND_DEADLOCK`, `LAZY_BIND_DISCARDED`, `LAZY_BIND_LOST_IN_FORK`,
/// `LAZY_BIND_RESOLVER_PANICKED` (see `lazy_bind_result`), besides the
/// argument checks. Deadlocks are found in one process-wide wait-for graph:
/// also those whose waits run through several engines.
///
/// # Safety
/// `engine` must be NULL or a live engine; `access_file` NULL or
/// NUL-terminated; the out-parameters NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_resolve(
    engine: *const lazy_bind_engine,
    handle: Handle,
    access_file: *const c_char,
    access_line: u32,
    value_out: *mut *mut c_void,
    error_out: *mut *mut lazy_bind_error,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let value_out = out(value_out)?;
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let access =
            unsafe { optional_str_arg(access_file) }?.map(|file| Site::new(file, access_line));
        let result = match &access {
            Some(access) => engine.engine.resolve_at(handle, access),
            None => engine.engine.resolve(handle),
        };
        match result {
            Ok(value) => {
                // SAFETY: checked non-null; the caller guarantees writable.
                unsafe { value_out.write(value.object) };
                Ok(())
            }
            // SAFETY: the caller guarantees NULL or writable.
            Err(error) => Err(unsafe { report(error, error_out) }),
        }
    })
}

/// Reports where an entry is in its life without resolving or blocking.
///
/// Writes the state to `*state_out`; if it is `LAZY_BIND_STATE_RESOLVED`
/// and `value_out` is not NULL, the borrowed value to `*value_out`; if it
/// is `LAZY_BIND_STATE_RESOLVING` and `owner_out` is not NULL, the resolving
/// thread's key to `*owner_out`; if it is `LAZY_BIND_STATE_FAILED` and
/// `error_out` is not NULL, the owned error every access returns.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine` or `state_out`;
/// `LAZY_BIND_STALE_HANDLE` (with an error object) for a dead handle.
///
/// # Safety
/// `engine` must be NULL or a live engine; the out-parameters NULL or
/// writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_peek(
    engine: *const lazy_bind_engine,
    handle: Handle,
    state_out: *mut lazy_bind_state,
    value_out: *mut *mut c_void,
    owner_out: *mut u64,
    error_out: *mut *mut lazy_bind_error,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let state_out = out(state_out)?;
        // SAFETY: the caller guarantees NULL or writable.
        let peek = engine
            .engine
            .peek(handle)
            .map_err(|error| unsafe { report(error, error_out) })?;
        let state = match peek {
            Peek::Pending => lazy_bind_state::LAZY_BIND_STATE_PENDING,
            Peek::Resolving { owner } => {
                // SAFETY: the caller guarantees NULL or writable.
                unsafe { write_optional(owner_out, owner.as_u64()) };
                lazy_bind_state::LAZY_BIND_STATE_RESOLVING
            }
            Peek::Resolved(value) => {
                // SAFETY: the caller guarantees NULL or writable.
                unsafe { write_optional(value_out, value.object) };
                lazy_bind_state::LAZY_BIND_STATE_RESOLVED
            }
            Peek::Failed(error) => {
                if !error_out.is_null() {
                    // SAFETY: non-null; the caller guarantees writable.
                    unsafe { report(error, error_out) };
                }
                lazy_bind_state::LAZY_BIND_STATE_FAILED
            }
        };
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { state_out.write(state) };
        Ok(())
    })
}

/// Resolves a pending entry to `value` without running its resolver (the
/// runtime loaded the target by other means).
///
/// `value` is borrowed; the engine retains it if it keeps it. Writes to
/// `*taken_out` (if not NULL) whether the entry took the value: false when
/// it was already resolved, being resolved or failed for good.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine` or `value`;
/// `LAZY_BIND_STALE_HANDLE` for a dead handle.
///
/// # Safety
/// `engine` must be NULL or a live engine; `value` a live runtime object;
/// `taken_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_entry_provide(
    engine: *const lazy_bind_engine,
    handle: Handle,
    value: *mut c_void,
    taken_out: *mut bool,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        if value.is_null() {
            return Err(LAZY_BIND_NULL_ARGUMENT);
        }
        let value = engine.runtime.retain(value);
        let taken = engine
            .engine
            .provide(handle, value)
            .map_err(|error| lazy_bind_result::of_error(&error))?;
        // SAFETY: the caller guarantees NULL or writable.
        unsafe { write_optional(taken_out, taken) };
        Ok(())
    })
}

/// Removes an entry; its handle and every copy become stale.
///
/// A resolved value stays valid (other threads may still use the pointer
/// they borrowed) until `lazy_bind_engine_reclaim` or `lazy_bind_engine_free`
/// releases it; only then is the entry's slot reused. A thread resolving the
/// entry right now finishes, then gets `LAZY_BIND_DISCARDED`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine`; `LAZY_BIND_STALE_HANDLE`
/// for a dead handle (so discarding twice is reported, never a crash).
///
/// # Safety
/// `engine` must be NULL or a live engine.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_entry_discard(
    engine: *const lazy_bind_engine,
    handle: Handle,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        engine
            .engine
            .discard(handle)
            .map_err(|error| lazy_bind_result::of_error(&error))
    })
}

/// Writes the address of the entry's slot to `*slot_out`, for the inline
/// fast path `lazy_bind_get_fast(slot, handle.stamp)`.
///
/// The address is stable for the engine's life (slots never move), so look
/// it up once per handle and keep it next to the handle.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine` or `slot_out`;
/// `LAZY_BIND_STALE_HANDLE` for a dead handle.
///
/// # Safety
/// `engine` must be NULL or a live engine; `slot_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_engine_slot(
    engine: *const lazy_bind_engine,
    handle: Handle,
    slot_out: *mut *const lazy_bind_slot,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let slot_out = out(slot_out)?;
        // Checks the stamp, not only the index.
        engine
            .engine
            .declaration(handle)
            .map_err(|error| lazy_bind_result::of_error(&error))?;
        let slot = engine
            .engine
            .slot_address(handle)
            .map_err(|error| lazy_bind_result::of_error(&error))?;
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { slot_out.write(slot.cast()) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::engine::{lazy_bind_engine_free, lazy_bind_engine_new};
    use crate::ffi::error::{lazy_bind_error_free, lazy_bind_error_kind};

    /// A Rust panic inside the engine during an exported call (here from a
    /// resolver installed through the Rust API) comes back as
    /// `LAZY_BIND_PANIC`, and the engine stays usable.
    #[test]
    fn a_panic_inside_a_call_becomes_a_status() {
        let mut engine: *mut lazy_bind_engine = std::ptr::null_mut();
        // SAFETY: NULL hooks and a writable out-parameter.
        assert_eq!(
            unsafe { lazy_bind_engine_new(std::ptr::null(), 0, &mut engine) },
            LAZY_BIND_OK
        );
        // SAFETY: just created, not freed until the end of the test.
        let wrapper = unsafe { &*engine };
        let mut calls = 0;
        let handle = wrapper
            .engine
            .create(Declaration::new("boom", Site::unknown()), move |_| {
                calls += 1;
                if calls == 1 {
                    panic!("resolver panicked");
                }
                Err(ResolveError::msg("second attempt fails normally"))
            });
        let mut value: *mut c_void = std::ptr::null_mut();
        let mut error: *mut lazy_bind_error = std::ptr::null_mut();
        // SAFETY: a live engine and writable out-parameters.
        let status = unsafe {
            lazy_bind_resolve(engine, handle, std::ptr::null(), 0, &mut value, &mut error)
        };
        assert_eq!(status, LAZY_BIND_PANIC);
        assert!(error.is_null());
        // SAFETY: as above.
        let status = unsafe {
            lazy_bind_resolve(engine, handle, std::ptr::null(), 0, &mut value, &mut error)
        };
        assert_eq!(status, LAZY_BIND_RESOLVER_FAILED);
        // SAFETY: `error` was just written by lazy_bind_resolve.
        unsafe {
            assert_eq!(lazy_bind_error_kind(error), LAZY_BIND_RESOLVER_FAILED);
            lazy_bind_error_free(&mut error);
            lazy_bind_engine_free(&mut engine);
        }
        assert!(engine.is_null());
    }
}
