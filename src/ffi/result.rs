//! The status code every exported function returns, and its messages.

use std::ffi::c_char;

use crate::Error;

/// The status of a call into lazy_bind.
///
/// Every variant has an explicit number that never changes: new statuses are
/// only ever appended. A caller that meets a number it does not know should
/// treat it as a failure and can still print it with
/// `lazy_bind_result_message`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lazy_bind_result {
    /// Success.
    LAZY_BIND_OK = 0,
    /// A required pointer argument was NULL.
    LAZY_BIND_NULL_ARGUMENT = 1,
    /// An argument was out of range (unknown flag bits, a hooks struct whose
    /// `size` is smaller than the first version of the struct, ...).
    LAZY_BIND_INVALID_ARGUMENT = 2,
    /// The handle names no live entry of this engine: discarded, never
    /// created, or from another engine.
    LAZY_BIND_STALE_HANDLE = 3,
    /// The entry's resolver reported a failure (see
    /// `lazy_bind_error_runtime_value` for the runtime's own error object).
    LAZY_BIND_RESOLVER_FAILED = 4,
    /// Resolving the entry needed the same entry again on the same thread.
    LAZY_BIND_CYCLE = 5,
    /// Waiting for another thread's resolution would never end. The wait-for
    /// graph is process-wide: a cycle of waits through entries of several
    /// engines (and through runtime locks, see
    /// `lazy_bind_external_wait_begin`) is detected as well.
    LAZY_BIND_DEADLOCK = 6,
    /// The entry was discarded while this access resolved or waited for it.
    LAZY_BIND_DISCARDED = 7,
    /// Rust code inside lazy_bind panicked during this call; the panic was
    /// stopped at the C boundary. The engine stays usable.
    LAZY_BIND_PANIC = 8,
    /// A string argument was not valid UTF-8.
    LAZY_BIND_INVALID_UTF8 = 9,
    /// After `fork()`, the entry was locked by a thread that does not exist
    /// in the child.
    LAZY_BIND_LOST_IN_FORK = 10,
    /// The attempt this access waited for ended in a panic on another thread.
    LAZY_BIND_RESOLVER_PANICKED = 11,
    /// Policy text is malformed (an unknown keyword, mode or rule, a bad
    /// module name, ...); the accompanying message names the line and
    /// column.
    LAZY_BIND_POLICY_SYNTAX = 12,
    /// A file could not be read or written (a policy `@path`, a trace file).
    LAZY_BIND_IO = 13,
    /// An import statement cannot be deferred as given (a malformed name, a
    /// relative import with no parent package or beyond the top-level
    /// package, a star import, no names).
    LAZY_BIND_INVALID_IMPORT = 14,
}

impl lazy_bind_result {
    /// The status for an engine error.
    pub(crate) fn of_error(error: &Error) -> lazy_bind_result {
        match error {
            Error::ResolverFailed { .. } => lazy_bind_result::LAZY_BIND_RESOLVER_FAILED,
            Error::ResolverPanicked { .. } => lazy_bind_result::LAZY_BIND_RESOLVER_PANICKED,
            Error::Cycle { .. } => lazy_bind_result::LAZY_BIND_CYCLE,
            Error::Deadlock { .. } => lazy_bind_result::LAZY_BIND_DEADLOCK,
            Error::StaleHandle { .. } => lazy_bind_result::LAZY_BIND_STALE_HANDLE,
            Error::Discarded { .. } => lazy_bind_result::LAZY_BIND_DISCARDED,
            Error::LostInFork { .. } => lazy_bind_result::LAZY_BIND_LOST_IN_FORK,
        }
    }

    /// The status's message, NUL-terminated.
    pub(crate) fn message(self) -> &'static str {
        use lazy_bind_result::*;
        match self {
            LAZY_BIND_OK => "success\0",
            LAZY_BIND_NULL_ARGUMENT => "a required pointer argument was NULL\0",
            LAZY_BIND_INVALID_ARGUMENT => "an argument was out of range\0",
            LAZY_BIND_STALE_HANDLE => "the handle names no live entry of this engine\0",
            LAZY_BIND_RESOLVER_FAILED => "the entry's resolver failed\0",
            LAZY_BIND_CYCLE => "lazy binding cycle: resolving the entry needed itself\0",
            LAZY_BIND_DEADLOCK => "lazy binding deadlock: the wait would never end\0",
            LAZY_BIND_DISCARDED => "the entry was discarded during the access\0",
            LAZY_BIND_PANIC => "internal panic stopped at the C boundary\0",
            LAZY_BIND_INVALID_UTF8 => "a string argument was not valid UTF-8\0",
            LAZY_BIND_LOST_IN_FORK => "the entry was lost in a fork\0",
            LAZY_BIND_RESOLVER_PANICKED => "the resolution waited for panicked\0",
            LAZY_BIND_POLICY_SYNTAX => "the policy text is malformed\0",
            LAZY_BIND_IO => "a file could not be read or written\0",
            LAZY_BIND_INVALID_IMPORT => "the import statement cannot be deferred as given\0",
        }
    }

    /// The status with number `code`, if there is one.
    fn from_u32(code: u32) -> Option<lazy_bind_result> {
        use lazy_bind_result::*;
        [
            LAZY_BIND_OK,
            LAZY_BIND_NULL_ARGUMENT,
            LAZY_BIND_INVALID_ARGUMENT,
            LAZY_BIND_STALE_HANDLE,
            LAZY_BIND_RESOLVER_FAILED,
            LAZY_BIND_CYCLE,
            LAZY_BIND_DEADLOCK,
            LAZY_BIND_DISCARDED,
            LAZY_BIND_PANIC,
            LAZY_BIND_INVALID_UTF8,
            LAZY_BIND_LOST_IN_FORK,
            LAZY_BIND_RESOLVER_PANICKED,
            LAZY_BIND_POLICY_SYNTAX,
            LAZY_BIND_IO,
            LAZY_BIND_INVALID_IMPORT,
        ]
        .into_iter()
        .find(|status| *status as u32 == code)
    }
}

/// A static, NUL-terminated English message for a status.
///
/// Takes the status as a plain number so that any value, even one this
/// version does not know, is safe to pass: unknown numbers get
/// "unknown lazy_bind status".
///
/// # Thread-safety
/// Safe to call from any thread; the string lives for the whole process.
#[no_mangle]
pub extern "C" fn lazy_bind_result_message(result: u32) -> *const c_char {
    let message = match lazy_bind_result::from_u32(result) {
        Some(status) => status.message(),
        None => "unknown lazy_bind status\0",
    };
    message.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::lazy_bind_result::*;
    use super::*;

    /// The numbers are ABI: this test fails if one is ever changed.
    #[test]
    fn status_numbers_never_change() {
        let pinned = [
            (LAZY_BIND_OK, 0),
            (LAZY_BIND_NULL_ARGUMENT, 1),
            (LAZY_BIND_INVALID_ARGUMENT, 2),
            (LAZY_BIND_STALE_HANDLE, 3),
            (LAZY_BIND_RESOLVER_FAILED, 4),
            (LAZY_BIND_CYCLE, 5),
            (LAZY_BIND_DEADLOCK, 6),
            (LAZY_BIND_DISCARDED, 7),
            (LAZY_BIND_PANIC, 8),
            (LAZY_BIND_INVALID_UTF8, 9),
            (LAZY_BIND_LOST_IN_FORK, 10),
            (LAZY_BIND_RESOLVER_PANICKED, 11),
            (LAZY_BIND_POLICY_SYNTAX, 12),
            (LAZY_BIND_IO, 13),
            (LAZY_BIND_INVALID_IMPORT, 14),
        ];
        for (status, number) in pinned {
            assert_eq!(status as u32, number, "{status:?} was renumbered");
            assert_eq!(lazy_bind_result::from_u32(number), Some(status));
        }
        assert_eq!(lazy_bind_result::from_u32(pinned.len() as u32), None);
    }

    #[test]
    fn every_status_has_a_distinct_terminated_message() {
        let mut seen = std::collections::HashSet::new();
        for code in 0..=15 {
            // SAFETY: the function returns a static NUL-terminated string.
            let message = unsafe { std::ffi::CStr::from_ptr(lazy_bind_result_message(code)) };
            assert!(
                seen.insert(message.to_owned()),
                "duplicate message {message:?}"
            );
        }
        // SAFETY: as above.
        let unknown = unsafe { std::ffi::CStr::from_ptr(lazy_bind_result_message(u32::MAX)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown lazy_bind status");
    }
}
