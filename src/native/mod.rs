//! Native lazy binding: shared libraries and their symbols as deferred
//! entries.
//!
//! A [`NativeBinder`] defers `dlopen` of a shared library (for an
//! interpreter, typically an extension module) and `dlsym` of symbols in it
//! until first access, with the engine's guarantees: however many threads
//! touch an entry first at once, the library is loaded (and a symbol looked
//! up) once; a failure carries the path, the symbol, the loader's own message,
//! the declaration site and the access site, and is retried on the next
//! access (unless the engines were built with sticky failures).
//!
//! ```no_run
//! use lazy_bind::native::NativeBinder;
//! use lazy_bind::{Declaration, Site};
//!
//! let binder = NativeBinder::new();
//! // SAFETY: loading libm runs no initialiser that could misbehave on any
//! // thread at any time.
//! let libm = unsafe {
//!     binder.defer_library("libm.so.6", Declaration::new("libm", Site::new("main.py", 1)))
//! };
//! let cos = binder
//!     .defer_symbol(libm, "cos", Declaration::new("cos", Site::new("main.py", 2)))
//!     .unwrap();
//! // Nothing is loaded yet; the first access loads libm and looks up `cos`.
//! let cos = binder.symbol(cos).unwrap();
//! // SAFETY: `cos` has this C type, and `binder` keeps libm loaded.
//! let cos: extern "C" fn(f64) -> f64 = unsafe { std::mem::transmute(cos.address()) };
//! assert_eq!(cos(0.0), 1.0);
//! ```
//!
//! # Lifetime rule
//! A library stays loaded while anything holds a reference to it: its
//! resolved library entry in the binder, a resolved symbol entry of it, or
//! any [`NativeLibrary`] or [`NativeSymbol`] value cloned out of them. The
//! binder's entries hold theirs until the binder is dropped (a discarded
//! entry's value until [`Engine::reclaim`](crate::Engine::reclaim) or drop).
//! So a symbol's address may be used while the binder that resolved it is
//! alive, or while the caller holds the [`NativeSymbol`] (or a clone, or its
//! [`NativeLibrary`]); after the last holder is dropped the library is
//! unloaded (`dlclose`) and the address must not be used. Whether the
//! platform then unmaps the library's code is up to its dynamic loader.
//!
//! # Design
//! The binder keeps two [`Engine`]s, one of libraries and one of symbols, so
//! each handle kind has its own value type: a handle of the wrong kind is a
//! foreign handle and fails with [`Error::StaleHandle`]. A symbol's resolver
//! resolves its library entry through the library engine, so loading is
//! exactly-once whether the first access is to the library or to any of its
//! symbols, and a load failure is reported inside the symbol's error.

mod error;
mod library;
mod symbol;

use std::path::PathBuf;
use std::sync::Arc;

pub use error::NativeError;
pub use library::NativeLibrary;
pub use symbol::NativeSymbol;

use crate::{Declaration, Engine, Error, Handle, ResolveError, Site};

/// A handle to a library entry of a [`NativeBinder`].
///
/// The layout is that of [`Handle`], so a C wrapper can pass it through. A
/// handle that names no library entry of the binder (stale, of a symbol
/// entry, or of another binder) is reported as [`Error::StaleHandle`].
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LibraryHandle(pub Handle);

/// A handle to a symbol entry of a [`NativeBinder`].
///
/// The layout is that of [`Handle`], so a C wrapper can pass it through. A
/// handle that names no symbol entry of the binder (stale, of a library
/// entry, or of another binder) is reported as [`Error::StaleHandle`].
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SymbolHandle(pub Handle);

/// Deferred shared libraries and symbols, loaded and looked up on first
/// access. See the [module docs](self) for the lifetime rule.
///
/// # Thread-safety
/// `Send + Sync`; every method takes `&self` and may be called from any
/// thread. Concurrent first accesses to an entry load or look up once; the
/// other threads wait (through the engines' hooks) and share the result.
#[derive(Debug)]
pub struct NativeBinder {
    libraries: Arc<Engine<NativeLibrary>>,
    symbols: Engine<NativeSymbol>,
}

impl Default for NativeBinder {
    fn default() -> Self {
        NativeBinder::new()
    }
}

impl NativeBinder {
    /// A binder whose engines retry failures and have no hooks.
    pub fn new() -> Self {
        NativeBinder::from_engines(Engine::new(), Engine::new())
    }

    /// A binder over engines configured by the runtime (hooks that release a
    /// global lock while waiting, sticky failures). Both engines should have
    /// the same configuration; entries already in them are kept.
    pub fn from_engines(libraries: Engine<NativeLibrary>, symbols: Engine<NativeSymbol>) -> Self {
        NativeBinder {
            libraries: Arc::new(libraries),
            symbols,
        }
    }

    /// Defers loading the shared library at `path` until the entry, or a
    /// symbol entry of it, is first accessed. Nothing is loaded, or even
    /// checked, now: a missing or invalid library fails at access.
    ///
    /// `path` is passed to the platform loader unchanged (`dlopen` with
    /// `RTLD_LAZY | RTLD_LOCAL` on POSIX), so a bare file name is searched
    /// for the way the loader does.
    ///
    /// # Safety
    /// Loading a library runs its initialisers (and those of libraries it
    /// depends on), and unloading it after the last holder is gone runs its
    /// finalisers. The caller guarantees that running them is sound at
    /// whatever time the entry is first accessed, on whichever thread
    /// accesses it (while other entries may be resolving on other threads),
    /// and that the file found at `path` then is the library the caller
    /// vetted.
    pub unsafe fn defer_library(
        &self,
        path: impl Into<PathBuf>,
        declaration: Declaration,
    ) -> LibraryHandle {
        let path = path.into();
        LibraryHandle(self.libraries.create(declaration, move |_| {
            // SAFETY: the caller of `defer_library` guaranteed that loading
            // this path is sound at any access, on any thread.
            unsafe { NativeLibrary::load(&path) }.map_err(ResolveError::new)
        }))
    }

    /// Defers looking up symbol `name` in `library` until the entry is first
    /// accessed; that access first resolves `library` (loading it if no one
    /// has yet), through the library's own entry.
    ///
    /// # Errors
    /// [`Error::StaleHandle`] if `library` names no live library entry of
    /// this binder. Lookup failures (an unknown symbol, a name containing a
    /// NUL byte) are reported at access.
    pub fn defer_symbol(
        &self,
        library: LibraryHandle,
        name: impl Into<Arc<str>>,
        declaration: Declaration,
    ) -> Result<SymbolHandle, Error> {
        self.libraries.declaration(library.0)?;
        let libraries = Arc::clone(&self.libraries);
        let name = name.into();
        Ok(SymbolHandle(self.symbols.create(
            declaration,
            move |resolution| {
                let loaded = match resolution.access_site() {
                    Some(site) => libraries.resolve_at(library.0, site)?,
                    None => libraries.resolve(library.0)?,
                };
                NativeSymbol::look_up(loaded, &name).map_err(ResolveError::new)
            },
        )))
    }

    /// The library, loading it first if this is the first access.
    ///
    /// # Errors
    /// As for [`Engine::resolve`]; a load failure is
    /// [`Error::ResolverFailed`] whose source is a
    /// [`NativeError::LibraryLoad`].
    pub fn library(&self, handle: LibraryHandle) -> Result<&NativeLibrary, Error> {
        self.libraries.resolve(handle.0)
    }

    /// Like [`library`](NativeBinder::library), recording the access site
    /// for errors and traces.
    ///
    /// # Errors
    /// As for [`library`](NativeBinder::library).
    pub fn library_at(
        &self,
        handle: LibraryHandle,
        access: &Site,
    ) -> Result<&NativeLibrary, Error> {
        self.libraries.resolve_at(handle.0, access)
    }

    /// The symbol, loading its library and looking it up first if this is
    /// the first access.
    ///
    /// # Errors
    /// As for [`Engine::resolve`]; a lookup failure is
    /// [`Error::ResolverFailed`] whose source is a
    /// [`NativeError::SymbolLookup`]; a load failure of its library is
    /// [`Error::ResolverFailed`] whose source is the library entry's own
    /// [`Error::ResolverFailed`] (so both declaration sites are named).
    pub fn symbol(&self, handle: SymbolHandle) -> Result<&NativeSymbol, Error> {
        self.symbols.resolve(handle.0)
    }

    /// Like [`symbol`](NativeBinder::symbol), recording the access site for
    /// errors and traces (the library entry is resolved with the same site).
    ///
    /// # Errors
    /// As for [`symbol`](NativeBinder::symbol).
    pub fn symbol_at(&self, handle: SymbolHandle, access: &Site) -> Result<&NativeSymbol, Error> {
        self.symbols.resolve_at(handle.0, access)
    }

    /// The engine of library entries, for peeking, snapshots, counters,
    /// discarding and fork recovery.
    pub fn library_engine(&self) -> &Engine<NativeLibrary> {
        &self.libraries
    }

    /// The engine of symbol entries, for peeking, snapshots, counters,
    /// discarding and fork recovery.
    pub fn symbol_engine(&self) -> &Engine<NativeSymbol> {
        &self.symbols
    }
}
