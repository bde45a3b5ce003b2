//! Owned error objects: an engine [`Error`] with its strings ready for C.

use std::ffi::{c_char, c_void, CString};
use std::fmt;

use super::boundary;
use super::lazy_bind_result::{self, *};
use super::nested;
use super::runtime::ForeignValue;
use crate::{Error, LinkKind, Site};

/// What a C resolver reported when it failed: its status and, optionally,
/// the runtime's own error object (an exception), owned until the last copy
/// of the engine error holding it is dropped.
pub(crate) struct ForeignError {
    pub(crate) status: u32,
    pub(crate) runtime_error: Option<ForeignValue>,
    /// The runtime's description of `runtime_error` (its describe hook),
    /// taken when the failure happened.
    pub(crate) description: Option<String>,
}

impl ForeignError {
    /// A hook's failure with `status` and the runtime's error object, which
    /// the runtime describes now, on the failing thread.
    pub(crate) fn new(status: u32, runtime_error: Option<ForeignValue>) -> ForeignError {
        let description = runtime_error.as_ref().and_then(ForeignValue::describe);
        ForeignError {
            status,
            runtime_error,
            description,
        }
    }
}

impl fmt::Debug for ForeignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignError")
            .field("status", &self.status)
            .field(
                "runtime_error",
                &self.runtime_error.as_ref().map(|value| value.object),
            )
            .field("description", &self.description)
            .finish()
    }
}

impl fmt::Display for ForeignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.description, &self.runtime_error) {
            (Some(description), _) => f.write_str(description),
            (None, Some(_)) => write!(
                f,
                "the runtime's resolver returned status {} with a runtime error object",
                self.status
            ),
            (None, None) => write!(f, "the runtime's resolver returned status {}", self.status),
        }
    }
}

impl std::error::Error for ForeignError {}

/// A C string made from Rust text; an interior NUL (possible only in
/// messages) is written as `\0` so the text is never cut short.
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).expect("interior NULs were escaped")
}

/// A site as C strings.
struct CSite {
    file: CString,
    line: u32,
}

impl CSite {
    fn new(site: &Site) -> CSite {
        CSite {
            file: c_string(site.file()),
            line: site.line(),
        }
    }
}

/// One link of a cycle or deadlock chain, as C strings.
struct CLink {
    name: CString,
    site: CSite,
    owner: u64,
    kind: LinkKind,
}

/// An error from the engine, owned by the caller and freed with
/// `lazy_bind_error_free`.
///
/// Every string an accessor returns is owned by the error object and lives
/// until it is freed.
///
/// # Thread-safety
/// An error object may be read from several threads at once and freed on any
/// thread (freeing may call the runtime's `release` hook for the runtime
/// error object it holds).
pub struct lazy_bind_error {
    status: lazy_bind_result,
    message: CString,
    declaration: Option<(CString, CSite)>,
    access: Option<CSite>,
    chain: Vec<CLink>,
    /// Keeps the runtime error object (if any) alive.
    error: Error,
}

impl lazy_bind_error {
    /// Converts an engine error, preparing every string C may ask for.
    pub(crate) fn new(error: Error) -> lazy_bind_error {
        lazy_bind_error {
            status: lazy_bind_result::of_error(&error),
            message: c_string(&error.to_string()),
            declaration: error
                .declaration()
                .map(|declaration| (c_string(declaration.name()), CSite::new(declaration.site()))),
            access: error.access_site().map(CSite::new),
            chain: error
                .chain()
                .map(|chain| {
                    chain
                        .links()
                        .iter()
                        .map(|link| CLink {
                            name: c_string(link.declaration.name()),
                            site: CSite::new(link.declaration.site()),
                            owner: link.owner.map_or(0, |owner| owner.as_u64()),
                            kind: link.kind,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            error,
        }
    }

    /// The resolver's own report, for a resolver failure from C.
    fn foreign(&self) -> Option<&ForeignError> {
        innermost_foreign(&self.error)
    }
}

/// The C resolver's report behind `error`. A resolver that resolved another
/// binding and failed with that binding's error (an import of an attribute
/// that is itself lazy) nests engine errors: the report is the innermost
/// one, where the runtime's own failure is.
fn innermost_foreign(error: &Error) -> Option<&ForeignError> {
    match error {
        Error::ResolverFailed { source, .. } => source
            .downcast_ref::<ForeignError>()
            .or_else(|| source.as_engine_error().and_then(innermost_foreign)),
        _ => None,
    }
}

/// Writes an owned error object for `error` to the optional `error_out` and
/// returns the error's status. The error is also remembered for the C
/// callback in progress on this thread, if any, which may pass it up by
/// returning that status (see [`nested`](super::nested)).
///
/// # Safety
/// `error_out` must be NULL or valid for writes.
pub(crate) unsafe fn report(
    error: Error,
    error_out: *mut *mut lazy_bind_error,
) -> lazy_bind_result {
    let status = lazy_bind_result::of_error(&error);
    nested::note(&error);
    if !error_out.is_null() {
        let object = Box::into_raw(Box::new(lazy_bind_error::new(error)));
        // SAFETY: non-null, and the caller guarantees it is writable.
        unsafe { error_out.write(object) };
    }
    status
}

/// Runs an accessor on a borrowed error; `fallback` for NULL or a panic.
///
/// # Safety
/// `error` must be NULL or a live error object.
unsafe fn with_error<T: Copy>(
    error: *const lazy_bind_error,
    fallback: T,
    body: impl FnOnce(&lazy_bind_error) -> T,
) -> T {
    boundary::value(fallback, || {
        // SAFETY: forwarded to the caller.
        match unsafe { error.as_ref() } {
            Some(error) => body(error),
            None => fallback,
        }
    })
}

/// Frees an error object and sets `*error` to NULL.
///
/// Does nothing if `error` or `*error` is NULL, so freeing twice through the
/// same variable is harmless. (Freeing through two copies of the pointer is
/// a double free, as with `free`.)
///
/// # Safety
/// `error` must be NULL or point to NULL or to an error object returned by
/// lazy_bind and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_free(error: *mut *mut lazy_bind_error) {
    // SAFETY: the caller guarantees `error` is NULL or writable and
    // holds NULL or a live object of ours (all made by `Box::into_raw`).
    unsafe { boundary::free_box(error) }
}

/// The error's status: which kind of failure it is (never `LAZY_BIND_OK`,
/// except for a NULL `error`).
///
/// # Safety
/// `error` must be NULL or a live error object.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_kind(error: *const lazy_bind_error) -> lazy_bind_result {
    // SAFETY: forwarded to the caller.
    unsafe { with_error(error, LAZY_BIND_OK, |error| error.status) }
}

/// The full message, naming the entry, its declaration and access sites and,
/// for a cycle or deadlock, the whole chain. Owned by the error; NULL for a
/// NULL `error`.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_message(error: *const lazy_bind_error) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe { with_error(error, std::ptr::null(), |error| error.message.as_ptr()) }
}

/// The name of the entry the error is about. Owned by the error; NULL when
/// there is none (stale handle, lost in fork) or for a NULL `error`.
///
/// For a cycle or deadlock it is the chain's last link. For a cycle, that is
/// the entry whose access re-entered it. For a deadlock, it is what the
/// thread that detected the deadlock holds and the cycle of waits leads back
/// to: an entry that thread is resolving, or a runtime lock it holds (the
/// name given to `lazy_bind_runtime_lock_new`). It is not the entry whose
/// access would have blocked: that is link 1 of the chain (link 0 when the
/// detecting thread was resolving nothing).
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_declaration_name(
    error: *const lazy_bind_error,
) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, std::ptr::null(), |error| {
            error
                .declaration
                .as_ref()
                .map_or(std::ptr::null(), |(name, _)| name.as_ptr())
        })
    }
}

/// The file where that entry was declared. Owned by the error; NULL when
/// there is no entry.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_declaration_file(
    error: *const lazy_bind_error,
) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, std::ptr::null(), |error| {
            error
                .declaration
                .as_ref()
                .map_or(std::ptr::null(), |(_, site)| site.file.as_ptr())
        })
    }
}

/// The line where that entry was declared; 0 when unknown or no entry.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_declaration_line(error: *const lazy_bind_error) -> u32 {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, 0, |error| {
            error.declaration.as_ref().map_or(0, |(_, site)| site.line)
        })
    }
}

/// The file of the access during which the error happened. Owned by the
/// error; NULL when the access site is unknown.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_access_file(
    error: *const lazy_bind_error,
) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, std::ptr::null(), |error| {
            error
                .access
                .as_ref()
                .map_or(std::ptr::null(), |site| site.file.as_ptr())
        })
    }
}

/// The line of that access; 0 when unknown.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_access_line(error: *const lazy_bind_error) -> u32 {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, 0, |error| {
            error.access.as_ref().map_or(0, |site| site.line)
        })
    }
}

/// The number of links in a cycle or deadlock chain; 0 for other errors.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_chain_len(error: *const lazy_bind_error) -> usize {
    // SAFETY: forwarded to the caller.
    unsafe { with_error(error, 0, |error| error.chain.len()) }
}

/// The entry name of chain link `index` (`0 <= index < chain_len`). Owned
/// by the error; NULL when `index` is out of range.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_chain_name(
    error: *const lazy_bind_error,
    index: usize,
) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, std::ptr::null(), |error| {
            error
                .chain
                .get(index)
                .map_or(std::ptr::null(), |link| link.name.as_ptr())
        })
    }
}

/// The declaration file of chain link `index`. Owned by the error; NULL
/// when `index` is out of range.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_chain_file(
    error: *const lazy_bind_error,
    index: usize,
) -> *const c_char {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, std::ptr::null(), |error| {
            error
                .chain
                .get(index)
                .map_or(std::ptr::null(), |link| link.site.file.as_ptr())
        })
    }
}

/// The declaration line of chain link `index`; 0 when unknown or out of
/// range.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_chain_line(
    error: *const lazy_bind_error,
    index: usize,
) -> u32 {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, 0, |error| {
            error.chain.get(index).map_or(0, |link| link.site.line)
        })
    }
}

/// The thread (see `lazy_bind_thread_key`) resolving chain link `index`;
/// 0 when unknown or out of range.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_chain_thread(
    error: *const lazy_bind_error,
    index: usize,
) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, 0, |error| {
            error.chain.get(index).map_or(0, |link| link.owner)
        })
    }
}

/// Whether chain link `index` is one of the runtime's own locks
/// (`lazy_bind_runtime_lock`, named by `chain_name`, held by
/// `chain_thread`) rather than an entry being resolved; false when `index`
/// is out of range.
///
/// In a deadlock found by `lazy_bind_external_wait_begin`, the links are:
/// the entry the calling thread is resolving (if any), the lock it was
/// about to wait for, then each wait that leads back to the calling
/// thread. A runtime that detects cycles of its own locks itself can tell
/// from this whether any entry lies on the cycle.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_chain_is_runtime_lock(
    error: *const lazy_bind_error,
    index: usize,
) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, false, |error| {
            error
                .chain
                .get(index)
                .is_some_and(|link| link.kind == LinkKind::RuntimeLock)
        })
    }
}

/// For `LAZY_BIND_RESOLVER_FAILED` from a C resolver: the status the
/// resolver returned (the innermost one, when the failure came through
/// other lazy bindings). 0 (`LAZY_BIND_OK`) for every other error.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_resolver_status(error: *const lazy_bind_error) -> u32 {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, 0, |error| {
            error.foreign().map_or(0, |foreign| foreign.status)
        })
    }
}

/// For `LAZY_BIND_RESOLVER_FAILED`: the runtime error object the resolver
/// handed back (its exception), or NULL if it gave none. When the failure
/// came through other lazy bindings (a resolver resolved a binding that
/// failed), the innermost object: the runtime's original error.
///
/// Borrowed: valid while the error object lives. Retain it to keep it
/// longer. Every thread that waited on the failed attempt gets the same
/// object; the engine releases it when the last error holding it is freed.
///
/// # Safety
/// `error` must be NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_runtime_value(
    error: *const lazy_bind_error,
) -> *mut c_void {
    // SAFETY: forwarded to the caller.
    unsafe {
        with_error(error, std::ptr::null_mut(), |error| {
            error
                .foreign()
                .and_then(|foreign| foreign.runtime_error.as_ref())
                .map_or(std::ptr::null_mut(), |value| value.object)
        })
    }
}

/// Every failure of one `lazy_bind_resolve_all_pending` call, owned by the
/// caller and freed with `lazy_bind_error_list_free`.
///
/// # Thread-safety
/// As for `lazy_bind_error`.
pub struct lazy_bind_error_list {
    errors: Vec<lazy_bind_error>,
}

impl lazy_bind_error_list {
    /// Converts engine errors.
    pub(crate) fn new(errors: Vec<Error>) -> lazy_bind_error_list {
        lazy_bind_error_list {
            errors: errors.into_iter().map(lazy_bind_error::new).collect(),
        }
    }
}

/// The number of errors in the list; 0 for NULL.
///
/// # Safety
/// `list` must be NULL or a live error list.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_list_len(list: *const lazy_bind_error_list) -> usize {
    boundary::value(0, || {
        // SAFETY: forwarded to the caller.
        unsafe { list.as_ref() }.map_or(0, |list| list.errors.len())
    })
}

/// Error `index` of the list (`0 <= index < len`), borrowed from the list:
/// do not free it. NULL when `index` is out of range or `list` is NULL.
///
/// # Safety
/// `list` must be NULL or a live error list.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_list_get(
    list: *const lazy_bind_error_list,
    index: usize,
) -> *const lazy_bind_error {
    boundary::value(std::ptr::null(), || {
        // SAFETY: forwarded to the caller.
        unsafe { list.as_ref() }
            .and_then(|list| list.errors.get(index))
            .map_or(std::ptr::null(), |error| error as *const lazy_bind_error)
    })
}

/// Frees an error list (and every error in it) and sets `*list` to NULL.
///
/// Does nothing if `list` or `*list` is NULL, so freeing twice through the
/// same variable is harmless.
///
/// # Safety
/// `list` must be NULL or point to NULL or to a list returned by lazy_bind
/// and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_error_list_free(list: *mut *mut lazy_bind_error_list) {
    // SAFETY: the caller guarantees `list` is NULL or writable and
    // holds NULL or a live object of ours (all made by `Box::into_raw`).
    unsafe { boundary::free_box(list) }
}
