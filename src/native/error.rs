//! The errors of native resolution, as resolvers return them.

use std::path::PathBuf;
use std::sync::Arc;

/// Why a native entry could not be resolved.
///
/// Resolvers return it through [`ResolveError::new`](crate::ResolveError::new),
/// so an access fails with [`Error::ResolverFailed`](crate::Error::ResolverFailed),
/// which adds the entry's declaration site and the access site; find this
/// value again with
/// [`ResolveError::downcast_ref`](crate::ResolveError::downcast_ref) on its
/// `source`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NativeError {
    /// The dynamic loader could not load the shared library.
    #[error("cannot load shared library '{}': {message}", path.display())]
    LibraryLoad {
        /// The path the entry was declared with.
        path: PathBuf,
        /// The loader's own message (`dlerror()` on POSIX), unchanged.
        message: String,
    },

    /// The shared library loaded but the symbol could not be looked up in it.
    #[error(
        "cannot find symbol '{symbol}' in shared library '{}': {message}",
        library_path.display()
    )]
    SymbolLookup {
        /// The path of the library that was searched.
        library_path: PathBuf,
        /// The symbol name the entry was declared with.
        symbol: Arc<str>,
        /// The loader's own message (`dlerror()` on POSIX), unchanged.
        message: String,
    },
}
