//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cpython;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use lazy_bind::{Declaration, Site};

/// A declaration of `name` at `test.py:line`.
pub fn decl(name: &str, line: u32) -> Declaration {
    Declaration::new(name, Site::new("test.py", line))
}

/// Runs `body` on its own thread and fails the test if it has not finished
/// within `limit`: a deadlock regression fails instead of hanging CI.
pub fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(body());
    });
    match result.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("test body did not finish within {limit:?}: hang")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("test body panicked"),
    }
}

/// How many threads stress tests use (fewer under Miri, which is slow).
pub fn threads() -> usize {
    if cfg!(miri) {
        3
    } else {
        8
    }
}
