//! Owned strings handed to C (messages, explanations, reports) and their
//! free function.

use std::ffi::{c_char, CString};

use super::boundary;
use super::error::c_string;

/// Hands `text` to C as an owned, NUL-terminated string (an interior NUL is
/// written as `\0`); C frees it with `lazy_bind_string_free`.
pub(crate) fn owned(text: &str) -> *mut c_char {
    c_string(text).into_raw()
}

/// Writes `text` as an owned string to the optional `string_out`.
///
/// # Safety
/// `string_out` must be NULL or valid for writes.
pub(crate) unsafe fn write_optional_owned(string_out: *mut *mut c_char, text: &str) {
    if !string_out.is_null() {
        // SAFETY: non-null, and the caller guarantees it is writable.
        unsafe { string_out.write(owned(text)) };
    }
}

/// Frees a string that lazy_bind returned as owned (a policy error message,
/// an explanation, a report) and sets `*string` to NULL.
///
/// Does nothing if `string` or `*string` is NULL, so freeing twice through
/// the same variable is harmless. Only strings documented as "owned, free
/// with `lazy_bind_string_free`" may be passed: never strings borrowed from
/// an error object, nor memory from `malloc`.
///
/// # Safety
/// `string` must be NULL or point to NULL or to an owned string returned by
/// lazy_bind and not freed yet.
///
/// # Thread-safety
/// Any thread may free a string, whichever thread received it.
#[no_mangle]
pub unsafe extern "C" fn lazy_bind_string_free(string: *mut *mut c_char) {
    boundary::value((), || {
        if string.is_null() {
            return;
        }
        // SAFETY: the caller guarantees `string` is readable and writable.
        let object = unsafe { string.replace(std::ptr::null_mut()) };
        if !object.is_null() {
            // SAFETY: `object` came from `CString::into_raw` in `owned`, and
            // is freed only once (the slot now holds NULL).
            drop(unsafe { CString::from_raw(object) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_strings_round_trip_and_free_nulls_the_pointer() {
        let mut string = owned("a\0b");
        // SAFETY: just returned by `owned`.
        let text = unsafe { std::ffi::CStr::from_ptr(string) };
        assert_eq!(text.to_str().unwrap(), "a\\0b");
        // SAFETY: an owned string, then NULL, then a NULL pointer-to-pointer.
        unsafe {
            lazy_bind_string_free(&mut string);
            assert!(string.is_null());
            lazy_bind_string_free(&mut string);
            lazy_bind_string_free(std::ptr::null_mut());
        }
    }
}
