//! lazy_bind: a runtime-agnostic engine for lazy bindings (lazy imports).
//!
//! An interpreter links lazy_bind to defer work (typically an `import`) until
//! the bound name is first used. The engine keeps a table of deferred entries;
//! the runtime stores a [`Handle`] in its namespace in place of the value and
//! calls [`Engine::resolve`] on access. The first access runs the runtime's
//! resolver exactly once; every later access is a single atomic load.
//!
//! ```
//! use lazy_bind::{Declaration, Engine, Site};
//!
//! let engine: Engine<String> = Engine::new();
//! let json = engine.create(
//!     Declaration::new("json", Site::new("main.py", 3)),
//!     |_| Ok("<module 'json'>".to_owned()),
//! );
//! assert!(engine.get(json).is_none()); // deferred: nothing ran yet
//! assert_eq!(engine.resolve(json).unwrap(), "<module 'json'>");
//! ```
//!
//! Cycles (`a` needs `b` needs `a`) and cross-thread deadlocks are reported
//! as [`Error::Cycle`] and [`Error::Deadlock`] naming the whole chain.
//! The design and its memory-ordering arguments are in [`docs`].

#![deny(missing_docs)]
#![warn(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "testing")]
pub mod conformance;
mod depth;
pub mod docs;
mod engine;
mod error;
mod ffi;
mod handle;
mod hooks;
pub mod imports;
pub mod native;
pub mod policy;
mod site;
mod stack;
mod thread;
pub mod trace;
pub mod wait;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use engine::{
    Counters, Engine, EngineBuilder, Entry, EntryInfo, EntryState, ForkReport, Peek, Resolution,
};
pub use error::{Chain, ChainLink, Error, LinkKind, ResolveError};
pub use handle::Handle;
pub use hooks::{Hooks, NoHooks};
pub use site::{Declaration, Site};
pub use thread::ThreadKey;
