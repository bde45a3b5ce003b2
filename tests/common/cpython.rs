//! The CPython adaptor installed in a virtual environment, shared by the
//! tests that run Python under it.
//!
//! The interpreter is `python3`, or `LAZY_BIND_PYTHON` if set (CPython 3.11
//! or later, with its headers, free-threaded or not; the test command runs
//! these tests once more on CPython 3.13 and 3.13t that way). Its
//! environment lives in `CARGO_TARGET_TMPDIR/cpython-venv` (for `python3`)
//! or `cpython-venv-<cache tag><ABI flags>` (e.g. `cpython-venv-cpython-313t`)
//! and is made once (`-m venv`, then setuptools, wheel and pytest from the
//! package registry); [`adaptor_python`] reinstalls the adaptor from source
//! with `pip install --no-build-isolation --no-deps`, which builds the crate
//! with cargo into `target/cpython-adaptor`. A missing interpreter fails the
//! test; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command` to completion and panics with its output if it fails.
pub fn run(command: &mut Command, what: &str) -> Output {
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

/// The interpreter the tests run CPython code on: `LAZY_BIND_PYTHON`, or
/// `python3`.
pub fn base_python() -> String {
    std::env::var("LAZY_BIND_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// `python`'s cache tag and ABI flags, e.g. `cpython-313t`: one virtual
/// environment per interpreter build.
fn interpreter_tag(python: &str) -> String {
    let output = run(
        Command::new(python).args([
            "-c",
            "import sys, sysconfig; \
             print(sys.implementation.cache_tag + (sysconfig.get_config_var('ABIFLAGS') or ''))",
        ]),
        "the interpreter's cache tag",
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The virtual environment's interpreter, creating the environment (with
/// pytest and hypothesis, pinned by the shared pytest smoke suite's
/// requirements) if it does not exist yet or its requirements changed.
fn venv_python() -> PathBuf {
    let base = base_python();
    let name = match std::env::var_os("LAZY_BIND_PYTHON") {
        None => "cpython-venv".to_owned(),
        Some(_) => format!("cpython-venv-{}", interpreter_tag(&base)),
    };
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin").join("python");
    let ready = venv.join(".lazy-bind-ready");
    let requirements = root().join("runtimes/cpython-common/tests/pytest_smoke/requirements.txt");
    let wanted = std::fs::read(&requirements).expect("the smoke suite's requirements exist");
    if std::fs::read(&ready).ok().as_deref() != Some(&wanted[..]) {
        let _ = std::fs::remove_dir_all(&venv);
        run(
            Command::new(&base).arg("-m").arg("venv").arg(&venv),
            "python -m venv",
        );
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "setuptools",
                    "wheel",
                    "-r",
                ])
                .arg(&requirements),
            "pip install setuptools wheel pytest hypothesis",
        );
        std::fs::write(&ready, &wanted).expect("the venv marker can be written");
    }
    python
}

/// The environment's interpreter with the adaptor freshly installed from
/// `runtimes/cpython`, once per test binary: tests of one binary run in
/// parallel, and two installs from the same source tree at once collide in
/// its `build/` directory.
pub fn adaptor_python() -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED.get_or_init(install_adaptor).clone()
}

fn install_adaptor() -> PathBuf {
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
            .arg(root().join("runtimes").join("cpython"))
            .env("LAZY_BIND_REPO", root()),
        "pip install ./runtimes/cpython",
    );

    python
}
