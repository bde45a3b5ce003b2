//! Writing a program out as real Python files, and running it under a
//! Python command as a [`ConformanceRuntime`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::harness::ConformanceRuntime;
use super::model::Semantics;
use super::process;
use super::program::{module_source, write_stmt, Program, MAIN};
use super::trace::Trace;
use crate::policy::{Policy, ENV_VAR};

/// The start of `main.py`: the observation helpers (`_ran`, `_obs`, `_err`)
/// made builtins so module bodies use them without importing anything.
const PRELUDE: &str = r#"import builtins
import types


def _fmt(value):
    if isinstance(value, types.ModuleType):
        return "<module " + value.__name__ + ">"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    if isinstance(value, types.FunctionType):
        return "<function " + value.__module__ + "." + value.__name__ + ">"
    return repr(value)


def _ran(name):
    print("ran", name, flush=True)


def _obs(label, value):
    print("value", label, _fmt(value), flush=True)


def _err(label, error):
    while error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, RuntimeError):
        kind = "raised " + str(error)
    elif isinstance(error, NameError):
        kind = "name " + str(error.name)
    elif type(error).__name__ == "LazyImportCycleError":
        kind = "cycle"
    elif isinstance(error, ModuleNotFoundError):
        kind = "other ModuleNotFoundError " + str(error.name)
    elif isinstance(error, ImportError):
        kind = "import-name " + str(error.name)
    elif isinstance(error, AttributeError):
        kind = "attribute " + str(error.name)
    else:
        kind = "other " + type(error).__name__
    print("error", label, kind, flush=True)


builtins._ran = _ran
builtins._obs = _obs
del builtins
"#;

/// Writes `program` into directory `dir` (created if needed) as Python
/// files: a package `p.q` is `p/q/__init__.py`, a module `p.a` is
/// `p/a.py`, and `main.py` holds the prelude and the main script. Each main
/// statement runs on its own, as module-level code passed to `exec` inside a
/// `try` that reports an error as `error LABEL KIND` and goes on: the `try`
/// is in `main.py`'s code, not the statement's, so a lazy runtime still sees
/// a module-level import outside any exception handler. Running
/// `python3 main.py` in `dir` prints the events of [`Trace`]'s format.
///
/// # Errors
/// Creating a directory or writing a file failed.
pub fn write_python(program: &Program, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for module in &program.modules {
        let mut path = dir.to_path_buf();
        path.extend(module.name.split('.'));
        let path = if module.package {
            fs::create_dir_all(&path)?;
            path.join("__init__.py")
        } else {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            path.with_extension("py")
        };
        fs::write(path, module_source(module))?;
    }
    let mut main = String::from(PRELUDE);
    for (index, stmt) in program.main.iter().enumerate() {
        let mut source = String::new();
        // Writing into a String cannot fail.
        let _ = write_stmt(&mut source, MAIN, index, stmt, "");
        main.push_str(&format!(
            "\ntry:\n    exec(compile({}, 'main.py', 'exec'), globals())\n\
             except Exception as error:\n    _err('{}', error)\n",
            python_string(&source),
            super::program::label(MAIN, index)
        ));
    }
    fs::write(dir.join("main.py"), main)
}

/// `text` as a single-quoted Python string literal.
fn python_string(text: &str) -> String {
    let mut literal = String::from("'");
    for c in text.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '\'' => literal.push_str("\\'"),
            '\n' => literal.push_str("\\n"),
            c => literal.push(c),
        }
    }
    literal.push('\'');
    literal
}

/// Runs programs under a Python command: each program is written into a
/// fresh directory below `scratch` and the command is run there with
/// `main.py` appended; its standard output is parsed as a [`Trace`].
///
/// [`PythonRuntime::eager`] is plain CPython, whose meaning is the model's
/// eager prediction (run it with a policy of mode `none`).
/// [`PythonRuntime::lazy`] is the CPython adaptor (`python -m lazy_bind
/// main.py`), given the policy in the `LAZY_BIND_POLICY` environment
/// variable; compare it with [`check`](super::check) exactly as the eager
/// runtime.
#[derive(Debug, Clone)]
pub struct PythonRuntime {
    command: Vec<String>,
    scratch: PathBuf,
    pass_policy: bool,
    semantics: Semantics,
}

impl PythonRuntime {
    /// `python main.py`: CPython's eager meaning; the policy is not passed.
    pub fn eager(python: &str, scratch: impl Into<PathBuf>) -> Self {
        PythonRuntime {
            command: vec![python.to_owned()],
            scratch: scratch.into(),
            pass_policy: false,
            semantics: Semantics::default(),
        }
    }

    /// `python -m lazy_bind main.py` with the policy in `LAZY_BIND_POLICY`:
    /// the CPython adaptor's lazy meaning.
    pub fn lazy(python: &str, scratch: impl Into<PathBuf>) -> Self {
        PythonRuntime {
            command: vec![python.to_owned(), "-m".to_owned(), "lazy_bind".to_owned()],
            scratch: scratch.into(),
            pass_policy: true,
            // The stock adaptor imports the module of a `from` import at the
            // statement (its own imports stay lazy).
            semantics: Semantics {
                defer_from_imports: false,
                lazy_cycle_on_partial_module: false,
                bind_loaded_modules: false,
                partial_module_on_reentry: false,
            },
        }
    }
}

impl ConformanceRuntime for PythonRuntime {
    fn semantics(&self) -> Semantics {
        self.semantics
    }

    fn run(&mut self, program: &Program, policy: &Policy) -> Result<Trace, String> {
        let dir = process::program_dir(&self.scratch);
        write_python(program, &dir).map_err(|e| format!("writing {}: {e}", dir.display()))?;
        let mut command = Command::new(&self.command[0]);
        command
            .args(&self.command[1..])
            .arg("main.py")
            .current_dir(&dir)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        if self.pass_policy {
            command.env(ENV_VAR, policy.to_string());
        } else {
            command.env_remove(ENV_VAR);
        }
        process::trace_of(&mut command, &format!("{:?}", self.command), &dir)
    }
}
