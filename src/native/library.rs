//! A loaded shared library, shared by everything that keeps it loaded.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::NativeError;

/// A shared library loaded by a [`NativeBinder`](super::NativeBinder).
///
/// Cloning is cheap (a reference count). The library is unloaded (`dlclose`)
/// when the last clone is dropped; the binder's library entry, every resolved
/// symbol of it ([`NativeSymbol`](super::NativeSymbol)) and every clone the
/// runtime took are such clones. See the [module docs](super) for the
/// lifetime rule.
///
/// # Thread-safety
/// `Send + Sync`: loading and unloading are the only operations, and the
/// dynamic loader serialises them itself.
#[derive(Clone)]
pub struct NativeLibrary(Arc<Loaded>);

struct Loaded {
    path: PathBuf,
    library: libloading::Library,
}

impl NativeLibrary {
    /// Loads the shared library at `path`.
    ///
    /// # Safety
    /// Loading runs the library's initialisers (and, when it is unloaded,
    /// its finalisers); the caller guarantees that doing so on this thread,
    /// now, is sound. See [`NativeBinder::defer_library`](super::NativeBinder::defer_library).
    pub(crate) unsafe fn load(path: &Path) -> Result<Self, NativeError> {
        // SAFETY: the caller guarantees that running the library's
        // initialisers and finalisers is sound (this function's contract).
        let library = unsafe { libloading::Library::new(path) }.map_err(|error| {
            NativeError::LibraryLoad {
                path: path.to_path_buf(),
                message: error.to_string(),
            }
        })?;
        Ok(NativeLibrary(Arc::new(Loaded {
            path: path.to_path_buf(),
            library,
        })))
    }

    /// The path the library was loaded from, as declared.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// How many values keep the library loaded right now: the binder's
    /// entry, resolved symbols, and clones. The library is unloaded when this
    /// would reach zero.
    ///
    /// # Thread-safety
    /// Other threads may clone or drop holders at the same time, so the
    /// number can be out of date as soon as it is returned; it is meant for
    /// diagnostics and tests.
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// Whether `self` and `other` are the same loaded library (the same
    /// `dlopen` of the same entry).
    pub fn ptr_eq(&self, other: &NativeLibrary) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The libloading handle, for symbol lookups.
    pub(crate) fn raw(&self) -> &libloading::Library {
        &self.0.library
    }
}

impl fmt::Debug for NativeLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeLibrary")
            .field("path", &self.0.path)
            .finish_non_exhaustive()
    }
}
