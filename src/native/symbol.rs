//! A symbol looked up in a loaded library, keeping that library loaded.

use std::ffi::c_void;
use std::fmt;
use std::sync::Arc;

use super::{NativeError, NativeLibrary};

/// The address of a symbol in a [`NativeLibrary`], together with a reference
/// that keeps the library loaded.
///
/// The address is valid as long as this value (or a clone, or the library
/// itself through another holder) is alive; see the [module docs](super) for
/// the lifetime rule. Using it (calling it as a function, reading it as a
/// variable) needs `unsafe` and the symbol's real type.
///
/// # Thread-safety
/// `Send + Sync`: the address is only a number here; whoever dereferences or
/// calls it is responsible for the symbol's own thread-safety.
#[derive(Clone)]
pub struct NativeSymbol {
    address: *const c_void,
    name: Arc<str>,
    library: NativeLibrary,
}

// SAFETY: `NativeSymbol` never dereferences `address`; it is plain data whose
// use is an `unsafe` act of the caller. The other fields are `Send + Sync`.
unsafe impl Send for NativeSymbol {}
// SAFETY: as for `Send`: shared access only reads the address value.
unsafe impl Sync for NativeSymbol {}

impl NativeSymbol {
    /// Looks up `name` in `library`.
    pub(crate) fn look_up(library: &NativeLibrary, name: &Arc<str>) -> Result<Self, NativeError> {
        // SAFETY: the symbol is read as `*mut c_void`, a pointer-sized value
        // that is never dereferenced or called here, so no type is assumed.
        // On the platforms where libloading uses this call `dlerror` is
        // thread-local (MT-safe).
        let symbol = unsafe { library.raw().get::<*mut c_void>(name.as_bytes()) };
        match symbol {
            Ok(symbol) => Ok(NativeSymbol {
                address: (*symbol).cast_const(),
                name: Arc::clone(name),
                library: library.clone(),
            }),
            Err(error) => Err(NativeError::SymbolLookup {
                library_path: library.path().to_path_buf(),
                symbol: Arc::clone(name),
                message: error.to_string(),
            }),
        }
    }

    /// The symbol's address, as `dlsym` returned it. It may be null for a
    /// symbol whose value really is null (for example an undefined weak
    /// symbol); a missing symbol is an error, never a null address.
    pub fn address(&self) -> *const c_void {
        self.address
    }

    /// The symbol name the entry was declared with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The library the symbol was found in; this symbol keeps it loaded.
    pub fn library(&self) -> &NativeLibrary {
        &self.library
    }
}

impl fmt::Debug for NativeSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeSymbol")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("library", &self.library.path())
            .finish()
    }
}
