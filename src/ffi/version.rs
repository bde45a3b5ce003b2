//! The library's version, for checking that header and library agree.

use std::ffi::c_char;

use super::boundary;

/// Major version of the header (and of the crate it came from).
pub const LAZY_BIND_VERSION_MAJOR: u32 = 0;
/// Minor version of the header.
pub const LAZY_BIND_VERSION_MINOR: u32 = 1;
/// Patch version of the header.
pub const LAZY_BIND_VERSION_PATCH: u32 = 0;

/// The library's version, packed as `major << 16 | minor << 8 | patch` (the
/// same packing as the header's `LAZY_BIND_VERSION`).
const PACKED: u32 =
    LAZY_BIND_VERSION_MAJOR << 16 | LAZY_BIND_VERSION_MINOR << 8 | LAZY_BIND_VERSION_PATCH;

/// The linked library's version, NUL-terminated.
const TEXT: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of the library linked at run time, packed as
/// `major << 16 | minor << 8 | patch`. Compare it with the header's
/// `LAZY_BIND_VERSION` to detect a header/library mismatch.
///
/// # Thread-safety
/// Any thread.
#[no_mangle]
pub extern "C" fn lazy_bind_version() -> u32 {
    boundary::value(0, || PACKED)
}

/// The version of the library linked at run time as a static string
/// (`"0.1.0"`).
///
/// # Thread-safety
/// Any thread; the string lives for the whole process.
#[no_mangle]
pub extern "C" fn lazy_bind_version_string() -> *const c_char {
    boundary::value(std::ptr::null(), || TEXT.as_ptr().cast())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header's macros are literals; this keeps them equal to the
    /// crate's version.
    #[test]
    fn header_constants_match_the_crate_version() {
        assert_eq!(
            LAZY_BIND_VERSION_MAJOR,
            env!("CARGO_PKG_VERSION_MAJOR").parse::<u32>().unwrap()
        );
        assert_eq!(
            LAZY_BIND_VERSION_MINOR,
            env!("CARGO_PKG_VERSION_MINOR").parse::<u32>().unwrap()
        );
        assert_eq!(
            LAZY_BIND_VERSION_PATCH,
            env!("CARGO_PKG_VERSION_PATCH").parse::<u32>().unwrap()
        );
        let packed = env!("CARGO_PKG_VERSION")
            .split('.')
            .map(|part| part.parse::<u32>().unwrap())
            .fold(0, |packed, part| packed << 8 | part);
        assert_eq!(lazy_bind_version(), packed);
        // SAFETY: a static NUL-terminated string.
        let text = unsafe { std::ffi::CStr::from_ptr(lazy_bind_version_string()) };
        assert_eq!(text.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
