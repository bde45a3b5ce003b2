//! The panic boundary and argument checks every exported function uses.

use std::ffi::{c_char, CStr};
use std::panic::{self, AssertUnwindSafe};

use super::lazy_bind_result::{self, *};

/// Runs the body of an exported function that returns a status.
///
/// A panic inside `body` is stopped here and becomes
/// [`LAZY_BIND_PANIC`](lazy_bind_result::LAZY_BIND_PANIC): no unwind ever
/// crosses into C. The engine recovers from panics by itself (its slots are
/// never left half-changed), which is why asserting unwind safety is sound.
pub(crate) fn status(body: impl FnOnce() -> Result<(), lazy_bind_result>) -> lazy_bind_result {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => LAZY_BIND_OK,
        Ok(Err(status)) => status,
        Err(_) => LAZY_BIND_PANIC,
    }
}

/// Runs the body of an exported function that returns a value (an accessor),
/// returning `fallback` if it panics.
pub(crate) fn value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    panic::catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The body of every `_free(T **)`: takes the object out of the caller's
/// variable (leaving NULL there, so freeing twice through the same variable
/// is harmless), then hands it to `free`. Does nothing if `slot` or `*slot`
/// is NULL. A panic while freeing is stopped here.
///
/// # Safety
/// `slot` must be NULL or valid for reads and writes.
pub(crate) unsafe fn free_through<T>(slot: *mut *mut T, free: impl FnOnce(*mut T)) {
    value((), || {
        if slot.is_null() {
            return;
        }
        // SAFETY: the caller guarantees `slot` is readable and writable.
        let object = unsafe { slot.replace(std::ptr::null_mut()) };
        if !object.is_null() {
            free(object);
        }
    })
}

/// [`free_through`] for objects made by `Box::into_raw`.
///
/// # Safety
/// `slot` must be NULL or valid for reads and writes, and `*slot` NULL or a
/// pointer from `Box::<T>::into_raw` that nobody else uses and that is not
/// freed yet.
pub(crate) unsafe fn free_box<T>(slot: *mut *mut T) {
    // SAFETY: the caller guarantees the pointer's origin and that this is its
    // only free (the caller's variable now holds NULL).
    unsafe { free_through(slot, |object| drop(Box::from_raw(object))) }
}

/// A shared reference to a required argument.
///
/// # Safety
/// `pointer` must be NULL or valid for reads as a `T` for `'a`.
pub(crate) unsafe fn arg<'a, T>(pointer: *const T) -> Result<&'a T, lazy_bind_result> {
    // SAFETY: the caller guarantees a non-null pointer is valid for `'a`.
    unsafe { pointer.as_ref() }.ok_or(LAZY_BIND_NULL_ARGUMENT)
}

/// Checks that a required out-parameter is not NULL.
pub(crate) fn out<T>(pointer: *mut T) -> Result<*mut T, lazy_bind_result> {
    if pointer.is_null() {
        Err(LAZY_BIND_NULL_ARGUMENT)
    } else {
        Ok(pointer)
    }
}

/// Writes `value` to an optional out-parameter (does nothing for NULL).
///
/// # Safety
/// `pointer` must be NULL or valid for writes of a `T`.
pub(crate) unsafe fn write_optional<T>(pointer: *mut T, value: T) {
    if !pointer.is_null() {
        // SAFETY: non-null, and the caller guarantees it is writable.
        unsafe { pointer.write(value) };
    }
}

/// A required C string argument as UTF-8.
///
/// # Safety
/// `string` must be NULL or point to a NUL-terminated string that lives for
/// `'a`.
pub(crate) unsafe fn str_arg<'a>(string: *const c_char) -> Result<&'a str, lazy_bind_result> {
    // SAFETY: forwarded to the caller.
    unsafe { optional_str_arg(string) }?.ok_or(LAZY_BIND_NULL_ARGUMENT)
}

/// An optional C string argument as UTF-8 (`None` for NULL).
///
/// # Safety
/// As for [`str_arg`].
pub(crate) unsafe fn optional_str_arg<'a>(
    string: *const c_char,
) -> Result<Option<&'a str>, lazy_bind_result> {
    if string.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null, and the caller guarantees a NUL-terminated string.
    let string = unsafe { CStr::from_ptr(string) };
    string
        .to_str()
        .map(Some)
        .map_err(|_| LAZY_BIND_INVALID_UTF8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_not_an_unwind() {
        let result = status(|| panic!("resolver hook blew up"));
        assert_eq!(result, LAZY_BIND_PANIC);
        assert_eq!(value(7, || -> i32 { panic!("accessor") }), 7);
        assert_eq!(status(|| Err(LAZY_BIND_CYCLE)), LAZY_BIND_CYCLE);
        assert_eq!(status(|| Ok(())), LAZY_BIND_OK);
    }

    #[test]
    fn strings_are_checked_for_null_and_utf8() {
        // SAFETY: NULL and NUL-terminated literals.
        unsafe {
            assert_eq!(str_arg(std::ptr::null()), Err(LAZY_BIND_NULL_ARGUMENT));
            assert_eq!(optional_str_arg(std::ptr::null()), Ok(None));
            assert_eq!(str_arg(c"json".as_ptr()), Ok("json"));
            let bad = b"\xff\xfe\0";
            assert_eq!(str_arg(bad.as_ptr().cast()), Err(LAZY_BIND_INVALID_UTF8));
        }
    }
}
