//! The import policy: parsing and loading it, deciding and explaining
//! imports, the runtime's filter callback, eager scopes and the phase switch.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::boundary::{self, arg, out, str_arg, write_optional};
use super::engine::lazy_bind_engine;
use super::error::{c_string, lazy_bind_error_list};
use super::lazy_bind_result::{self, *};
use super::string::{owned, write_optional_owned};
use crate::policy::{
    builtin_rules, enter_eager_scope, leave_eager_scope, ActivePolicy, Filter, ImportContext,
    ImportQuery, LoadError, Mode, Policy, BUILTIN_RULES,
};

/// The import policy in force for one runtime: create with
/// `lazy_bind_policy_parse` or `lazy_bind_policy_from_env`, free with
/// `lazy_bind_policy_free`.
///
/// # Thread-safety
/// Every function taking a `const lazy_bind_policy *` may be called from any
/// number of threads at once. Decisions take no lock; a change (mode,
/// filter) is published at once, and a decision running meanwhile uses
/// either the old or the new policy, never a mix.
pub struct lazy_bind_policy {
    policy: ActivePolicy,
}

/// How much laziness a policy allows before any rule is consulted. Passed
/// and returned as a `uint32_t`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum lazy_bind_mode {
    /// Every import is eager; rules and the filter are not consulted.
    LAZY_BIND_MODE_NONE = 0,
    /// Only imports marked lazy (`LAZY_BIND_CONTEXT_MARKED_LAZY`) or opted in
    /// by a rule are deferred. The default.
    LAZY_BIND_MODE_NORMAL = 1,
    /// Every eligible import is deferred unless a rule or the filter says
    /// otherwise.
    LAZY_BIND_MODE_ALL = 2,
}

/// Context flag: the import is not at module level (inside a function or
/// class body). Never lazy.
pub const LAZY_BIND_CONTEXT_NOT_MODULE_LEVEL: u32 = 1;
/// Context flag: the import is inside `try`, `except` or `finally`. Never
/// lazy.
pub const LAZY_BIND_CONTEXT_IN_TRY: u32 = 2;
/// Context flag: the import is inside a `with` block. Never lazy.
pub const LAZY_BIND_CONTEXT_IN_WITH: u32 = 4;
/// Context flag: the import is inside a loop. Never lazy.
pub const LAZY_BIND_CONTEXT_IN_LOOP: u32 = 8;
/// Context flag: a star import (`from m import *`). Never lazy.
pub const LAZY_BIND_CONTEXT_STAR: u32 = 16;
/// Context flag: a `__future__` import. Never lazy.
pub const LAZY_BIND_CONTEXT_FUTURE: u32 = 32;
/// Context flag: the import is explicitly marked lazy (PEP 810's
/// `lazy import`).
pub const LAZY_BIND_CONTEXT_MARKED_LAZY: u32 = 64;

/// Every context flag this version knows.
const KNOWN_CONTEXT_FLAGS: u32 = LAZY_BIND_CONTEXT_NOT_MODULE_LEVEL
    | LAZY_BIND_CONTEXT_IN_TRY
    | LAZY_BIND_CONTEXT_IN_WITH
    | LAZY_BIND_CONTEXT_IN_LOOP
    | LAZY_BIND_CONTEXT_STAR
    | LAZY_BIND_CONTEXT_FUTURE
    | LAZY_BIND_CONTEXT_MARKED_LAZY;

/// The runtime's filter: return false to make the import eager, true to
/// leave the decision to the mode. It can veto laziness, never create it.
///
/// Called only for an import that would otherwise be deferred and that no
/// rule decided; never in mode none. The strings and the `fromlist` array
/// (`fromlist_len` names; NULL when empty) are borrowed for the call only.
///
/// # Thread-safety
/// Called on whichever thread calls `lazy_bind_policy_decide` or
/// `lazy_bind_policy_explain`: from many threads at once, and re-entrantly
/// (an import triggered inside the filter is decided with the same filter).
/// No lazy_bind lock or snapshot is held while it runs, so it may also
/// change the policy that called it (`lazy_bind_policy_set_filter`,
/// `lazy_bind_policy_set_mode`, ...); the decision in progress still uses
/// the rules and filter it started with. It must not unwind (no C++ exception or `longjmp` may leave it).
pub type lazy_bind_filter_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        importer: *const c_char,
        target: *const c_char,
        fromlist: *const *const c_char,
        fromlist_len: usize,
    ) -> bool,
>;

/// A C filter with its userdata, as the policy stores it.
struct ForeignFilter {
    filter: unsafe extern "C" fn(
        *mut c_void,
        *const c_char,
        *const c_char,
        *const *const c_char,
        usize,
    ) -> bool,
    userdata: *mut c_void,
}

// SAFETY: the header requires the filter and its userdata to be usable from
// any thread, concurrently; the policy never dereferences the userdata.
unsafe impl Send for ForeignFilter {}
// SAFETY: as above.
unsafe impl Sync for ForeignFilter {}

impl ForeignFilter {
    /// Calls the C filter with NUL-terminated copies of the names.
    fn call(&self, importer: &str, target: &str, fromlist: &[&str]) -> bool {
        let importer = c_string(importer);
        let target = c_string(target);
        let names: Vec<CString> = fromlist.iter().map(|name| c_string(name)).collect();
        let pointers: Vec<*const c_char> = names.iter().map(|name| name.as_ptr()).collect();
        let array = if pointers.is_empty() {
            std::ptr::null()
        } else {
            pointers.as_ptr()
        };
        // SAFETY: the runtime gave this function and userdata for exactly
        // this call; every string and the array live until it returns.
        unsafe {
            (self.filter)(
                self.userdata,
                importer.as_ptr(),
                target.as_ptr(),
                array,
                pointers.len(),
            )
        }
    }
}

/// The mode numbered `mode`.
fn mode_from_u32(mode: u32) -> Result<Mode, lazy_bind_result> {
    match mode {
        0 => Ok(Mode::None),
        1 => Ok(Mode::Normal),
        2 => Ok(Mode::All),
        _ => Err(LAZY_BIND_INVALID_ARGUMENT),
    }
}

/// The number of `mode`.
fn mode_to_u32(mode: Mode) -> u32 {
    let mode = match mode {
        Mode::None => lazy_bind_mode::LAZY_BIND_MODE_NONE,
        Mode::Normal => lazy_bind_mode::LAZY_BIND_MODE_NORMAL,
        Mode::All => lazy_bind_mode::LAZY_BIND_MODE_ALL,
    };
    mode as u32
}

/// The context described by `flags`.
fn context(flags: u32) -> Result<ImportContext, lazy_bind_result> {
    if flags & !KNOWN_CONTEXT_FLAGS != 0 {
        return Err(LAZY_BIND_INVALID_ARGUMENT);
    }
    let set = |flag: u32| flags & flag != 0;
    Ok(ImportContext {
        module_level: !set(LAZY_BIND_CONTEXT_NOT_MODULE_LEVEL),
        in_try: set(LAZY_BIND_CONTEXT_IN_TRY),
        in_with: set(LAZY_BIND_CONTEXT_IN_WITH),
        in_loop: set(LAZY_BIND_CONTEXT_IN_LOOP),
        star: set(LAZY_BIND_CONTEXT_STAR),
        future: set(LAZY_BIND_CONTEXT_FUTURE),
        marked_lazy: set(LAZY_BIND_CONTEXT_MARKED_LAZY),
    })
}

/// The names of a C fromlist (`fromlist` may be NULL when `len` is 0).
///
/// # Safety
/// `fromlist` must be NULL or readable for `len` pointers, each NULL or
/// NUL-terminated, living for `'a`.
unsafe fn fromlist_arg<'a>(
    fromlist: *const *const c_char,
    len: usize,
) -> Result<Vec<&'a str>, lazy_bind_result> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if fromlist.is_null() {
        return Err(LAZY_BIND_NULL_ARGUMENT);
    }
    // SAFETY: non-null; the caller guarantees `len` readable pointers.
    let pointers = unsafe { std::slice::from_raw_parts(fromlist, len) };
    pointers
        .iter()
        // SAFETY: the caller guarantees NULL or NUL-terminated names.
        .map(|&name| unsafe { str_arg(name) })
        .collect()
}

/// Decides or explains one import from C arguments.
///
/// # Safety
/// As for `lazy_bind_policy_decide`.
unsafe fn with_query<T>(
    importer: *const c_char,
    target: *const c_char,
    fromlist: *const *const c_char,
    fromlist_len: usize,
    context_flags: u32,
    body: impl FnOnce(&ImportQuery<'_>) -> T,
) -> Result<T, lazy_bind_result> {
    // SAFETY: forwarded to the caller.
    let importer = unsafe { str_arg(importer) }?;
    // SAFETY: forwarded to the caller.
    let target = unsafe { str_arg(target) }?;
    // SAFETY: forwarded to the caller.
    let names = unsafe { fromlist_arg(fromlist, fromlist_len) }?;
    let query = ImportQuery::new(importer, target)
        .with_fromlist(&names)
        .with_context(context(context_flags)?);
    Ok(body(&query))
}

/// Publishes `policy` as a new owned object for C.
fn new_policy(policy: Policy) -> *mut lazy_bind_policy {
    Box::into_raw(Box::new(lazy_bind_policy {
        policy: ActivePolicy::new(policy),
    }))
}

/// The status for a policy that could not be loaded.
fn load_status(error: &LoadError) -> lazy_bind_result {
    match error {
        LoadError::Io { .. } => LAZY_BIND_IO,
        LoadError::NotUnicode => LAZY_BIND_INVALID_UTF8,
        _ => LAZY_BIND_POLICY_SYNTAX,
    }
}

/// Parses policy text (the format of `docs/policy-format.md`: `mode all`,
/// `eager-target torch.*`, ...; `;` may separate statements) and writes an
/// owned policy to `*policy_out`; free it with `lazy_bind_policy_free`.
///
/// On `LAZY_BIND_POLICY_SYNTAX`, if `error_message_out` is not NULL, writes
/// an owned message naming the line, the column and the offending text
/// (free with `lazy_bind_string_free`).
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `text` or `policy_out`;
/// `LAZY_BIND_INVALID_UTF8`; `LAZY_BIND_POLICY_SYNTAX` for malformed text
/// (an unknown keyword, mode or rule, a bad module name, a second `mode`).
///
/// # Safety
/// `text` must be NULL or NUL-terminated; the out-parameters NULL or
/// writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_parse(
    text: *const c_char,
    policy_out: *mut *mut lazy_bind_policy,
    error_message_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let text = unsafe { str_arg(text) }?;
        let policy_out = out(policy_out)?;
        match Policy::parse(text) {
            Ok(policy) => {
                // SAFETY: checked non-null; the caller guarantees writable.
                unsafe { policy_out.write(new_policy(policy)) };
                Ok(())
            }
            Err(error) => {
                // SAFETY: the caller guarantees NULL or writable.
                unsafe { write_optional_owned(error_message_out, &error.to_string()) };
                Err(LAZY_BIND_POLICY_SYNTAX)
            }
        }
    })
}

/// Loads the policy from the `LAZY_BIND_POLICY` environment variable:
/// policy text, or `@path` for a policy file. Unset (or only whitespace)
/// gives the default policy (mode normal, no rules) and writes false to
/// `*was_set_out` (if not NULL); otherwise true.
///
/// On failure, if `error_message_out` is not NULL, writes an owned message
/// (free with `lazy_bind_string_free`) naming the variable or the file, and
/// for malformed text the line and column.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `policy_out`;
/// `LAZY_BIND_POLICY_SYNTAX` for malformed text (in the variable or the
/// file); `LAZY_BIND_IO` for an `@path` that cannot be read;
/// `LAZY_BIND_INVALID_UTF8` for a variable that is not valid Unicode.
///
/// # Safety
/// The out-parameters must be NULL or writable.
///
/// # Thread-safety
/// Reads the process environment: do not call it while another thread
/// changes the environment (`setenv`).
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_from_env(
    policy_out: *mut *mut lazy_bind_policy,
    was_set_out: *mut bool,
    error_message_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        let policy_out = out(policy_out)?;
        match Policy::from_env() {
            Ok(policy) => {
                let was_set = policy.is_some();
                // SAFETY: checked non-null; the caller guarantees writable.
                unsafe { policy_out.write(new_policy(policy.unwrap_or_default())) };
                // SAFETY: the caller guarantees NULL or writable.
                unsafe { write_optional(was_set_out, was_set) };
                Ok(())
            }
            Err(error) => {
                // SAFETY: the caller guarantees NULL or writable.
                unsafe { write_optional_owned(error_message_out, &error.to_string()) };
                Err(load_status(&error))
            }
        }
    })
}

/// Frees a policy and sets `*policy` to NULL (with its filter: the filter's
/// userdata is not touched, and the filter is not called after this).
///
/// Does nothing if `policy` or `*policy` is NULL, so freeing twice through
/// the same variable is harmless.
///
/// # Safety
/// `policy` must be NULL or point to NULL or to a policy from lazy_bind not
/// freed yet. No other thread may be using the policy.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_free(policy: *mut *mut lazy_bind_policy) {
    // SAFETY: the caller guarantees `policy` is NULL or writable and
    // holds NULL or a live object of ours (all made by `Box::into_raw`).
    unsafe { boundary::free_box(policy) }
}

/// Changes the mode (a `lazy_bind_mode`), keeping the rules and the filter.
/// Imports decided after this returns see the new mode.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `policy`;
/// `LAZY_BIND_INVALID_ARGUMENT` for a number that is not a
/// `lazy_bind_mode`.
///
/// # Safety
/// `policy` must be NULL or a live policy.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_set_mode(
    policy: *const lazy_bind_policy,
    mode: u32,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live policy.
        let policy = unsafe { arg(policy) }?;
        policy.policy.set_mode(mode_from_u32(mode)?);
        Ok(())
    })
}

/// Adds the rules of `text` (policy text holding rules only, e.g.
/// `"eager-importer pandas.*"`; `;` or newlines between them) to the
/// policy in force, keeping its mode, its other rules and its filter: for
/// a runtime's built-in opt-outs under the user's policy. Imports decided
/// after this returns see the rules.
///
/// On `LAZY_BIND_POLICY_SYNTAX`, if `error_message_out` is not NULL, writes
/// an owned message naming the line, the column and the offending text
/// (free with `lazy_bind_string_free`); the policy is unchanged.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `policy` or `text`;
/// `LAZY_BIND_INVALID_UTF8`; `LAZY_BIND_POLICY_SYNTAX` for malformed text
/// or a `mode` statement in it (use `lazy_bind_policy_set_mode`).
///
/// # Safety
/// `policy` must be NULL or a live policy; `text` NULL or NUL-terminated;
/// `error_message_out` NULL or writable.
///
/// # Thread-safety
/// May run while other threads decide with the policy: each decision sees
/// the rules before or after, never a mix.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_add_rules(
    policy: *const lazy_bind_policy,
    text: *const c_char,
    error_message_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live policy.
        let policy = unsafe { arg(policy) }?;
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let text = unsafe { str_arg(text) }?;
        match Policy::parse_rules(text) {
            Ok(rules) => {
                policy.policy.add_rules(&rules);
                Ok(())
            }
            Err(error) => {
                // SAFETY: the caller guarantees NULL or writable.
                unsafe { write_optional_owned(error_message_out, &error.to_string()) };
                Err(LAZY_BIND_POLICY_SYNTAX)
            }
        }
    })
}

/// `lazy_bind_policy_add_builtin_rules` flag: the runtime defers `from`
/// imports, so it also needs the rules that only such runtimes do.
pub const LAZY_BIND_BUILTIN_LAZY_FROM: u32 = 1;

/// Adds lazy_bind's built-in opt-outs (packages whose import has side
/// effects that other code relies on at import time; see
/// `lazy_bind_builtin_rule`) to the policy in force, keeping its mode, its
/// other rules and its filter. `flags`: `LAZY_BIND_BUILTIN_LAZY_FROM` or 0.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `policy`; `LAZY_BIND_INVALID_ARGUMENT`
/// for an unknown flag.
///
/// # Safety
/// `policy` must be NULL or a live policy.
///
/// # Thread-safety
/// As `lazy_bind_policy_add_rules`.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_add_builtin_rules(
    policy: *const lazy_bind_policy,
    flags: u32,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live policy.
        let policy = unsafe { arg(policy) }?;
        if flags & !LAZY_BIND_BUILTIN_LAZY_FROM != 0 {
            return Err(LAZY_BIND_INVALID_ARGUMENT);
        }
        policy
            .policy
            .add_rules(&builtin_rules(flags & LAZY_BIND_BUILTIN_LAZY_FROM != 0));
        Ok(())
    })
}

/// Built-in rule number `index` (from 0; `LAZY_BIND_INVALID_ARGUMENT` past
/// the last one, so a loop stops there): writes the rule in the policy
/// format to `*rule_out` and what breaks without it to `*reason_out` (both
/// static strings: never freed, valid for the process), and whether only a
/// runtime that defers `from` imports needs it to `*lazy_from_only_out`.
/// Each out-parameter may be NULL.
///
/// # Errors
/// `LAZY_BIND_INVALID_ARGUMENT` for an `index` past the last rule.
///
/// # Safety
/// Each out-parameter must be NULL or writable.
///
/// # Thread-safety
/// Any thread.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_builtin_rule(
    index: usize,
    rule_out: *mut *const c_char,
    reason_out: *mut *const c_char,
    lazy_from_only_out: *mut bool,
) -> lazy_bind_result {
    boundary::status(|| {
        let builtin = BUILTIN_RULES.get(index).ok_or(LAZY_BIND_INVALID_ARGUMENT)?;
        let (rule, reason) = builtin.c_strings();
        // SAFETY: the caller guarantees each NULL or writable.
        unsafe {
            write_optional(rule_out, rule.as_ptr());
            write_optional(reason_out, reason.as_ptr());
            write_optional(lazy_from_only_out, builtin.lazy_from_only());
        }
        Ok(())
    })
}

/// Writes the mode in force (a `lazy_bind_mode`) to `*mode_out`.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for NULL arguments.
///
/// # Safety
/// `policy` must be NULL or a live policy; `mode_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_mode(
    policy: *const lazy_bind_policy,
    mode_out: *mut u32,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live policy.
        let policy = unsafe { arg(policy) }?;
        let mode_out = out(mode_out)?;
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { mode_out.write(mode_to_u32(policy.policy.mode())) };
        Ok(())
    })
}

/// Decides whether the import of `target` run by `importer` is deferred
/// (true) or done now (false), and writes the answer to `*defer_out`.
///
/// `importer` and `target` are absolute dotted module names; `fromlist`
/// holds the `fromlist_len` names of `from target import ...` (NULL when
/// `fromlist_len` is 0) and only the filter sees it; `context_flags` is a
/// bit set of `LAZY_BIND_CONTEXT_*` flags (0 for a plain module-level
/// import not marked lazy). The precedence order is documented in the Rust
/// crate's `lazy_bind::policy` module.
///
/// This is meant for every import statement: it takes no lock, and
/// allocates only to collect a non-empty `fromlist` and to hand the names
/// to the filter, when it calls it.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `policy`, `importer`, `target`,
/// `defer_out`, fromlist name, or a NULL `fromlist` with a nonzero length;
/// `LAZY_BIND_INVALID_UTF8`; `LAZY_BIND_INVALID_ARGUMENT` for unknown
/// context flag bits.
///
/// # Safety
/// `policy` must be NULL or a live policy; the strings NULL or
/// NUL-terminated; `fromlist` NULL or readable for `fromlist_len` pointers;
/// `defer_out` NULL or writable.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_decide(
    policy: *const lazy_bind_policy,
    importer: *const c_char,
    target: *const c_char,
    fromlist: *const *const c_char,
    fromlist_len: usize,
    context_flags: u32,
    defer_out: *mut bool,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live policy.
        let policy = unsafe { arg(policy) }?;
        let defer_out = out(defer_out)?;
        // SAFETY: forwarded to the caller.
        let decision = unsafe {
            with_query(
                importer,
                target,
                fromlist,
                fromlist_len,
                context_flags,
                |query| policy.policy.decide(query),
            )
        }?;
        // SAFETY: checked non-null; the caller guarantees writable.
        unsafe { defer_out.write(decision.is_defer()) };
        Ok(())
    })
}

/// Decides like `lazy_bind_policy_decide` (the same answer for the same
/// state) and also says which rule or context decided: writes the decision
/// to `*defer_out` and an owned sentence such as
/// `eager: target opt-out rule 'eager-target torch.*'` to
/// `*explanation_out` (free with `lazy_bind_string_free`).
///
/// # Errors
/// As for `lazy_bind_policy_decide`, and `LAZY_BIND_NULL_ARGUMENT` for a
/// NULL `explanation_out`.
///
/// # Safety
/// As for `lazy_bind_policy_decide`; `explanation_out` NULL or writable.
#[must_use]
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lazy_bind_policy_explain(
    policy: *const lazy_bind_policy,
    importer: *const c_char,
    target: *const c_char,
    fromlist: *const *const c_char,
    fromlist_len: usize,
    context_flags: u32,
    defer_out: *mut bool,
    explanation_out: *mut *mut c_char,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live policy.
        let policy = unsafe { arg(policy) }?;
        let defer_out = out(defer_out)?;
        let explanation_out = out(explanation_out)?;
        // SAFETY: forwarded to the caller.
        let explanation = unsafe {
            with_query(
                importer,
                target,
                fromlist,
                fromlist_len,
                context_flags,
                |query| policy.policy.explain_query(query),
            )
        }?;
        // SAFETY: both checked non-null; the caller guarantees writable.
        unsafe {
            defer_out.write(explanation.decision.is_defer());
            explanation_out.write(owned(&explanation.to_string()));
        }
        Ok(())
    })
}

/// Installs the runtime's filter callback with its `userdata`, replacing
/// any previous one; a NULL `filter` removes it (`userdata` is then
/// ignored). See `lazy_bind_filter_fn` for when it is called.
///
/// `userdata` is borrowed: it must stay valid while the filter may still be
/// called, that is until the policy is freed, or until a later
/// `lazy_bind_policy_set_filter` has returned and every decide or explain
/// call that started before it has returned too.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `policy`.
///
/// # Safety
/// `policy` must be NULL or a live policy; `filter` must be callable from
/// any thread, concurrently, with `userdata`.
///
/// # Thread-safety
/// The filter is called from many threads at once (every thread that
/// decides an import).
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_set_filter(
    policy: *const lazy_bind_policy,
    filter: lazy_bind_filter_fn,
    userdata: *mut c_void,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live policy.
        let policy = unsafe { arg(policy) }?;
        let filter = filter.map(|filter| {
            let foreign = ForeignFilter { filter, userdata };
            Arc::new(move |importer: &str, target: &str, fromlist: &[&str]| {
                foreign.call(importer, target, fromlist)
            }) as Filter
        });
        policy.policy.set_filter(filter);
        Ok(())
    })
}

/// Opens an eager scope on the calling thread (`with eager_imports():`):
/// until the matching `lazy_bind_eager_scope_leave`, every import this
/// thread decides, with any policy, is eager. Scopes nest.
///
/// # Errors
/// `LAZY_BIND_PANIC` only if the nesting depth would overflow.
///
/// # Thread-safety
/// Affects only the calling thread; leave on the same thread.
#[must_use]
#[no_mangle]
pub extern "C" fn lazy_bind_eager_scope_enter() -> lazy_bind_result {
    boundary::status(|| {
        enter_eager_scope();
        Ok(())
    })
}

/// Closes the innermost eager scope of the calling thread.
///
/// # Errors
/// `LAZY_BIND_INVALID_ARGUMENT` when the thread is not inside an eager
/// scope (nothing changes).
///
/// # Thread-safety
/// Affects only the calling thread.
#[must_use]
#[no_mangle]
pub extern "C" fn lazy_bind_eager_scope_leave() -> lazy_bind_result {
    boundary::status(|| leave_eager_scope().map_err(|_| LAZY_BIND_INVALID_ARGUMENT))
}

/// The phase switch: sets the policy's mode to none, so no new import is
/// deferred, then resolves every entry of `engine` still pending, reporting
/// every failure instead of stopping at the first.
///
/// Writes the number of failures to `*failures_out` and an owned list of
/// them to `*failures_list_out` (free with `lazy_bind_error_list_free`; an
/// empty list when nothing failed), each only if not NULL. Laziness stays
/// off; `lazy_bind_policy_set_mode` turns it back on.
///
/// # Errors
/// `LAZY_BIND_NULL_ARGUMENT` for a NULL `policy` or `engine`. Failed entries
/// are not an error of this call: they are counted and listed.
///
/// # Safety
/// `policy` must be NULL or a live policy; `engine` NULL or a live engine;
/// the out-parameters NULL or writable.
///
/// # Thread-safety
/// An import decided on another thread just before the mode changed may
/// still be deferred while the engine drains; switch where no imports run,
/// or call again until nothing is pending.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_policy_disable(
    policy: *const lazy_bind_policy,
    engine: *const lazy_bind_engine,
    failures_out: *mut usize,
    failures_list_out: *mut *mut lazy_bind_error_list,
) -> lazy_bind_result {
    boundary::status(|| {
        // SAFETY: the caller guarantees a live policy.
        let policy = unsafe { arg(policy) }?;
        // SAFETY: the caller guarantees a live engine.
        let engine = unsafe { arg(engine) }?;
        let failures = policy.policy.disable_laziness(&*engine.engine);
        // SAFETY: the caller guarantees NULL or writable.
        unsafe { write_optional(failures_out, failures.len()) };
        if !failures_list_out.is_null() {
            let list = Box::into_raw(Box::new(lazy_bind_error_list::new(failures)));
            // SAFETY: non-null; the caller guarantees writable.
            unsafe { failures_list_out.write(list) };
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_numbers_match_the_header_enum() {
        for mode in Mode::ALL {
            assert_eq!(mode_from_u32(mode_to_u32(mode)), Ok(mode));
        }
        assert_eq!(lazy_bind_mode::LAZY_BIND_MODE_NONE as u32, 0);
        assert_eq!(lazy_bind_mode::LAZY_BIND_MODE_NORMAL as u32, 1);
        assert_eq!(lazy_bind_mode::LAZY_BIND_MODE_ALL as u32, 2);
        assert_eq!(mode_from_u32(3), Err(LAZY_BIND_INVALID_ARGUMENT));
    }

    #[test]
    fn context_flags_map_to_fields_and_unknown_bits_are_rejected() {
        assert_eq!(context(0), Ok(ImportContext::MODULE_LEVEL));
        let all = context(KNOWN_CONTEXT_FLAGS).unwrap();
        assert!(!all.module_level);
        assert!(all.in_try && all.in_with && all.in_loop);
        assert!(all.star && all.future && all.marked_lazy);
        assert_eq!(context(128), Err(LAZY_BIND_INVALID_ARGUMENT));
    }
}
