//! The runtime's own locks in the engine's wait-for graph
//! (`wait::RuntimeLock`, `wait::ExternalWait`).

use std::ffi::c_char;
use std::sync::Arc;

use super::boundary::{self, arg, out};
use super::entry::declaration;
use super::error::{lazy_bind_error, report};
use super::lazy_bind_result::{self, *};
use crate::wait::{ExternalWait, RuntimeLock};
use crate::{Site, ThreadKey};

/// One of the runtime's own locks (an import lock, say) as the engine's
/// wait-for graph sees it: what it is and which thread holds it now.
/// Create with `lazy_bind_runtime_lock_new`, free with
/// `lazy_bind_runtime_lock_free`.
///
/// # Thread-safety
/// Any thread may report acquisitions and releases and wait on it.
pub struct lazy_bind_runtime_lock {
    lock: Arc<RuntimeLock>,
}

/// A wait of the calling thread on a runtime lock, recorded in the engine's
/// wait-for graph from `lazy_bind_external_wait_begin` until
/// `lazy_bind_external_wait_end`.
///
/// # Thread-safety
/// Belongs to the thread that began it: only that thread may end it.
pub struct lazy_bind_external_wait {
    /// Kept for its `Drop`, which removes the record.
    _wait: ExternalWait,
    thread: ThreadKey,
}

/// Creates a free runtime lock named `what` (declared at `file:line`;
/// `file` may be NULL) in deadlock chains, and writes it to `*lock_out`.
/// Report every acquisition and release of the real lock with
/// `lazy_bind_runtime_lock_acquired` / `_released`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `what` or `lock_out`;
/// `LAZY_BIND_INVALID_UTF8`.
///
/// # Safety
/// The strings must be NULL or NUL-terminated; `lock_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_runtime_lock_new(
    what: *const c_char,
    file: *const c_char,
    line: u32,
    lock_out: *mut *mut lazy_bind_runtime_lock,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: forwarded to the caller.
        let what = unsafe { declaration(what, file, line) }?;
        let lock_out = out(lock_out)?;
        let lock = Box::new(lazy_bind_runtime_lock {
            lock: RuntimeLock::new(what),
        });
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { lock_out.write(Box::into_raw(lock)) };
        Ok(())
    })
}

/// Frees a runtime lock and sets `*lock` to NULL. Waits still recorded on it
/// keep what they need. Does nothing if `lock` or `*lock` is NULL.
///
/// # Safety
/// `lock` must be NULL or point to NULL or to a lock from
/// `lazy_bind_runtime_lock_new` not freed yet, which no other thread uses.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_runtime_lock_free(lock: *mut *mut lazy_bind_runtime_lock) {
    // SAFETY: the caller guarantees `lock` is NULL or writable and holds
    // NULL or a live object of ours (made by `Box::into_raw`).
    unsafe { boundary::free_box(lock) }
}

/// Reports that the calling thread now holds the lock (call it right after
/// the real lock was taken).
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `lock`.
///
/// # Safety
/// `lock` must be NULL or a live runtime lock.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_runtime_lock_acquired(
    lock: *const lazy_bind_runtime_lock,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live lock.
        unsafe { arg(lock) }?.lock.acquired();
        Ok(())
    })
}

/// Reports that no thread holds the lock (call it right before the real
/// lock is given back).
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `lock`.
///
/// # Safety
/// `lock` must be NULL or a live runtime lock.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_runtime_lock_released(
    lock: *const lazy_bind_runtime_lock,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live lock.
        unsafe { arg(lock) }?.lock.released();
        Ok(())
    })
}

/// Records, just before the calling thread blocks on the runtime lock
/// `lock`, that it waits for it. Engine waits then see through the lock: a
/// thread resolving entry A that waits for the lock, while its holder waits
/// for A, is a deadlock, reported to whichever thread closes the cycle
/// instead of hanging both. The holder is read whenever a thread walks the
/// graph, so a release in the meantime never makes a cycle.
///
/// `access_file:access_line` is where the wait happens (`access_file` may
/// be NULL). On success writes an owned wait to `*wait_out`: end it with
/// `lazy_bind_external_wait_end` on this thread once the lock is acquired
/// (or the wait given up).
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `lock` or `wait_out`;
/// `LAZY_BIND_INVALID_UTF8`; `LAZY_BIND_DEADLOCK` when the holder is the
/// calling thread or waits, directly or through other threads, for it:
/// nothing is recorded, the runtime must fail the lock acquisition instead
/// of blocking, and `*error_out` (if not NULL) gets an owned error naming the
/// whole chain (free with `lazy_bind_error_free`).
///
/// # Safety
/// `lock` must be NULL or a live runtime lock; `access_file` NULL or
/// NUL-terminated; the out-parameters NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_external_wait_begin(
    lock: *const lazy_bind_runtime_lock,
    access_file: *const c_char,
    access_line: u32,
    wait_out: *mut *mut lazy_bind_external_wait,
    error_out: *mut *mut lazy_bind_error,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live lock.
        let lock = unsafe { arg(lock) }?;
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let access = unsafe { boundary::optional_str_arg(access_file) }?
            .map(|file| Site::new(file, access_line));
        let wait_out = out(wait_out)?;
        match ExternalWait::begin(&lock.lock, access.as_ref()) {
            Ok(wait) => {
                let wait = Box::new(lazy_bind_external_wait {
                    _wait: wait,
                    thread: ThreadKey::current(),
                });
                // SAFETY: checked non-null; the caller guarantees writable.
                unsafe { wait_out.write(Box::into_raw(wait)) };
                Ok(())
            }
            // SAFETY: the caller guarantees NULL or writable.
            Err(error) => Err(unsafe { report(error, error_out) }),
        }
    })
}

/// Ends a wait begun by `lazy_bind_external_wait_begin`: removes it from the
/// wait-for graph, frees it and sets `*wait` to NULL. NULL or a NULLed
/// pointer does nothing.
///
/// # Errors
/// `LAZY_BIND_INVALID_ARGUMENT`, leaving the wait recorded and `*wait`
/// untouched, when called on another thread than the one that began it.
///
/// # Safety
/// `wait` must be NULL or point to NULL or to a wait from
/// `lazy_bind_external_wait_begin` not ended yet.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_external_wait_end(
    wait: *mut *mut lazy_bind_external_wait,
) -> lazy_bind_result {
    boundary::status(|| {
        if wait.is_null() {
            return Ok(());
        }
        // SAFETY: the caller guarantees `wait` is writable and holds NULL or
        // a live wait of ours.
        let current = unsafe { *wait };
        if current.is_null() {
            return Ok(());
        }
        // SAFETY: non-null and live, as above.
        if unsafe { (*current).thread } != ThreadKey::current() {
            return Err(LAZY_BIND_INVALID_ARGUMENT);
        }
        // SAFETY: as above; `free_box` drops it (ending the wait) and
        // NULLs the caller's pointer.
        unsafe { boundary::free_box(wait) };
        Ok(())
    })
}
