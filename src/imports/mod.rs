//! Import bindings: Python's import semantics on top of the engine, for any
//! runtime.
//!
//! An interpreter turns each import statement into an [`ImportSpec`]
//! (relative names made absolute by [`resolve_name`]), hands it to
//! [`Importer::defer`] with the namespace it runs in, and binds each returned
//! [`Binding`]'s name to a placeholder for its handle. On first use it calls
//! [`Importer::resolve`]; the entry's resolver carries out the import through
//! the runtime's [`ImportRuntime`] hooks:
//!
//! - `import a.b.c` imports `a`, then `a.b`, then `a.b.c`, binds each child
//!   onto its parent unless the parent already has an attribute of that name,
//!   and yields `a`. A later `import a.x` in the same namespace, while `a` is
//!   still pending, joins the same entry as a pending submodule.
//! - `import a.b as c` imports the same chain and yields `a.b`.
//! - `from a import x` imports `a` asking for `x`, takes attribute `x`, falls
//!   back to submodule `a.x`, and resolves the value in turn if it is itself
//!   a lazy placeholder. A submodule that fails reports its own error.
//!
//! [`Importer::hydrate`] resolves, without importing, every pending binding
//! whose target is already loaded; [`Importer::validate`] lists pending
//! bindings whose modules cannot be found, without running them. While a
//! guarded import (a statement inside `try`, run eagerly) runs,
//! [`Importer::missing_under_guard`] says which imports must run at once so
//! that their `ModuleNotFoundError` reaches the guard.
//! [`Importer::lazy_modules`] lists the modules pending bindings will import
//! and that are not loaded yet (CPython 3.15's `sys.lazy_modules`).
//!
//! # Rebind contract
//! The engine never writes into the runtime's namespaces. The runtime does,
//! under these rules:
//! 1. After `defer`, it stores in slot [`Binding::name`] a placeholder that
//!    carries [`Binding::handle`] (the handle itself, or an object wrapping
//!    it). A handle is a `(stamp, index)` pair whose stamp is unique in the
//!    process, so comparing handles compares placeholder identities.
//! 2. On access to a slot holding a placeholder for handle `h`, it calls
//!    `resolve(h)`, then, under the lock that guards the namespace, replaces
//!    the slot's value with the result only if the slot still holds a
//!    placeholder for `h` ([`rebind_slot`] does this compare-and-replace;
//!    [`Binding::is_same_placeholder`] is the comparison). If user code
//!    rebound the name meanwhile, or another import statement bound a new
//!    placeholder there, the slot is left alone; the value is still returned
//!    to the access that asked for it.
//! 3. Merged statements (`import a.b` then `import a.c`) return the same
//!    handle, so a slot that holds it stays valid for both.
//!
//! # Errors
//! Bad statements are rejected when the spec is built, with an
//! [`ImportError`]. Resolution errors are the engine's [`Error`](crate::Error):
//! the runtime's own error comes back unchanged as the `source` of
//! [`Error::ResolverFailed`](crate::Error::ResolverFailed), and an import
//! cycle through lazy bindings is an [`Error::Cycle`](crate::Error::Cycle)
//! naming the chain.
//!
//! # Thread-safety
//! [`Importer`] is `Send + Sync`. Its namespace table has one lock, taken
//! briefly and never while runtime code runs; lock order is table, then a
//! package entry's submodule list, then the engine's slot lock.

mod guard;
mod hydrate;
mod importer;
mod lazy_modules;
mod namespace;
mod plan;
mod runtime;
mod spec;
mod validate;

pub use guard::{
    enter_guarded_import, in_guarded_import, leave_guarded_import, NotInGuardedImport,
};
pub use importer::Importer;
pub use namespace::{rebind_slot, Binding, NamespaceId};
pub use runtime::ImportRuntime;
pub use spec::{resolve_name, FromName, ImportKind, ImportSpec};
pub use validate::UnresolvableTarget;

/// A bad import statement, or a name a `from` import cannot find.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A relative import (`level > 0`) in a module with no package.
    #[error(
        "attempted relative import with no known parent package (level {level}, module '{name}')"
    )]
    NoParentPackage {
        /// The module name after the dots (may be empty).
        name: String,
        /// The number of leading dots.
        level: u32,
    },

    /// A relative import with more dots than the package has parts.
    #[error("attempted relative import beyond top-level package (level {level} from package '{package}')")]
    BeyondTopLevel {
        /// The importer's package.
        package: String,
        /// The number of leading dots.
        level: u32,
    },

    /// A module or bound name that is empty or has an empty dotted part
    /// (`a..b`), or a bound name with a dot in it.
    #[error("invalid name '{name}' in import statement")]
    InvalidName {
        /// The name as given.
        name: String,
    },

    /// `from a import *` cannot be deferred: which names it binds is only
    /// known by running `a`.
    #[error("'from {module} import *' cannot be deferred")]
    StarImport {
        /// The module.
        module: String,
    },

    /// A `from` import with no names.
    #[error("'from {module} import' names nothing")]
    NoNames {
        /// The module.
        module: String,
    },

    /// At resolution, `from module import name` found neither an attribute
    /// nor a submodule `name` (returned as the resolver's error inside
    /// [`Error::ResolverFailed`](crate::Error::ResolverFailed)).
    #[error("cannot import name '{name}' from '{module}'")]
    CannotImportName {
        /// The missing name.
        name: String,
        /// The module that lacks it.
        module: String,
    },

    /// At resolution, a placeholder's value was a placeholder again, and so
    /// on, back to one already met (bindings provided to each other's
    /// values): resolving further would never end.
    #[error("lazy bindings resolve to each other in a loop: {}", names.join(" -> "))]
    PlaceholderLoop {
        /// The bindings' declared names, in the order met, the first one
        /// repeated at the end.
        names: Vec<String>,
    },
}
