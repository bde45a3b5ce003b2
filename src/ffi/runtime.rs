//! The runtime's hooks as C function pointers, and the value type the engine
//! stores for a C runtime.

use std::ffi::{c_char, c_void, CStr};
use std::mem::{size_of, MaybeUninit};
use std::sync::Arc;

use super::lazy_bind_result::{self, *};
use crate::Hooks;

/// A hook that takes the runtime's userdata and one value.
pub type lazy_bind_value_fn =
    Option<unsafe extern "C" fn(userdata: *mut c_void, value: *mut c_void)>;

/// A hook that takes only the runtime's userdata.
pub type lazy_bind_hook_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A hook that describes a runtime error object as text: writes at most
/// `capacity` bytes of UTF-8, NUL included, to `buffer` (as `snprintf`
/// does) and returns the length of the whole description without the NUL.
pub type lazy_bind_describe_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        error: *mut c_void,
        buffer: *mut c_char,
        capacity: usize,
    ) -> usize,
>;

/// The runtime's callbacks, passed to `lazy_bind_engine_new`.
///
/// Versioned and append-only: set `size` to `sizeof(lazy_bind_runtime_hooks)`
/// as your compiler sees it. A runtime built against an older header passes a
/// smaller `size` and keeps working: the fields past its `size` count as NULL.
/// New hooks are only ever added at the end. Every callback may be NULL
/// (nothing happens then). The smallest `size` accepted is that of the first
/// version, `size` through `after_wake`: six pointer-sized fields, 48 bytes
/// on 64-bit targets; `lazy_bind_engine_new` rejects a smaller one.
///
/// # Thread-safety
/// Every callback may be called from any thread that calls into the engine,
/// during that call, possibly from several threads at once; `release` may
/// also run while an error object or the engine is freed, or during
/// `lazy_bind_engine_reclaim`. No callback runs while the engine holds a
/// lock of its own, so callbacks may call back into the engine (except from
/// `lazy_bind_engine_free` and `lazy_bind_engine_reclaim`, which have the
/// engine to themselves).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct lazy_bind_runtime_hooks {
    /// `sizeof(lazy_bind_runtime_hooks)` as the caller compiled it.
    pub size: usize,
    /// Passed as the first argument to every hook.
    pub userdata: *mut c_void,
    /// Takes a new reference to a value (for `lazy_bind_entry_create_resolved`
    /// and `lazy_bind_entry_provide`, which borrow the value they are given).
    pub retain: lazy_bind_value_fn,
    /// Drops a reference the engine owned (a resolved value or a runtime
    /// error object, when its entry or error is freed).
    pub release: lazy_bind_value_fn,
    /// Called just before a thread blocks waiting for another thread's
    /// resolution: a runtime with a global lock releases it here.
    pub before_block: lazy_bind_hook_fn,
    /// Called on the same thread right after the wait, before the engine
    /// looks at the outcome: take the global lock back here.
    pub after_wake: lazy_bind_hook_fn,
    /// Describes the runtime error object a resolver or import hook handed
    /// back with a failure (say, `ModuleNotFoundError: No module named
    /// 'x'`), for the error's message. Called once per failure, on the
    /// failing thread, right after the hook that failed returned (so under
    /// the same locks, a GIL included). Added in 0.1.0 after the first
    /// version of this struct.
    pub describe: lazy_bind_describe_fn,
}

/// The size of the first version of [`lazy_bind_runtime_hooks`] (up to and
/// including `after_wake`); smaller `size` fields are rejected. Fixed for
/// good: it must not grow when hooks are appended.
const HOOKS_V1_SIZE: usize =
    std::mem::offset_of!(lazy_bind_runtime_hooks, after_wake) + size_of::<lazy_bind_hook_fn>();

/// A runtime's hooks as the engine keeps them.
pub(crate) struct Runtime(lazy_bind_runtime_hooks);

// SAFETY: the header documents that every hook may be called from any thread,
// concurrently, with the userdata it was given; the engine never dereferences
// the pointers itself.
unsafe impl Send for Runtime {}
// SAFETY: as above.
unsafe impl Sync for Runtime {}

impl Runtime {
    /// No hooks at all.
    pub(crate) fn none() -> Runtime {
        Runtime(lazy_bind_runtime_hooks {
            size: HOOKS_V1_SIZE,
            userdata: std::ptr::null_mut(),
            retain: None,
            release: None,
            before_block: None,
            after_wake: None,
            describe: None,
        })
    }

    /// Copies the caller's hooks, reading only the first `size` bytes.
    ///
    /// # Errors
    /// [`LAZY_BIND_INVALID_ARGUMENT`](lazy_bind_result::LAZY_BIND_INVALID_ARGUMENT)
    /// when `size` is smaller than the first version of the struct.
    ///
    /// # Safety
    /// `hooks` must be non-null and valid for reads of its own `size` bytes
    /// (which may be fewer than this version's struct: it is never read as a
    /// whole `lazy_bind_runtime_hooks`).
    pub(crate) unsafe fn copy_from(
        hooks: *const lazy_bind_runtime_hooks,
    ) -> Result<Runtime, lazy_bind_result> {
        // SAFETY: `size` is the first field, present in every version.
        let size = unsafe { std::ptr::addr_of!((*hooks).size).read_unaligned() };
        if size < HOOKS_V1_SIZE {
            return Err(LAZY_BIND_INVALID_ARGUMENT);
        }
        let mut copy = MaybeUninit::<lazy_bind_runtime_hooks>::zeroed();
        let known = size.min(size_of::<lazy_bind_runtime_hooks>());
        // SAFETY: the caller guarantees `size >= known` readable bytes; the
        // destination has room for the whole struct; they do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                hooks.cast::<u8>(),
                copy.as_mut_ptr().cast::<u8>(),
                known,
            );
        }
        // SAFETY: every field is valid when zeroed (a size, a pointer, and
        // optional function pointers, for which zero is `None`), and the
        // copied prefix holds the caller's valid fields.
        let mut copy = unsafe { copy.assume_init() };
        copy.size = size_of::<lazy_bind_runtime_hooks>();
        Ok(Runtime(copy))
    }

    /// Takes a new reference to `object` through the retain hook.
    pub(crate) fn retain(self: &Arc<Self>, object: *mut c_void) -> ForeignValue {
        if let Some(retain) = self.0.retain {
            // SAFETY: the runtime gave this hook for exactly this use.
            unsafe { retain(self.0.userdata, object) };
        }
        ForeignValue::adopt(object, Arc::clone(self))
    }
}

/// Room for a description; a longer one is cut and ends in `...`.
const DESCRIPTION_CAPACITY: usize = 512;

impl Runtime {
    /// The runtime's description of the error object `error`, if it has a
    /// describe hook.
    fn describe(&self, error: *mut c_void) -> Option<String> {
        let describe = self.0.describe?;
        let mut buffer = [0 as c_char; DESCRIPTION_CAPACITY];
        // SAFETY: the runtime gave this hook for exactly this use; the
        // buffer is writable for its capacity.
        let full = unsafe { describe(self.0.userdata, error, buffer.as_mut_ptr(), buffer.len()) };
        buffer[DESCRIPTION_CAPACITY - 1] = 0;
        // SAFETY: NUL-terminated within the buffer (set just above).
        let text = unsafe { CStr::from_ptr(buffer.as_ptr()) }.to_string_lossy();
        Some(if full >= DESCRIPTION_CAPACITY {
            format!("{text}...")
        } else {
            text.into_owned()
        })
    }
}

impl Hooks for Runtime {
    fn before_block(&self) {
        if let Some(before_block) = self.0.before_block {
            // SAFETY: the runtime gave this hook for exactly this use.
            unsafe { before_block(self.0.userdata) };
        }
    }

    fn after_wake(&self) {
        if let Some(after_wake) = self.0.after_wake {
            // SAFETY: the runtime gave this hook for exactly this use.
            unsafe { after_wake(self.0.userdata) };
        }
    }
}

/// One reference to a runtime object, owned by the engine: dropping it calls
/// the runtime's release hook. The engine never dereferences `object`.
///
/// `#[repr(C)]` with `object` first: the header's inline fast path reads it
/// as the `value` field of `lazy_bind_slot`.
#[repr(C)]
pub(crate) struct ForeignValue {
    /// The runtime's object pointer; never NULL for a resolved value.
    pub(crate) object: *mut c_void,
    runtime: Arc<Runtime>,
}

// SAFETY: the engine only moves the pointer between threads and hands it back
// to the runtime; the header requires runtime objects to be usable from any
// thread the runtime calls the engine on.
unsafe impl Send for ForeignValue {}
// SAFETY: shared access only reads the pointer value.
unsafe impl Sync for ForeignValue {}

impl ForeignValue {
    /// Takes over a reference the runtime already owns for us.
    pub(crate) fn adopt(object: *mut c_void, runtime: Arc<Runtime>) -> ForeignValue {
        ForeignValue { object, runtime }
    }

    /// The runtime's description of this object (an error object), if the
    /// runtime has a describe hook.
    pub(crate) fn describe(&self) -> Option<String> {
        self.runtime.describe(self.object)
    }
}

/// Cloning takes a new reference through the runtime's retain hook.
impl Clone for ForeignValue {
    fn clone(&self) -> ForeignValue {
        self.runtime.retain(self.object)
    }
}

impl Drop for ForeignValue {
    fn drop(&mut self) {
        if let Some(release) = self.runtime.0.release {
            // SAFETY: we own one reference to `object`, taken with retain or
            // handed over by a resolver; this gives it back exactly once.
            unsafe { release(self.runtime.0.userdata, self.object) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header documents the first version's size as a number.
    #[test]
    fn the_first_version_is_six_pointer_sized_fields() {
        assert_eq!(HOOKS_V1_SIZE, size_of::<[usize; 6]>());
        #[cfg(target_pointer_width = "64")]
        assert_eq!(HOOKS_V1_SIZE, 48);
    }

    #[test]
    fn hooks_older_than_the_first_version_are_rejected() {
        let mut hooks = Runtime::none().0;
        hooks.size = HOOKS_V1_SIZE - 1;
        // SAFETY: the struct is fully readable.
        let result = unsafe { Runtime::copy_from(&hooks) };
        assert!(matches!(result, Err(LAZY_BIND_INVALID_ARGUMENT)));
    }

    #[test]
    fn hooks_of_the_first_version_have_no_describe_hook() {
        unsafe extern "C" fn wake(_: *mut c_void) {}
        let first = lazy_bind_runtime_hooks {
            size: HOOKS_V1_SIZE,
            after_wake: Some(wake),
            ..Runtime::none().0
        };
        // SAFETY: readable for more than its `size`.
        let runtime = unsafe { Runtime::copy_from(&first) }.unwrap();
        assert!(runtime.0.after_wake.is_some());
        assert!(runtime.0.describe.is_none());
        assert_eq!(runtime.describe(std::ptr::null_mut()), None);
    }

    #[test]
    fn a_long_description_is_cut() {
        unsafe extern "C" fn long(
            _: *mut c_void,
            _: *mut c_void,
            buffer: *mut c_char,
            capacity: usize,
        ) -> usize {
            let text = vec![b'x'; 1000];
            // SAFETY: the engine's buffer holds `capacity` bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr().cast(), buffer, capacity - 1);
                *buffer.add(capacity - 1) = 0;
            }
            text.len()
        }
        let mut hooks = Runtime::none().0;
        hooks.describe = Some(long);
        let runtime = Runtime(hooks);
        let text = runtime.describe(std::ptr::null_mut()).unwrap();
        assert_eq!(text.len(), DESCRIPTION_CAPACITY - 1 + 3);
        assert!(text.ends_with("x..."));
    }

    #[test]
    fn a_larger_struct_from_a_newer_header_is_read_up_to_what_we_know() {
        #[repr(C)]
        struct Newer {
            known: lazy_bind_runtime_hooks,
            future_hook: usize,
        }
        unsafe extern "C" fn wake(_: *mut c_void) {}
        let newer = Newer {
            known: lazy_bind_runtime_hooks {
                size: size_of::<Newer>(),
                after_wake: Some(wake),
                ..Runtime::none().0
            },
            future_hook: 42,
        };
        // SAFETY: `newer` is readable for its whole `size`.
        let runtime = unsafe { Runtime::copy_from(&newer.known) }.unwrap();
        assert_eq!(runtime.0.size, size_of::<lazy_bind_runtime_hooks>());
        assert!(runtime.0.after_wake.is_some());
        assert!(runtime.0.before_block.is_none());
        assert_eq!(newer.future_hook, 42);
    }
}
