//! lazy_bind: a runtime-agnostic engine for lazy bindings.

pub mod policy;
