//! Import bindings: Python's import semantics over an engine, carried out
//! through the runtime's import hooks.

use std::ffi::{c_char, c_void};
use std::fmt::Write;
use std::mem::{size_of, MaybeUninit};
use std::sync::Arc;

use super::boundary::{self, arg, optional_str_arg, out, str_arg, write_optional};
use super::engine::lazy_bind_engine;
use super::error::c_string;
use super::lazy_bind_result::{self, *};
use super::nested;
use super::runtime::{ForeignValue, Runtime};
use super::string::{owned, write_optional_owned};
use crate::imports::{
    enter_guarded_import, leave_guarded_import, resolve_name, ImportError, ImportRuntime,
    ImportSpec, Importer, NamespaceId,
};
use crate::{Handle, ResolveError, Site};

/// Imports the module with the absolute name `name` (running its body if it
/// is not loaded yet). `fromlist` holds the `fromlist_len` names the
/// statement asks for (NULL when empty). On success return `LAZY_BIND_OK`
/// and write a NEW reference to the module to `*module_out`; on failure
/// return another status and optionally write an owned runtime error object
/// (the exception) to `*runtime_error_out`.
pub type lazy_bind_import_module_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        name: *const c_char,
        fromlist: *const *const c_char,
        fromlist_len: usize,
        module_out: *mut *mut c_void,
        runtime_error_out: *mut *mut c_void,
    ) -> u32,
>;

/// Reads attribute `name` of `module` (borrowed). On success return
/// `LAZY_BIND_OK` and write a NEW reference to `*value_out`, or leave it
/// NULL when there is no such attribute. A lazy placeholder is returned as
/// it is (see `as_lazy`). On failure (reading ran code that failed) return
/// another status, optionally with an owned runtime error object.
pub type lazy_bind_get_attr_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        module: *mut c_void,
        name: *const c_char,
        value_out: *mut *mut c_void,
        runtime_error_out: *mut *mut c_void,
    ) -> u32,
>;

/// Binds the just-imported submodule `value` as attribute `name` of its
/// parent `module` (both borrowed) only if the parent has no attribute
/// `name` yet. Returns `LAZY_BIND_OK`, or another status (optionally with an
/// owned runtime error object) if setting it failed.
pub type lazy_bind_set_attr_if_absent_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        module: *mut c_void,
        name: *const c_char,
        value: *mut c_void,
        runtime_error_out: *mut *mut c_void,
    ) -> u32,
>;

/// A NEW reference to the module `name` if it is loaded and fully
/// initialised, without importing anything; NULL otherwise (also while its
/// body is still running).
pub type lazy_bind_loaded_module_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, name: *const c_char) -> *mut c_void>;

/// Whether the module `name` can be found, without running its body.
pub type lazy_bind_can_find_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, name: *const c_char) -> bool>;

/// If `value` (borrowed) is a lazy placeholder of the same engine, writes
/// its handle to `*handle_out` and returns true; returns false for an
/// ordinary value.
pub type lazy_bind_as_lazy_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        value: *mut c_void,
        handle_out: *mut Handle,
    ) -> bool,
>;

/// The runtime's import hooks, passed to `lazy_bind_importer_new`.
///
/// Versioned and append-only like `lazy_bind_runtime_hooks`: set `size` to
/// `sizeof(lazy_bind_import_hooks)`; fields past a smaller `size` count as
/// NULL. The smallest `size` accepted is that of the first version, `size`
/// through `as_lazy`: eight pointer-sized fields, 64 bytes on 64-bit
/// targets. `import_module`, `get_attr` and `set_attr_if_absent` are required;
/// without `loaded_module` nothing counts as loaded (hydrating does
/// nothing), without `can_find` every module counts as found, without
/// `as_lazy` no value is a placeholder.
///
/// Values and runtime error objects are the engine's runtime values: the
/// engine's `retain` and `release` hooks manage the references the import
/// hooks hand over.
///
/// # Thread-safety
/// Every hook may be called from any thread that resolves a binding,
/// several at once, with no engine lock held, and may call back into the
/// engine. A hook that fails with the status of a lazy_bind call that failed
/// during it, and hands back no runtime error object, passes that call's
/// error up unchanged, as a resolver does (see `lazy_bind_resolve_fn`).
/// Strings are borrowed for the call only. No hook may unwind.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct lazy_bind_import_hooks {
    /// `sizeof(lazy_bind_import_hooks)` as the caller compiled it.
    pub size: usize,
    /// Passed as the first argument to every hook.
    pub userdata: *mut c_void,
    /// Imports a module (required).
    pub import_module: lazy_bind_import_module_fn,
    /// Reads an attribute (required).
    pub get_attr: lazy_bind_get_attr_fn,
    /// Binds a submodule onto its parent unless taken (required).
    pub set_attr_if_absent: lazy_bind_set_attr_if_absent_fn,
    /// A loaded module, without importing (optional).
    pub loaded_module: lazy_bind_loaded_module_fn,
    /// Whether a module can be found (optional).
    pub can_find: lazy_bind_can_find_fn,
    /// The handle of a lazy placeholder (optional).
    pub as_lazy: lazy_bind_as_lazy_fn,
}

/// The size of the first version of [`lazy_bind_import_hooks`] (up to and
/// including `as_lazy`); smaller `size` fields are rejected. Fixed for
/// good: it must not grow when hooks are appended.
const IMPORT_HOOKS_V1_SIZE: usize =
    std::mem::offset_of!(lazy_bind_import_hooks, as_lazy) + size_of::<lazy_bind_as_lazy_fn>();

/// The import hooks as the importer keeps them, with the engine's runtime
/// for references.
struct ForeignImports {
    hooks: lazy_bind_import_hooks,
    runtime: Arc<Runtime>,
}

// SAFETY: the header requires every hook to be callable from any thread,
// concurrently, with its userdata; nothing here dereferences the pointers.
unsafe impl Send for ForeignImports {}
// SAFETY: as above.
unsafe impl Sync for ForeignImports {}

impl ForeignImports {
    /// Copies the caller's hooks, reading only the first `size` bytes.
    ///
    /// # Safety
    /// `hooks` must be non-null and valid for reads of its own `size` bytes.
    unsafe fn copy_from(
        hooks: *const lazy_bind_import_hooks,
        runtime: Arc<Runtime>,
    ) -> Result<ForeignImports, lazy_bind_result> {
        // SAFETY: `size` is the first field, present in every version.
        let size = unsafe { std::ptr::addr_of!((*hooks).size).read_unaligned() };
        if size < IMPORT_HOOKS_V1_SIZE {
            return Err(LAZY_BIND_INVALID_ARGUMENT);
        }
        let mut copy = MaybeUninit::<lazy_bind_import_hooks>::zeroed();
        let known = size.min(size_of::<lazy_bind_import_hooks>());
        // SAFETY: the caller guarantees `size >= known` readable bytes; the
        // destination has room for the whole struct; they do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                hooks.cast::<u8>(),
                copy.as_mut_ptr().cast::<u8>(),
                known,
            );
        }
        // SAFETY: every field is valid when zeroed (a size, a pointer and
        // optional function pointers), and the copied prefix holds the
        // caller's valid fields.
        let hooks = unsafe { copy.assume_init() };
        if hooks.import_module.is_none() || hooks.get_attr.is_none() {
            return Err(LAZY_BIND_INVALID_ARGUMENT);
        }
        if hooks.set_attr_if_absent.is_none() {
            return Err(LAZY_BIND_INVALID_ARGUMENT);
        }
        Ok(ForeignImports { hooks, runtime })
    }

    /// Takes over a reference a hook handed to the engine (NULL: none).
    fn adopt(&self, object: *mut c_void) -> Option<ForeignValue> {
        (!object.is_null()).then(|| ForeignValue::adopt(object, Arc::clone(&self.runtime)))
    }

    /// The error for a hook that returned `status`, given the error a nested
    /// lazy_bind call reported during it (see [`nested`]).
    fn failure(
        &self,
        status: u32,
        runtime_error: *mut c_void,
        passed_up: Option<crate::Error>,
    ) -> ResolveError {
        nested::failure(status, self.adopt(runtime_error), passed_up)
    }
}

impl ImportRuntime for ForeignImports {
    type Value = ForeignValue;

    fn import_module(&self, name: &str, fromlist: &[&str]) -> Result<ForeignValue, ResolveError> {
        let import = self.hooks.import_module.expect("checked at creation");
        let name = c_string(name);
        let names: Vec<_> = fromlist.iter().map(|name| c_string(name)).collect();
        let pointers: Vec<*const c_char> = names.iter().map(|name| name.as_ptr()).collect();
        let array = if pointers.is_empty() {
            std::ptr::null()
        } else {
            pointers.as_ptr()
        };
        let mut module = std::ptr::null_mut();
        let mut error = std::ptr::null_mut();
        let (status, passed_up) = nested::call(|| {
            // SAFETY: the runtime gave this hook for exactly this call; the
            // strings and the array live until it returns.
            unsafe {
                import(
                    self.hooks.userdata,
                    name.as_ptr(),
                    array,
                    pointers.len(),
                    &mut module,
                    &mut error,
                )
            }
        });
        match (status, self.adopt(module)) {
            (0, Some(module)) => Ok(module),
            (0, None) => Err(ResolveError::msg(
                "the runtime's import_module hook returned LAZY_BIND_OK without a module",
            )),
            (status, module) => {
                // A module written despite the failure is released, not leaked.
                drop(module);
                Err(self.failure(status, error, passed_up))
            }
        }
    }

    fn get_attr(
        &self,
        module: &ForeignValue,
        name: &str,
    ) -> Result<Option<ForeignValue>, ResolveError> {
        let get_attr = self.hooks.get_attr.expect("checked at creation");
        let name = c_string(name);
        let mut value = std::ptr::null_mut();
        let mut error = std::ptr::null_mut();
        let (status, passed_up) = nested::call(|| {
            // SAFETY: the runtime gave this hook for exactly this call;
            // `module` is a live reference the engine holds.
            unsafe {
                get_attr(
                    self.hooks.userdata,
                    module.object,
                    name.as_ptr(),
                    &mut value,
                    &mut error,
                )
            }
        });
        let value = self.adopt(value);
        if status == 0 {
            Ok(value)
        } else {
            drop(value);
            Err(self.failure(status, error, passed_up))
        }
    }

    fn set_attr_if_absent(
        &self,
        module: &ForeignValue,
        name: &str,
        value: &ForeignValue,
    ) -> Result<(), ResolveError> {
        let set_attr = self.hooks.set_attr_if_absent.expect("checked at creation");
        let name = c_string(name);
        let mut error = std::ptr::null_mut();
        let (status, passed_up) = nested::call(|| {
            // SAFETY: the runtime gave this hook for exactly this call; both
            // values are live references the engine holds.
            unsafe {
                set_attr(
                    self.hooks.userdata,
                    module.object,
                    name.as_ptr(),
                    value.object,
                    &mut error,
                )
            }
        });
        if status == 0 {
            Ok(())
        } else {
            Err(self.failure(status, error, passed_up))
        }
    }

    fn loaded_module(&self, name: &str) -> Option<ForeignValue> {
        let loaded = self.hooks.loaded_module?;
        let name = c_string(name);
        // SAFETY: the runtime gave this hook for exactly this call.
        self.adopt(unsafe { loaded(self.hooks.userdata, name.as_ptr()) })
    }

    fn can_find(&self, name: &str) -> bool {
        let Some(can_find) = self.hooks.can_find else {
            return true;
        };
        let name = c_string(name);
        // SAFETY: the runtime gave this hook for exactly this call.
        unsafe { can_find(self.hooks.userdata, name.as_ptr()) }
    }

    fn as_lazy(&self, value: &ForeignValue) -> Option<Handle> {
        let as_lazy = self.hooks.as_lazy?;
        let mut handle = Handle::NULL;
        // SAFETY: the runtime gave this hook for exactly this call; `value`
        // is a live reference the engine holds.
        unsafe { as_lazy(self.hooks.userdata, value.object, &mut handle) }.then_some(handle)
    }
}

/// Turns import statements into lazy bindings of one engine and resolves
/// them through the runtime's import hooks: create with
/// `lazy_bind_importer_new`, free with `lazy_bind_importer_free`.
///
/// Its entries live in the engine: access them with `lazy_bind_resolve`,
/// `lazy_bind_get_fast` and the other engine functions. The runtime stores a
/// placeholder for each returned handle under the bound name and, after an
/// access, replaces the slot with the value only if it still holds that
/// placeholder (the rebind contract of the Rust `lazy_bind::imports`
/// module).
///
/// # Thread-safety
/// Every function taking a `const lazy_bind_importer *` may be called from
/// any number of threads at once.
pub struct lazy_bind_importer {
    importer: Importer<ForeignImports>,
}

/// Creates an importer over `engine` with the runtime's import `hooks`
/// (copied, reading only `hooks->size` bytes), and writes it, owned, to
/// `*importer_out`. The engine must outlive the importer; free the importer
/// first.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL arguments;
/// `LAZY_BIND_INVALID_ARGUMENT` for a `hooks->size` smaller than the first
/// version of the struct or a missing required hook.
///
/// # Safety
/// `engine` must be NULL or a live engine; `hooks` NULL or readable for
/// `hooks->size` bytes; `importer_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_importer_new(
    engine: *const lazy_bind_engine,
    hooks: *const lazy_bind_import_hooks,
    importer_out: *mut *mut lazy_bind_importer,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let importer_out = out(importer_out)?;
        if hooks.is_null() {
            return Err(LAZY_BIND_NULL_ARGUMENT);
        }
        // SAFETY: non-null; the caller guarantees `size` readable bytes.
        let imports = unsafe { ForeignImports::copy_from(hooks, Arc::clone(&engine.runtime)) }?;
        let importer = Importer::new(Arc::clone(&engine.engine), Arc::new(imports));
        let importer = Box::into_raw(Box::new(lazy_bind_importer { importer }));
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { importer_out.write(importer) };
        Ok(())
    })
}

/// Frees an importer and sets `*importer` to NULL. Its entries stay in the
/// engine (pending ones still resolve through the import hooks, which must
/// stay valid until the engine is freed).
///
/// Does nothing if `importer` or `*importer` is NULL, so freeing twice
/// through the same variable is harmless.
///
/// # Safety
/// `importer` must be NULL or point to NULL or to an importer from
/// `lazy_bind_importer_new` not freed yet. No other thread may be using it.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_importer_free(importer: *mut *mut lazy_bind_importer) {
    // SAFETY: the caller guarantees `importer` is NULL or writable and
    // holds NULL or a live object of ours (all made by `Box::into_raw`).
    unsafe { boundary::free_box(importer) }
}

/// The status for a bad import statement, with its message written to the
/// optional `error_message_out`.
///
/// # Safety
/// `error_message_out` must be NULL or writable.
unsafe fn invalid(error: &ImportError, error_message_out: *mut *mut c_char) -> lazy_bind_result {
    // SAFETY: forwarded to the caller.
    unsafe { write_optional_owned(error_message_out, &error.to_string()) };
    LAZY_BIND_INVALID_IMPORT
}

/// A site from C arguments (`file` NULL means unknown).
///
/// # Safety
/// `file` must be NULL or NUL-terminated.
unsafe fn site(file: *const c_char, line: u32) -> Result<Site, lazy_bind_result> {
    // SAFETY: forwarded to the caller.
    Ok(match unsafe { optional_str_arg(file) }? {
        Some(file) => Site::new(file, line),
        None => Site::unknown(),
    })
}

/// Defers `spec` in `namespace` and writes the handles of its bindings, in
/// order, to `handles_out`.
///
/// # Safety
/// `handles_out` must be writable for as many handles as `spec` binds.
unsafe fn defer(
    importer: &lazy_bind_importer,
    namespace: u64,
    spec: &ImportSpec,
    handles_out: *mut Handle,
) {
    let bindings = importer.importer.defer(NamespaceId(namespace), spec);
    for (index, binding) in bindings.iter().enumerate() {
        // SAFETY: the caller guarantees room for every binding.
        unsafe { handles_out.add(index).write(binding.handle) };
    }
}

/// Defers `import target` run by module `importer_name` in namespace
/// `namespace` (any number unique while the namespace lives), declared at
/// `file:line` (`file` may be NULL). Writes the handle to bind, under the
/// top package name (`a` for `a.b.c`), to `*handle_out`.
///
/// While the top package's entry is pending, `import a.x` in the same
/// namespace joins it (the same handle comes back) as a pending submodule.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL required arguments;
/// `LAZY_BIND_INVALID_UTF8`; `LAZY_BIND_INVALID_IMPORT` for a malformed
/// name, with an owned message written to `*error_message_out` if that is
/// not NULL (free with `lazy_bind_string_free`).
///
/// # Safety
/// `importer` must be NULL or a live importer; the strings NULL or
/// NUL-terminated; the out-parameters NULL or writable.
#[must_use]
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lazy_bind_importer_defer_import(
    importer: *const lazy_bind_importer,
    namespace: u64,
    importer_name: *const c_char,
    target: *const c_char,
    file: *const c_char,
    line: u32,
    handle_out: *mut Handle,
    error_message_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live importer.
        let importer = unsafe { arg(importer) }?;
        let handle_out = out(handle_out)?;
        // SAFETY: the caller guarantees NULL or NUL-terminated strings.
        let (importer_name, target, site) =
            unsafe { (str_arg(importer_name)?, str_arg(target)?, site(file, line)?) };
        let spec = ImportSpec::import(importer_name, target, site)
            // SAFETY: the caller guarantees NULL or writable.
            .map_err(|error| unsafe { invalid(&error, error_message_out) })?;
        // SAFETY: `import` binds exactly one name; checked non-null.
        unsafe { defer(importer, namespace, &spec, handle_out) };
        Ok(())
    })
}

/// Defers `import target as alias`: like `lazy_bind_importer_defer_import`,
/// but the handle, bound under `alias`, stands for the module `target`
/// itself.
///
/// # Errors
/// As for `lazy_bind_importer_defer_import` (an `alias` with a dot is
/// `LAZY_BIND_INVALID_IMPORT`).
///
/// # Safety
/// As for `lazy_bind_importer_defer_import`.
#[must_use]
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lazy_bind_importer_defer_import_as(
    importer: *const lazy_bind_importer,
    namespace: u64,
    importer_name: *const c_char,
    target: *const c_char,
    alias: *const c_char,
    file: *const c_char,
    line: u32,
    handle_out: *mut Handle,
    error_message_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live importer.
        let importer = unsafe { arg(importer) }?;
        let handle_out = out(handle_out)?;
        // SAFETY: the caller guarantees NULL or NUL-terminated strings.
        let (importer_name, target, alias, site) = unsafe {
            (
                str_arg(importer_name)?,
                str_arg(target)?,
                str_arg(alias)?,
                site(file, line)?,
            )
        };
        let spec = ImportSpec::import_as(importer_name, target, alias, site)
            // SAFETY: the caller guarantees NULL or writable.
            .map_err(|error| unsafe { invalid(&error, error_message_out) })?;
        // SAFETY: `import ... as` binds exactly one name; checked non-null.
        unsafe { defer(importer, namespace, &spec, handle_out) };
        Ok(())
    })
}

/// Defers `from <level dots><module> import names[0] as aliases[0], ...`
/// run by module `importer_name`, whose package (`__package__`) is
/// `package` (may be NULL when `level` is 0). `aliases` may be NULL (no
/// aliases), and so may each of its elements. Writes one handle per name,
/// in order, to `handles_out[0 .. names_len]`, each bound under its alias
/// or its name.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL required arguments (a NULL `names`
/// or `handles_out`, or a NULL name); `LAZY_BIND_INVALID_UTF8`;
/// `LAZY_BIND_INVALID_IMPORT` for a relative import with no parent package
/// or beyond the top-level package, a star import, no names or a malformed
/// name, with an owned message written to `*error_message_out` if that is
/// not NULL (free with `lazy_bind_string_free`).
///
/// # Safety
/// `importer` must be NULL or a live importer; the strings NULL or
/// NUL-terminated; `names` (and `aliases`, if not NULL) readable for
/// `names_len` pointers; `handles_out` writable for `names_len` handles;
/// `error_message_out` NULL or writable.
#[must_use]
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lazy_bind_importer_defer_from(
    importer: *const lazy_bind_importer,
    namespace: u64,
    importer_name: *const c_char,
    package: *const c_char,
    level: u32,
    module: *const c_char,
    names: *const *const c_char,
    aliases: *const *const c_char,
    names_len: usize,
    file: *const c_char,
    line: u32,
    handles_out: *mut Handle,
    error_message_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live importer.
        let importer = unsafe { arg(importer) }?;
        let handles_out = out(handles_out)?;
        if names.is_null() && names_len > 0 {
            return Err(LAZY_BIND_NULL_ARGUMENT);
        }
        // SAFETY: the caller guarantees NULL or NUL-terminated strings.
        let (importer_name, package, module, site) = unsafe {
            (
                str_arg(importer_name)?,
                optional_str_arg(package)?.unwrap_or(""),
                str_arg(module)?,
                site(file, line)?,
            )
        };
        let mut pairs = Vec::with_capacity(names_len);
        for index in 0..names_len {
            // SAFETY: the caller guarantees `names_len` readable pointers,
            // each NUL-terminated.
            let name = unsafe { str_arg(*names.add(index)) }?;
            let alias = if aliases.is_null() {
                None
            } else {
                // SAFETY: as above, for the aliases, each NULL or
                // NUL-terminated.
                unsafe { optional_str_arg(*aliases.add(index)) }?
            };
            pairs.push((name, alias));
        }
        let spec = ImportSpec::from_import(importer_name, package, level, module, &pairs, site)
            // SAFETY: the caller guarantees NULL or writable.
            .map_err(|error| unsafe { invalid(&error, error_message_out) })?;
        // SAFETY: the statement binds one name per entry of `names`, and the
        // caller guarantees room for `names_len` handles.
        unsafe { defer(importer, namespace, &spec, handles_out) };
        Ok(())
    })
}

/// Makes a relative module name absolute: `level` leading dots of `name`
/// in a module whose package is `package` (CPython's rule), and writes the
/// owned result to `*absolute_out` (free with `lazy_bind_string_free`).
/// With `level` 0, `name` is checked and returned as it is.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `package`, `name` or
/// `absolute_out`; `LAZY_BIND_INVALID_UTF8`; `LAZY_BIND_INVALID_IMPORT`
/// (with an owned message in `*error_message_out` if not NULL) for no
/// parent package, a level beyond the top-level package or a malformed
/// name.
///
/// # Safety
/// The strings must be NULL or NUL-terminated; the out-parameters NULL or
/// writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_resolve_name(
    package: *const c_char,
    level: u32,
    name: *const c_char,
    absolute_out: *mut *mut c_char,
    error_message_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees NULL or NUL-terminated strings.
        let (package, name) = unsafe { (str_arg(package)?, str_arg(name)?) };
        let absolute_out = out(absolute_out)?;
        let absolute = resolve_name(package, level, name)
            // SAFETY: the caller guarantees NULL or writable.
            .map_err(|error| unsafe { invalid(&error, error_message_out) })?;
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { absolute_out.write(owned(&absolute)) };
        Ok(())
    })
}

/// Resolves, without running any import, every pending binding whose
/// target the runtime reports loaded (`loaded_module`), and writes how many
/// it resolved to `*hydrated_out` if that is not NULL.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `importer`.
///
/// # Safety
/// `importer` must be NULL or a live importer; `hydrated_out` NULL or
/// writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_importer_hydrate(
    importer: *const lazy_bind_importer,
    hydrated_out: *mut usize,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live importer.
        let importer = unsafe { arg(importer) }?;
        let hydrated = importer.importer.hydrate();
        // SAFETY: the caller guarantees NULL or writable.
        unsafe { write_optional(hydrated_out, hydrated) };
        Ok(())
    })
}

/// Asks the runtime (`can_find`), without running anything, whether every
/// module each pending binding needs can be found. Writes how many bindings
/// cannot to `*unresolvable_out`, and, if `report_out` is not NULL, an owned
/// report (free with `lazy_bind_string_free`) with one line per such
/// binding, sorted by namespace and name:
/// `No module named 'M' (lazy import of NAME (declared at FILE:LINE), bound to 'B')`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `importer` or `unresolvable_out`.
///
/// # Safety
/// `importer` must be NULL or a live importer; the out-parameters NULL or
/// writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_importer_validate(
    importer: *const lazy_bind_importer,
    unresolvable_out: *mut usize,
    report_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live importer.
        let importer = unsafe { arg(importer) }?;
        let unresolvable_out = out(unresolvable_out)?;
        let missing = importer.importer.validate();
        let mut report = String::new();
        for target in &missing {
            let _ = writeln!(report, "{target}");
        }
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { unresolvable_out.write(missing.len()) };
        // SAFETY: the caller guarantees NULL or writable.
        unsafe { write_optional_owned(report_out, &report) };
        Ok(())
    })
}

/// Marks the start of a guarded import on the calling thread: an import
/// statement inside `try` that the runtime runs eagerly. Until the matching
/// `lazy_bind_guarded_import_leave`, `lazy_bind_importer_missing_under_guard`
/// reports the imports that must run at once. Nests.
///
/// # Errors
/// `LAZY_BIND_PANIC` only if the nesting depth would overflow.
///
/// # Thread-safety
/// Affects only the calling thread; leave on the same thread.
#[must_use]
#[no_mangle]
pub extern "C" fn lazy_bind_guarded_import_enter() -> lazy_bind_result {
    boundary::status(|| {
        enter_guarded_import();
        Ok(())
    })
}

/// Marks the end of the innermost guarded import of the calling thread.
///
/// # Errors
/// `LAZY_BIND_INVALID_ARGUMENT` when no guarded import is running on this
/// thread (nothing changes).
///
/// # Thread-safety
/// Affects only the calling thread.
#[must_use]
#[no_mangle]
pub extern "C" fn lazy_bind_guarded_import_leave() -> lazy_bind_result {
    boundary::status(|| leave_guarded_import().map_err(|_| LAZY_BIND_INVALID_ARGUMENT))
}

/// Writes to `*missing_out` whether an import of module `target` (absolute,
/// UTF-8) must run now instead of being deferred: true only while a guarded
/// import runs on this thread and `target` cannot be found (its dotted
/// chain checked with the `can_find` hook, a submodule only once its
/// parent is loaded; nothing is run). The runtime then imports it eagerly,
/// so its `ModuleNotFoundError` reaches the guard as in eager code.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL argument; `LAZY_BIND_INVALID_UTF8`
/// for a `target` that is not UTF-8.
///
/// # Safety
/// `importer` must be NULL or a live importer, `target` NULL or a
/// NUL-terminated string, `missing_out` NULL or writable.
///
/// # Thread-safety
/// Any thread; the hooks run on the calling thread, with no engine lock
/// held.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_importer_missing_under_guard(
    importer: *const lazy_bind_importer,
    target: *const c_char,
    missing_out: *mut bool,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live importer.
        let importer = unsafe { arg(importer) }?;
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let target = unsafe { str_arg(target) }?;
        let missing_out = out(missing_out)?;
        let missing = importer.importer.missing_under_guard(target);
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { missing_out.write(missing) };
        Ok(())
    })
}

/// Writes to `*modules_out` an owned string (free with
/// `lazy_bind_string_free`) of the names of the modules that pending
/// bindings will import and that are not loaded yet (the `loaded_module`
/// hook gives NULL; without that hook, every such module), one per line,
/// sorted: CPython 3.15's `sys.lazy_modules`. Runs nothing but the
/// `loaded_module` hook; a snapshot, for debugging and introspection.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL argument.
///
/// # Safety
/// `importer` must be NULL or a live importer; `modules_out` NULL or
/// writable.
///
/// # Thread-safety
/// Any thread; the hook runs on the calling thread with no engine lock
/// held.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_importer_lazy_modules(
    importer: *const lazy_bind_importer,
    modules_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live importer.
        let importer = unsafe { arg(importer) }?;
        let modules_out = out(modules_out)?;
        let mut text = String::new();
        for name in importer.importer.lazy_modules() {
            let _ = writeln!(text, "{name}");
        }
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { modules_out.write(owned(&text)) };
        Ok(())
    })
}

/// Forgets every name bound in `namespace` (call it when the namespace
/// dies); its entries stay in the engine. Writes how many names were
/// forgotten to `*forgotten_out` if that is not NULL.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `importer`.
///
/// # Safety
/// `importer` must be NULL or a live importer; `forgotten_out` NULL or
/// writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_importer_forget_namespace(
    importer: *const lazy_bind_importer,
    namespace: u64,
    forgotten_out: *mut usize,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live importer.
        let importer = unsafe { arg(importer) }?;
        let forgotten = importer.importer.forget_namespace(NamespaceId(namespace));
        // SAFETY: the caller guarantees NULL or writable.
        unsafe { write_optional(forgotten_out, forgotten) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header documents the first version's size as a number.
    #[test]
    fn the_first_version_is_eight_pointer_sized_fields() {
        assert_eq!(IMPORT_HOOKS_V1_SIZE, size_of::<[usize; 8]>());
        #[cfg(target_pointer_width = "64")]
        assert_eq!(IMPORT_HOOKS_V1_SIZE, 64);
    }

    #[test]
    fn import_hooks_older_than_the_first_version_or_incomplete_are_rejected() {
        unsafe extern "C" fn import(
            _: *mut c_void,
            _: *const c_char,
            _: *const *const c_char,
            _: usize,
            _: *mut *mut c_void,
            _: *mut *mut c_void,
        ) -> u32 {
            1
        }
        let runtime = Arc::new(Runtime::none());
        let mut hooks = lazy_bind_import_hooks {
            size: IMPORT_HOOKS_V1_SIZE - 1,
            userdata: std::ptr::null_mut(),
            import_module: Some(import),
            get_attr: None,
            set_attr_if_absent: None,
            loaded_module: None,
            can_find: None,
            as_lazy: None,
        };
        // SAFETY: the struct is fully readable.
        let result = unsafe { ForeignImports::copy_from(&hooks, Arc::clone(&runtime)) };
        assert!(matches!(result, Err(LAZY_BIND_INVALID_ARGUMENT)));
        hooks.size = size_of::<lazy_bind_import_hooks>();
        // SAFETY: as above.
        let result = unsafe { ForeignImports::copy_from(&hooks, runtime) };
        assert!(matches!(result, Err(LAZY_BIND_INVALID_ARGUMENT)));
    }
}
