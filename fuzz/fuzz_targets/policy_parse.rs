//! The policy text parser on any bytes: a valid policy or an error whose line
//! and column point into the input at the offending text, never a panic.
//!
//! Properties checked on every input:
//! - `Policy::parse` and `Policy::parse_rules` never panic.
//! - An error's line is a physical line of the input; its column lies
//!   within that line (or just past its end for a missing argument); the
//!   text at that column is the error's text (for a bad module name: the
//!   offending character inside it); the message starts with
//!   `policy line L, column C: `.
//! - A parsed policy printed with `Display` parses back to an equal policy
//!   that prints the same text.
//! - `parse_rules` accepts exactly the texts `parse` accepts that have no
//!   `mode` statement, with the same rules.
//! - The C ABI's `lazy_bind_policy_parse` agrees: the same status and, on a
//!   syntax error, the same message.
#![no_main]

use std::ffi::{c_char, CStr, CString};

use lazy_bind::policy::{NameReason, Policy, PolicyError, PolicyErrorKind};
use libfuzzer_sys::fuzz_target;

/// An opaque `lazy_bind_policy`.
#[repr(C)]
struct CPolicy {
    _private: [u8; 0],
}

extern "C" {
    fn lazy_bind_policy_parse(
        text: *const c_char,
        policy_out: *mut *mut CPolicy,
        error_message_out: *mut *mut c_char,
    ) -> u32;
    fn lazy_bind_policy_free(policy: *mut *mut CPolicy);
    fn lazy_bind_string_free(string: *mut *mut c_char);
}

const OK: u32 = 0;
const INVALID_UTF8: u32 = 9;
const POLICY_SYNTAX: u32 = 12;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_text(text);
    }
    check_c_abi(data);
});

fn check_text(text: &str) {
    let parsed = Policy::parse(text);
    match &parsed {
        Ok(policy) => check_round_trip(policy),
        Err(error) => check_error_location(text, error),
    }
    let rules_only = Policy::parse_rules(text);
    match (&parsed, &rules_only) {
        (Ok(policy), Ok(rules)) => {
            assert_eq!(rules.mode(), lazy_bind::policy::Mode::Normal);
            assert_eq!(policy.with_mode(rules.mode()), *rules);
        }
        (Ok(_), Err(error)) => {
            assert_eq!(error.kind, PolicyErrorKind::ModeNotAllowed, "{error}");
            check_error_location(text, error);
        }
        (Err(_), Ok(rules)) => panic!("parse_rules accepted what parse rejects: {rules:?}"),
        (Err(_), Err(error)) => check_error_location(text, error),
    }
}

fn check_round_trip(policy: &Policy) {
    let printed = policy.to_string();
    let reparsed = Policy::parse(&printed)
        .unwrap_or_else(|error| panic!("printed policy {printed:?} does not parse: {error}"));
    assert_eq!(&reparsed, policy, "printed as {printed:?}");
    assert_eq!(reparsed.to_string(), printed);
}

fn check_error_location(text: &str, error: &PolicyError) {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|raw| raw.strip_suffix('\r').unwrap_or(raw))
        .collect();
    assert!(
        (1..=lines.len()).contains(&error.line),
        "line {} of {} lines: {error}",
        error.line,
        lines.len()
    );
    let line: Vec<char> = lines[error.line - 1].chars().collect();
    assert!(
        (1..=line.len() + 1).contains(&error.column),
        "column {} in a line of {} characters: {error}",
        error.column,
        line.len()
    );
    let text_chars: Vec<char> = error.text.chars().collect();
    assert!(!text_chars.is_empty(), "an error names its text: {error}");
    let at = error.column - 1;
    match error.kind {
        PolicyErrorKind::MissingArgument => {
            assert!(at >= text_chars.len(), "{error}");
            assert_eq!(line[at - text_chars.len()..at], text_chars[..], "{error}");
        }
        PolicyErrorKind::InvalidName(reason) => {
            let expected = match reason {
                NameReason::InvalidStart(c) | NameReason::InvalidCharacter(c) => c,
                NameReason::MisplacedStar => '*',
                NameReason::EmptySegment => '.',
                _ => panic!("a policy token is never empty: {error}"),
            };
            assert_eq!(line.get(at), Some(&expected), "{error}");
            let inside = (0..=at).rev().any(|start| {
                line[start..].starts_with(&text_chars) && at < start + text_chars.len()
            });
            assert!(inside, "the column lies inside the name: {error}");
        }
        _ => assert!(line[at..].starts_with(&text_chars), "{error}"),
    }
    let prefix = format!("policy line {}, column {}: ", error.line, error.column);
    assert!(error.to_string().starts_with(&prefix), "{error}");
}

/// Runs the bytes up to the first NUL through the C ABI and compares.
fn check_c_abi(data: &[u8]) {
    let bytes = data.split(|&b| b == 0).next().unwrap_or_default();
    let c_text = CString::new(bytes).expect("no NUL left");
    let mut policy: *mut CPolicy = std::ptr::null_mut();
    let mut message: *mut c_char = std::ptr::null_mut();
    // SAFETY: a NUL-terminated string and two writable out-parameters.
    let status = unsafe { lazy_bind_policy_parse(c_text.as_ptr(), &mut policy, &mut message) };
    let expected = std::str::from_utf8(bytes).map(Policy::parse);
    match (&expected, status) {
        (Err(_), INVALID_UTF8) | (Ok(Ok(_)), OK) => {}
        (Ok(Err(error)), POLICY_SYNTAX) => {
            assert!(!message.is_null(), "a syntax error comes with a message");
            // SAFETY: the library wrote a NUL-terminated string it owns.
            let got = unsafe { CStr::from_ptr(message) }.to_str().expect("UTF-8");
            assert_eq!(got, error.to_string());
        }
        _ => panic!("C status {status} for Rust result {expected:?}"),
    }
    assert_eq!(
        status == OK,
        !policy.is_null(),
        "policy written only on success"
    );
    assert!(status == POLICY_SYNTAX || message.is_null());
    // SAFETY: each pointer is NULL or an object the library handed out.
    unsafe {
        lazy_bind_policy_free(&mut policy);
        lazy_bind_string_free(&mut message);
    }
}
