//! Builds the CPython adaptor (`ffi-tests/cpython/`, a C extension that uses
//! only `include/lazy_bind.h` and the static library) into a virtual
//! environment and runs its pytest suite there.
//!
//! The environment lives in `CARGO_TARGET_TMPDIR/cpython-venv` and is made
//! once (`python3 -m venv`, then setuptools, wheel and pytest from the
//! package registry); every run reinstalls the adaptor from source with
//! `pip install --no-build-isolation --no-deps`, which builds the crate with
//! cargo into `target/cpython-adaptor`. The interpreter is `python3`, or
//! `LAZY_BIND_PYTHON` if set (CPython 3.11 or later, with its headers). A
//! missing interpreter fails the test; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long the pytest suite may run before it counts as hung.
const PYTEST_TIMEOUT: Duration = Duration::from_secs(240);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command` to completion and panics with its output if it fails.
fn run(command: &mut Command, what: &str) -> Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The virtual environment's interpreter, creating the environment (with
/// pytest) if it does not exist yet.
fn venv_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cpython-venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join(".lazy-bind-ready");
    if !ready.exists() {
        let base = std::env::var("LAZY_BIND_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let _ = std::fs::remove_dir_all(&venv);
        run(
            Command::new(&base).arg("-m").arg("venv").arg(&venv),
            "python3 -m venv",
        );
        run(
            Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "setuptools",
                "wheel",
                "pytest",
            ]),
            "pip install setuptools wheel pytest",
        );
        std::fs::write(&ready, b"").expect("the venv marker can be written");
    }
    python
}

#[test]
fn cpython_adaptor_pytest_suite_passes() {
    let python = venv_python();
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-build-isolation",
                "--no-deps",
                "--force-reinstall",
            ])
            .arg(root().join("ffi-tests").join("cpython"))
            .env("LAZY_BIND_REPO", root()),
        "pip install ./ffi-tests/cpython",
    );

    let mut child = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("ffi-tests").join("cpython").join("tests"))
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
