//! Conformance kit (feature `testing`): proves that an interpreter linking
//! lazy_bind keeps the meaning of programs.
//!
//! - [`program`], [`policy`] and [`case`] are proptest strategies for random
//!   module graphs ([`Program`]: packages and submodules, every import form,
//!   reads at module level and in functions called later, cycles, failing
//!   modules, registrations into a registry module) and lazy policies.
//! - [`predict`] is the reference model: what a run observes ([`Trace`]:
//!   module bodies started, values read, errors and the main statement
//!   where they surface) under a [`Policy`](crate::policy::Policy). With mode
//!   `none` that is CPython's eager meaning; otherwise lazy_bind's.
//!   [`Prediction::differences`] names the documented ways the lazy run may
//!   differ (a deferred registration, an error surfacing later, a cycle).
//! - [`ConformanceRuntime`] is what an interpreter implements; [`check`] and
//!   [`run_cases`] compare it with the model, shrinking a failure to a
//!   minimal program printed as source. [`FakeRuntime`] is the reference
//!   implementation (the engine and [`Importer`](crate::imports::Importer)
//!   behind a tiny interpreter); [`PythonRuntime`] runs the program as real
//!   Python files written by [`write_python`]; [`LuaRuntime`] runs a flat
//!   program ([`Shape::FLAT`]) as Lua modules written by [`write_lua`].
//!
//! See `docs/conformance.md` for a walk-through.

mod fake;
mod harness;
mod interp;
mod lua;
mod model;
mod process;
mod program;
mod python;
mod strategy;
mod trace;

pub use fake::FakeRuntime;
pub use harness::{check, run_cases, run_cases_of, ConformanceRuntime, Mismatch, Runs};
pub use lua::{write_lua, LuaRuntime};
pub use model::{predict, predict_with, Difference, Prediction, Semantics};
pub use program::{function_label, label, Expr, Import, ModuleSource, Program, Stmt, MAIN};
pub use python::{write_python, PythonRuntime};
pub use strategy::{
    case, case_of, policy, policy_of, program, program_of, Case, Shape, FLAT_MODULES, MODULES,
};
pub use trace::{ErrorKind, Event, ParseTraceError, Trace};
