//! Builds the CPython adaptor (`runtimes/cpython/`, a C extension that uses
//! only `include/lazy_bind.h` and the static library) into a virtual
//! environment (see `common/cpython.rs`) and runs its pytest suite there.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cpython::{adaptor_python, root};

/// How long the pytest suite may run before it counts as hung.
const PYTEST_TIMEOUT: Duration = Duration::from_secs(240);

#[test]
fn cpython_adaptor_pytest_suite_passes() {
    let python = adaptor_python();
    let mut child = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("runtimes").join("cpython").join("tests"))
        .current_dir(root())
        .stdin(Stdio::null())
        .spawn()
        .expect("pytest starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("pytest can be waited for") {
            break status;
        }
        if started.elapsed() > PYTEST_TIMEOUT {
            let _ = child.kill();
            panic!("the CPython adaptor's pytest suite hung (over {PYTEST_TIMEOUT:?})");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "the CPython adaptor's pytest suite failed ({status}); its output is above"
    );
}
