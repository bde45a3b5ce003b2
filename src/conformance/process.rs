//! Running a rendered program in an interpreter process: what the
//! process-based runtimes ([`PythonRuntime`](super::PythonRuntime),
//! [`LuaRuntime`](super::LuaRuntime)) share.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use super::trace::Trace;

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// A directory under `scratch` that no other run of this process uses.
pub(crate) fn program_dir(scratch: &Path) -> PathBuf {
    // Relaxed: the counter only has to hand out distinct numbers.
    let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
    scratch.join(format!("program-{}-{n}", std::process::id()))
}

/// Runs `command` (`what` names it in errors) on the program written in
/// `dir` and returns the trace it printed, removing `dir`. A failure to
/// start, a non-zero exit (with both outputs) or an unparsable trace is an
/// error, and `dir` is left for inspection.
pub(crate) fn trace_of(command: &mut Command, what: &str, dir: &Path) -> Result<Trace, String> {
    let output = command
        .output()
        .map_err(|e| format!("running {what}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{what} in {} exited with {}:\n{}\n{}",
            dir.display(),
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let trace = Trace::parse(&stdout).map_err(|e| e.to_string())?;
    fs::remove_dir_all(dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
    Ok(trace)
}
