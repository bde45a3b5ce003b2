//! Runtime lock waits in the engine's wait-for graph (`wait::ExternalWait`).

use std::ffi::c_char;

use super::boundary::{self, out};
use super::entry::declaration;
use super::error::{lazy_bind_error, report};
use super::lazy_bind_result::{self, *};
use crate::wait::ExternalWait;
use crate::{Site, ThreadKey};

/// A wait of the calling thread on one of the runtime's own locks, recorded
/// in the engine's wait-for graph from `lazy_bind_external_wait_begin` until
/// `lazy_bind_external_wait_end`.
///
/// # Thread-safety
/// Belongs to the thread that began it: only that thread may end it.
pub struct lazy_bind_external_wait {
    /// Kept for its `Drop`, which removes the record.
    _wait: ExternalWait,
    thread: ThreadKey,
}

/// Records, just before the calling thread blocks on one of the runtime's
/// own locks, that it waits for that lock, held by the thread whose
/// `lazy_bind_thread_key()` is `owner`. Engine waits then see through the
/// lock: a thread resolving entry A that waits for lock M, while M's holder
/// waits for A, is a deadlock, reported to whichever thread closes the
/// cycle instead of hanging both.
///
/// `what`, `file`, `line` name the lock in error chains (`file` may be NULL);
/// `access_file:access_line` is where the wait happens (`access_file` may
/// be NULL). On success writes an owned wait to `*wait_out`: end it with
/// `lazy_bind_external_wait_end` on this thread as soon as the lock is
/// acquired (or the wait given up). Until then the record names `owner` as
/// the holder: a holder that has released the lock and then waits for an
/// entry this thread resolves is reported as a deadlock, although this
/// thread is about to proceed.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `what` or `wait_out`;
/// `LAZY_BIND_INVALID_ARGUMENT` for `owner` 0 or the calling thread's own
/// key; `LAZY_BIND_INVALID_UTF8`; `LAZY_BIND_DEADLOCK` when `owner`
/// waits, directly or through other threads, for the calling thread:
/// nothing is recorded, the runtime must fail the lock acquisition instead
/// of blocking, and `*error_out` (if not NULL) gets an owned error naming the
/// whole chain (free with `lazy_bind_error_free`).
///
/// # Safety
/// The strings must be NULL or NUL-terminated; the out-parameters NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_external_wait_begin(
    owner: u64,
    what: *const c_char,
    file: *const c_char,
    line: u32,
    access_file: *const c_char,
    access_line: u32,
    wait_out: *mut *mut lazy_bind_external_wait,
    error_out: *mut *mut lazy_bind_error,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: forwarded to the caller.
        let what = unsafe { declaration(what, file, line) }?;
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let access = unsafe { boundary::optional_str_arg(access_file) }?
            .map(|file| Site::new(file, access_line));
        let wait_out = out(wait_out)?;
        let me = ThreadKey::current();
        let owner = ThreadKey::from_u64(owner)
            .filter(|owner| *owner != me)
            .ok_or(LAZY_BIND_INVALID_ARGUMENT)?;
        match ExternalWait::begin(owner, what, access.as_ref()) {
            Ok(wait) => {
                let wait = Box::new(lazy_bind_external_wait {
                    _wait: wait,
                    thread: me,
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
