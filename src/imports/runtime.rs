//! The hooks an interpreter implements so the engine can import for it.

use crate::{Handle, ResolveError};

/// What an interpreter provides so that the engine can carry out import
/// semantics without knowing the interpreter.
///
/// Every hook may be called from any thread that resolves a binding, possibly
/// several at once, with no engine lock held; hooks may call back into the
/// engine (resolve other entries, defer new imports). Errors a hook returns
/// reach the runtime unchanged inside
/// [`Error::ResolverFailed`](crate::Error::ResolverFailed), so the runtime
/// can recover its own exception object with
/// [`ResolveError::downcast_ref`].
///
/// # Thread-safety
/// `Send + Sync`: the hooks are shared by every resolver of an
/// [`Importer`](super::Importer). A runtime with a global lock takes it inside
/// each hook (or relies on the caller holding it).
pub trait ImportRuntime: Send + Sync + 'static {
    /// The runtime's value (a module or any attribute). `Clone` and `Drop`
    /// are the runtime's retain and release.
    type Value: Send + Sync + Clone + 'static;

    /// Imports the module with the absolute name `name` (running its body if
    /// it is not loaded yet) and returns it. `fromlist` is the list of names
    /// the statement asks for (CPython's `fromlist`; empty for `import a.b`).
    ///
    /// The engine calls it once per dotted prefix, parents first, so the
    /// runtime never has to import parents itself. A module already being
    /// imported on this thread (an import cycle) is returned as it is, as
    /// CPython does with a partly initialised module.
    ///
    /// # Errors
    /// The module cannot be found, or its body failed: that error is what the
    /// binding's access reports.
    fn import_module(&self, name: &str, fromlist: &[&str]) -> Result<Self::Value, ResolveError>;

    /// Reads attribute `name` of `module`: `Ok(None)` if it has none. A
    /// value that is a lazy placeholder is returned as it is (the engine
    /// resolves it through [`as_lazy`](ImportRuntime::as_lazy)).
    ///
    /// # Errors
    /// Reading the attribute ran code that failed.
    fn get_attr(
        &self,
        module: &Self::Value,
        name: &str,
    ) -> Result<Option<Self::Value>, ResolveError>;

    /// Binds a just-imported submodule `value` as attribute `name` of its
    /// parent `module`, only if the parent has no attribute `name` yet: a
    /// pending submodule never overwrites an existing attribute.
    ///
    /// # Errors
    /// Setting the attribute failed.
    fn set_attr_if_absent(
        &self,
        module: &Self::Value,
        name: &str,
        value: &Self::Value,
    ) -> Result<(), ResolveError>;

    /// The module named `name` if it is loaded and fully initialised, without
    /// importing anything (used by [`Importer::hydrate`](super::Importer::hydrate)).
    /// A module whose body is still running must give `None`.
    fn loaded_module(&self, name: &str) -> Option<Self::Value>;

    /// Whether the module named `name` can be found, without running it (used
    /// by [`Importer::validate`](super::Importer::validate)). For a submodule
    /// the runtime may need its parent's search path; it must not run the
    /// target's own body.
    fn can_find(&self, name: &str) -> bool;

    /// The handle of the placeholder if `value` is itself a lazy binding of
    /// the same engine (an attribute that another module bound lazily), so
    /// the engine resolves it in turn; `None` for an ordinary value.
    fn as_lazy(&self, value: &Self::Value) -> Option<Handle>;
}
