//! Tracing and reports: recorders, attaching them to engines, and the
//! `-X importtime`, Chrome trace and never-resolved reports.

use std::ffi::c_char;
use std::fmt::Write;
use std::sync::Arc;

use super::boundary::{self, arg, out, str_arg};
use super::engine::lazy_bind_engine;
use super::lazy_bind_result::{self, *};
use super::string::owned;
use crate::trace::{importtime_report, never_resolved, write_chrome_trace, Recorder};

/// A bounded, thread-safe buffer of trace events: create with
/// `lazy_bind_recorder_new`, attach to engines with
/// `lazy_bind_engine_set_recorder`, free with `lazy_bind_recorder_free`.
///
/// It is shared: an engine it is attached to keeps its own reference, so
/// freeing the caller's recorder does not stop the engine's recording.
///
/// # Thread-safety
/// Every function taking a `const lazy_bind_recorder *` may be called from
/// any number of threads at once, also while engines record into it. After
/// `fork()`, create a fresh recorder in the child.
pub struct lazy_bind_recorder {
    recorder: Arc<Recorder>,
}

/// Creates a recorder that keeps at most `capacity` events (further events
/// are counted by `lazy_bind_recorder_dropped`, not stored). Nothing is
/// allocated up front. Writes the owned recorder to `*recorder_out`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `recorder_out`.
///
/// # Safety
/// `recorder_out` must be NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_recorder_new(
    capacity: usize,
    recorder_out: *mut *mut lazy_bind_recorder,
) -> lazy_bind_result {
    boundary::status(|| {
        let recorder_out = out(recorder_out)?;
        let recorder = Box::into_raw(Box::new(lazy_bind_recorder {
            recorder: Arc::new(Recorder::new(capacity)),
        }));
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { recorder_out.write(recorder) };
        Ok(())
    })
}

/// Drops the caller's reference to a recorder and sets `*recorder` to NULL.
/// Engines it is attached to keep their own references and go on recording
/// into it until they are freed or detached.
///
/// Does nothing if `recorder` or `*recorder` is NULL, so freeing twice
/// through the same variable is harmless.
///
/// # Safety
/// `recorder` must be NULL or point to NULL or to a recorder from
/// `lazy_bind_recorder_new` not freed yet. No other thread may be using this
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_recorder_free(recorder: *mut *mut lazy_bind_recorder) {
    // SAFETY: the caller guarantees `recorder` is NULL or writable and
    // holds NULL or a live object of ours (all made by `Box::into_raw`).
    unsafe { boundary::free_box(recorder) }
}

/// Attaches `recorder` to `engine` (the engine takes its own reference),
/// replacing any recorder it had; a NULL `recorder` detaches it, turning
/// recording off. Resolutions already running finish recording into the
/// recorder they started with.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `engine`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `recorder` NULL or a live
/// recorder.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_engine_set_recorder(
    engine: *const lazy_bind_engine,
    recorder: *const lazy_bind_recorder,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        // SAFETY: the caller guarantees NULL or a live recorder.
        let recorder = unsafe { recorder.as_ref() };
        engine
            .engine
            .set_recorder(recorder.map(|recorder| Arc::clone(&recorder.recorder)));
        Ok(())
    })
}

/// Records that the import policy decided how `importer` imports `target`:
/// deferred (`lazy`) or not (`eager`), and the rule that decided it
/// (`reason`, for example the text of `lazy_bind_policy_explain`). The
/// strings are copied.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL argument; `LAZY_BIND_INVALID_UTF8`.
///
/// # Safety
/// `recorder` must be NULL or a live recorder; the strings NULL or
/// NUL-terminated.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_recorder_record_policy_decision(
    recorder: *const lazy_bind_recorder,
    importer: *const c_char,
    target: *const c_char,
    deferred: bool,
    reason: *const c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live recorder.
        let recorder = unsafe { arg(recorder) }?;
        // SAFETY: the caller guarantees NULL or NUL-terminated strings.
        let (importer, target, reason) =
            unsafe { (str_arg(importer)?, str_arg(target)?, str_arg(reason)?) };
        let decision = if deferred { "lazy" } else { "eager" };
        recorder
            .recorder
            .record_policy_decision(importer, target, decision, reason);
        Ok(())
    })
}

/// Writes how many events were not stored because the recorder was full to
/// `*dropped_out`. Stored plus dropped is exactly the number of events
/// offered.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL arguments.
///
/// # Safety
/// `recorder` must be NULL or a live recorder; `dropped_out` NULL or
/// writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_recorder_dropped(
    recorder: *const lazy_bind_recorder,
    dropped_out: *mut u64,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live recorder.
        let recorder = unsafe { arg(recorder) }?;
        let dropped_out = out(dropped_out)?;
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { dropped_out.write(recorder.recorder.dropped()) };
        Ok(())
    })
}

/// Writes how many events the recorder holds now (at most its capacity) to
/// `*count_out`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL arguments.
///
/// # Safety
/// `recorder` must be NULL or a live recorder; `count_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_recorder_event_count(
    recorder: *const lazy_bind_recorder,
    count_out: *mut usize,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live recorder.
        let recorder = unsafe { arg(recorder) }?;
        let count_out = out(count_out)?;
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { count_out.write(recorder.recorder.event_count()) };
        Ok(())
    })
}

/// Writes a text report in the shape of CPython's `-X importtime` to
/// `*report_out` (owned; free with `lazy_bind_string_free`): the header
/// line `import time: self [us] | cumulative | imported package`, one line
/// per finished resolution the recorder holds, then `lazy entries never
/// resolved: N` and one indented line per such entry of `engine`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL arguments.
///
/// # Safety
/// `recorder` must be NULL or a live recorder; `engine` NULL or a live
/// engine; `report_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_importtime_report(
    recorder: *const lazy_bind_recorder,
    engine: *const lazy_bind_engine,
    report_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live recorder.
        let recorder = unsafe { arg(recorder) }?;
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let report_out = out(report_out)?;
        let report = importtime_report(
            &recorder.recorder.events(),
            &never_resolved(&*engine.engine),
        );
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { report_out.write(owned(&report)) };
        Ok(())
    })
}

/// Writes the recorder's events as a Chrome trace-event JSON file (opened by
/// Perfetto and `chrome://tracing`) at `path`, replacing it if it exists.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL arguments; `LAZY_BIND_INVALID_UTF8`
/// for a path that is not UTF-8; `LAZY_BIND_IO` if the file cannot be
/// created or written.
///
/// # Safety
/// `recorder` must be NULL or a live recorder; `path` NULL or
/// NUL-terminated.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_write_chrome_trace(
    recorder: *const lazy_bind_recorder,
    path: *const c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live recorder.
        let recorder = unsafe { arg(recorder) }?;
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let path = unsafe { str_arg(path) }?;
        let recorder = &recorder.recorder;
        write_chrome_trace(path, &recorder.events(), recorder.dropped()).map_err(|_| LAZY_BIND_IO)
    })
}

/// Writes the entries of `engine` that were never resolved (pending, or
/// failed for good with sticky failures), in table order, to `*report_out`
/// (owned; free with `lazy_bind_string_free`): one line per entry,
/// `name (declared at file:line)`, each ending in a newline; an empty string
/// when every entry was used. Works with or without a recorder.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL arguments.
///
/// # Safety
/// `engine` must be NULL or a live engine; `report_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_never_resolved_report(
    engine: *const lazy_bind_engine,
    report_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let report_out = out(report_out)?;
        let mut report = String::new();
        for entry in never_resolved(&*engine.engine) {
            let declaration = &entry.declaration;
            let _ = writeln!(
                report,
                "{} (declared at {})",
                declaration.name(),
                declaration.site()
            );
        }
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { report_out.write(owned(&report)) };
        Ok(())
    })
}
