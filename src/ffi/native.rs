//! Native lazy binding: shared libraries and their symbols as deferred
//! entries, loaded (`dlopen`) and looked up (`dlsym`) on first access.

use std::ffi::{c_char, c_void};

use super::boundary::{self, arg, optional_str_arg, out, str_arg};
use super::entry::declaration;
use super::error::{lazy_bind_error, report};
use super::lazy_bind_result;
use crate::native::{LibraryHandle, NativeBinder, SymbolHandle};
use crate::{Handle, Site};

/// Deferred shared libraries and symbols: create with
/// `lazy_bind_native_new`, free with `lazy_bind_native_free`.
///
/// Library and symbol entries live in two tables of their own, so their
/// handles are not interchangeable with each other nor with engine handles:
/// a handle of the wrong kind is `LAZY_BIND_STALE_HANDLE`.
///
/// A library stays loaded while the binder lives (once it is loaded), so a
/// symbol address from `lazy_bind_native_symbol` may be used until
/// `lazy_bind_native_free`; after that the library may be unloaded.
///
/// # Thread-safety
/// Every function taking a `const lazy_bind_native *` may be called from
/// any number of threads at once. Concurrent first accesses load a library
/// (and look up a symbol) once; the other threads wait and share the
/// result.
pub struct lazy_bind_native {
    binder: NativeBinder,
}

/// Creates a binder (failures are retried at the next access) and writes
/// it, owned, to `*native_out`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `native_out`.
///
/// # Safety
/// `native_out` must be NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_native_new(
    native_out: *mut *mut lazy_bind_native,
) -> lazy_bind_result {
    boundary::status(|| {
        let native_out = out(native_out)?;
        let native = Box::into_raw(Box::new(lazy_bind_native {
            binder: NativeBinder::new(),
        }));
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { native_out.write(native) };
        Ok(())
    })
}

/// Frees a binder and sets `*native` to NULL. Loaded libraries that nothing
/// else holds are unloaded (`dlclose`): symbol addresses from this binder
/// must not be used afterwards.
///
/// Does nothing if `native` or `*native` is NULL, so freeing twice through
/// the same variable is harmless.
///
/// # Safety
/// `native` must be NULL or point to NULL or to a binder from
/// `lazy_bind_native_new` not freed yet. No other thread may be using the
/// binder.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_native_free(native: *mut *mut lazy_bind_native) {
    // SAFETY: the caller guarantees `native` is NULL or writable and
    // holds NULL or a live object of ours (all made by `Box::into_raw`).
    unsafe { boundary::free_box(native) }
}

/// The access site from C arguments (`file` NULL means unknown).
///
/// # Safety
/// `file` must be NULL or NUL-terminated.
unsafe fn access(file: *const c_char, line: u32) -> Result<Option<Site>, lazy_bind_result> {
    // SAFETY: forwarded to the caller.
    Ok(unsafe { optional_str_arg(file) }?.map(|file| Site::new(file, line)))
}

/// Defers loading the shared library at `path` until it, or a symbol of it,
/// is first accessed; writes the library entry's handle to `*library_out`.
/// The entry is named `name` and declared at `file:line` (`file` may be
/// NULL: unknown). Nothing is loaded or even checked now: a missing library
/// fails at access. `path` goes to `dlopen` unchanged (`RTLD_LAZY |
/// RTLD_LOCAL`), so a bare file name is searched for the way the loader
/// does. The strings are copied.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `native`, `path`, `name` or
/// `library_out`; `LAZY_BIND_INVALID_UTF8`.
///
/// # Safety
/// `native` must be NULL or a live binder; the strings NULL or
/// NUL-terminated; `library_out` NULL or writable. Loading the library runs
/// its initialisers (and unloading it, its finalisers): the caller
/// guarantees that running them is sound on whichever thread first accesses
/// the entry, at whatever time, and that the file found at `path` then is
/// the library the caller vetted.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_native_defer_library(
    native: *const lazy_bind_native,
    path: *const c_char,
    name: *const c_char,
    file: *const c_char,
    line: u32,
    library_out: *mut Handle,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live binder.
        let native = unsafe { arg(native) }?;
        let library_out = out(library_out)?;
        // SAFETY: the caller guarantees NULL or NUL-terminated strings.
        let path = unsafe { str_arg(path) }?;
        // SAFETY: as above.
        let declaration = unsafe { declaration(name, file, line) }?;
        // SAFETY: the caller guarantees that loading the library is sound at
        // any access, on any thread (this function's contract).
        let library = unsafe { native.binder.defer_library(path, declaration) };
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { library_out.write(library.0) };
        Ok(())
    })
}

/// Defers looking up `symbol` in `library` (a handle from
/// `lazy_bind_native_defer_library`) until first access; writes the symbol
/// entry's handle to `*symbol_out`. The entry is named `name` and declared
/// at `file:line` (`file` may be NULL). That first access loads the library
/// if no one has yet. The strings are copied.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `native`, `symbol`, `name` or
/// `symbol_out`; `LAZY_BIND_INVALID_UTF8`; `LAZY_BIND_STALE_HANDLE` if
/// `library` names no live library entry of this binder. An unknown symbol
/// is reported at access, not here.
///
/// # Safety
/// `native` must be NULL or a live binder; the strings NULL or
/// NUL-terminated; `symbol_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_native_defer_symbol(
    native: *const lazy_bind_native,
    library: Handle,
    symbol: *const c_char,
    name: *const c_char,
    file: *const c_char,
    line: u32,
    symbol_out: *mut Handle,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live binder.
        let native = unsafe { arg(native) }?;
        let symbol_out = out(symbol_out)?;
        // SAFETY: the caller guarantees NULL or NUL-terminated strings.
        let symbol = unsafe { str_arg(symbol) }?;
        // SAFETY: as above.
        let declaration = unsafe { declaration(name, file, line) }?;
        let handle = native
            .binder
            .defer_symbol(LibraryHandle(library), symbol, declaration)
            .map_err(|error| lazy_bind_result::of_error(&error))?;
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { symbol_out.write(handle.0) };
        Ok(())
    })
}

/// Resolves a symbol entry (loading its library and looking the symbol up
/// on first access, or waiting for the thread that does) and writes its
/// address, as `dlsym` returned it, to `*address_out`.
/// `access_file:access_line` is where the access happened (`access_file`
/// may be NULL); it appears in errors and traces.
///
/// The address stays valid while the binder lives. Cast it to the symbol's
/// real type to call or read it.
///
/// On failure, if `error_out` is not NULL and the binder reported the
/// failure, writes an owned error object there (free with
/// `lazy_bind_error_free`); its message names the symbol, the library path
/// and the loader's own message.
///
/// # Errors
/// `LAZY_BIND_RESOLVER_FAILED` for a library that cannot be loaded or a
/// symbol that cannot be found (retried at the next access);
/// `LAZY_BIND_STALE_HANDLE` for a handle that names no symbol entry of this
/// binder; the other statuses of `lazy_bind_resolve`; besides the argument
/// checks.
///
/// # Safety
/// `native` must be NULL or a live binder; `access_file` NULL or
/// NUL-terminated; the out-parameters NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_native_symbol(
    native: *const lazy_bind_native,
    symbol: Handle,
    access_file: *const c_char,
    access_line: u32,
    address_out: *mut *mut c_void,
    error_out: *mut *mut lazy_bind_error,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live binder.
        let native = unsafe { arg(native) }?;
        let address_out = out(address_out)?;
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let access = unsafe { access(access_file, access_line) }?;
        let symbol = SymbolHandle(symbol);
        let result = match &access {
            Some(access) => native.binder.symbol_at(symbol, access),
            None => native.binder.symbol(symbol),
        };
        match result {
            Ok(symbol) => {
                // SAFETY: checked non-null; the caller guarantees writable.
                unsafe { address_out.write(symbol.address().cast_mut()) };
                Ok(())
            }
            // SAFETY: the caller guarantees NULL or writable.
            Err(error) => Err(unsafe { report(error, error_out) }),
        }
    })
}

/// Resolves a library entry: loads the library now if no one has yet (for
/// a runtime that wants to load an extension module before looking up any
/// symbol). `access_file:access_line` is where the access happened
/// (`access_file` may be NULL).
///
/// On failure, if `error_out` is not NULL and the binder reported the
/// failure, writes an owned error object there (free with
/// `lazy_bind_error_free`); its message names the path and the loader's own
/// message.
///
/// # Errors
/// `LAZY_BIND_RESOLVER_FAILED` for a library that cannot be loaded (retried
/// at the next access); `LAZY_BIND_STALE_HANDLE` for a handle that names no
/// library entry of this binder; the other statuses of `lazy_bind_resolve`;
/// besides the argument checks.
///
/// # Safety
/// `native` must be NULL or a live binder; `access_file` NULL or
/// NUL-terminated; `error_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_native_load(
    native: *const lazy_bind_native,
    library: Handle,
    access_file: *const c_char,
    access_line: u32,
    error_out: *mut *mut lazy_bind_error,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live binder.
        let native = unsafe { arg(native) }?;
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let access = unsafe { access(access_file, access_line) }?;
        let library = LibraryHandle(library);
        let result = match &access {
            Some(access) => native.binder.library_at(library, access),
            None => native.binder.library(library),
        };
        match result {
            Ok(_) => Ok(()),
            // SAFETY: the caller guarantees NULL or writable.
            Err(error) => Err(unsafe { report(error, error_out) }),
        }
    })
}
