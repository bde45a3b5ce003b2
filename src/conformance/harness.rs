//! The differential harness: run generated programs through a runtime and
//! compare with the model.

use std::cell::RefCell;
use std::fmt;

use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use super::model::{predict_with, Semantics};
use super::program::Program;
use super::strategy::{case_of, Case, Shape};
use super::trace::Trace;
use crate::policy::{Mode, Policy};

/// An interpreter under test: runs a generated [`Program`] with lazy_bind
/// deciding each import by `policy`, and reports what it observed.
///
/// An implementation translates the program into its own language (the
/// [`Display`](fmt::Display) of [`Program`] is Python source; see
/// [`write_python`](super::write_python)), runs the main script's statements
/// each on its own, and records an [`Event`](super::Event) for every module
/// body started, every observation, and every error a main statement raised
/// (classified by its innermost cause). [`FakeRuntime`](super::FakeRuntime)
/// is the reference implementation.
pub trait ConformanceRuntime {
    /// Runs `program` under `policy` in a fresh interpreter state (nothing
    /// imported yet).
    ///
    /// # Errors
    /// The runtime could not run the program at all (a process failed to
    /// start, its output could not be parsed): a description.
    fn run(&mut self, program: &Program, policy: &Policy) -> Result<Trace, String>;

    /// Which import forms this runtime can defer; the model predicts
    /// accordingly. Default: every form.
    fn semantics(&self) -> Semantics {
        Semantics::default()
    }
}

/// A runtime observed something other than the model predicted.
#[derive(Clone, Debug)]
pub struct Mismatch {
    /// The program.
    pub program: Program,
    /// The policy it ran under.
    pub policy: Policy,
    /// The model's prediction.
    pub expected: Trace,
    /// What the runtime observed (or why it could not run).
    pub actual: Result<Trace, String>,
}

impl fmt::Display for Mismatch {
    /// The program as source, the policy, and both traces with the first
    /// differing event marked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "program:\n{}", self.program)?;
        writeln!(f, "policy:\n{}", self.policy)?;
        let actual = match &self.actual {
            Ok(actual) => actual,
            Err(error) => return writeln!(f, "the runtime failed: {error}"),
        };
        let first = self.expected.first_difference(actual).unwrap_or(0);
        for (title, trace) in [
            ("expected (model)", &self.expected),
            ("actual (runtime)", actual),
        ] {
            writeln!(f, "{title}:")?;
            for (i, event) in trace.0.iter().enumerate() {
                let mark = if i == first { ">>" } else { "  " };
                writeln!(f, "{mark} {event}")?;
            }
            if trace.0.len() == first {
                writeln!(f, ">> (end)")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Mismatch {}

/// Runs `program` under `policy` on `runtime` and compares with the model's
/// [`predict`]ion.
///
/// # Errors
/// A [`Mismatch`] when they differ or the runtime could not run.
pub fn check<R: ConformanceRuntime + ?Sized>(
    runtime: &mut R,
    program: &Program,
    policy: &Policy,
) -> Result<(), Box<Mismatch>> {
    let expected = predict_with(program, policy, runtime.semantics());
    let actual = runtime.run(program, policy);
    if actual.as_ref() == Ok(&expected) {
        return Ok(());
    }
    Err(Box::new(Mismatch {
        program: program.clone(),
        policy: policy.clone(),
        expected,
        actual,
    }))
}

/// Which runs of each generated case [`run_cases`] compares with the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runs {
    /// Eagerly (the case's policy with mode `none`), then under the case's
    /// policy.
    EagerAndLazy,
    /// Only eagerly: for a runtime without lazy_bind (plain CPython), which
    /// checks the model's eager meaning.
    Eager,
    /// Only under the case's policy.
    Lazy,
}

/// Runs `config.cases` generated cases on `runtime` and compares the runs
/// chosen by `runs` with the model. On a failure proptest shrinks the case;
/// the error is the [`Mismatch`] of the minimal program, as text.
///
/// # Errors
/// The report of the minimal failing case.
pub fn run_cases<R: ConformanceRuntime>(
    runtime: &mut R,
    config: Config,
    runs: Runs,
) -> Result<(), String> {
    run_cases_of(runtime, Shape::PYTHON, config, runs)
}

/// [`run_cases`] with programs of `shape` ([`Shape::FLAT`] for a runtime
/// whose modules have no submodules, such as Lua's).
///
/// # Errors
/// The report of the minimal failing case.
pub fn run_cases_of<R: ConformanceRuntime>(
    runtime: &mut R,
    shape: Shape,
    config: Config,
    runs: Runs,
) -> Result<(), String> {
    let runtime = RefCell::new(runtime);
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case_of(shape), |Case { program, policy }| {
        let mut runtime = runtime.borrow_mut();
        let policies = match runs {
            Runs::EagerAndLazy => vec![policy.with_mode(Mode::None), policy],
            Runs::Eager => vec![policy.with_mode(Mode::None)],
            Runs::Lazy => vec![policy],
        };
        for policy in policies {
            check(&mut **runtime, &program, &policy)
                .map_err(|mismatch| TestCaseError::fail(mismatch.to_string()))?;
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, _)) => Err(format!("minimal failing case:\n{reason}")),
        Err(TestError::Abort(reason)) => Err(format!("aborted: {reason}")),
    }
}
