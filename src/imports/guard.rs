//! Guarded imports: an import statement inside `try` runs eagerly, and so
//! must the errors of what it runs.
//!
//! `try: from .win import tzwin` / `except ImportError: tzwin = None` only
//! works if an `ImportError` raised anywhere while `win` runs reaches the
//! `except`, including one from `win`'s own `import winreg`. A runtime
//! makes the guarded statement eager (the policy's `in try` context), and
//! marks the time it runs with [`enter_guarded_import`] and
//! [`leave_guarded_import`]. Inside, before deferring an import, it asks
//! [`Importer::missing_under_guard`]: a module that cannot be found is
//! imported at once, so its `ModuleNotFoundError` reaches the guard as in
//! eager Python; a module that can be found is still deferred.

use std::cell::Cell;

use super::{ImportRuntime, Importer};
use crate::depth::Depth;

thread_local! {
    static GUARDED: Cell<usize> = const { Cell::new(0) };
}

/// How many guarded imports are running on this thread.
static DEPTH: Depth = Depth::new(&GUARDED);

/// Marks the start of a guarded import (an import statement inside `try`)
/// on the calling thread. Nests; balance every call with one
/// [`leave_guarded_import`] on the same thread.
///
/// # Panics
/// Panics if more than `usize::MAX` guarded imports are nested on one
/// thread.
pub fn enter_guarded_import() {
    DEPTH.enter("guarded import nesting overflow");
}

/// Marks the end of the innermost guarded import of the calling thread.
///
/// # Errors
/// [`NotInGuardedImport`] if none is running on this thread; the depth
/// stays at zero.
pub fn leave_guarded_import() -> Result<(), NotInGuardedImport> {
    DEPTH.leave().then_some(()).ok_or(NotInGuardedImport)
}

/// Whether a guarded import is running on the calling thread.
#[inline]
pub fn in_guarded_import() -> bool {
    DEPTH.is_open()
}

/// [`leave_guarded_import`] was called on a thread running no guarded
/// import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no guarded import is running on this thread")]
pub struct NotInGuardedImport;

impl<R: ImportRuntime> Importer<R> {
    /// Whether an import of module `target` (absolute) must run now rather
    /// than be deferred, to keep eager Python's errors: true only while a
    /// guarded import runs on this thread and `target` cannot be found.
    ///
    /// The dotted chain is checked parents first, without running anything
    /// ([`ImportRuntime::can_find`]); a submodule is checked only once its
    /// parent is loaded ([`ImportRuntime::loaded_module`]), since finding
    /// it needs the parent's search path. Outside a guarded import it asks
    /// the runtime nothing.
    pub fn missing_under_guard(&self, target: &str) -> bool {
        if !in_guarded_import() {
            return false;
        }
        let runtime = &**self.runtime();
        let mut end = 0;
        loop {
            end = target[end..]
                .find('.')
                .map_or(target.len(), |dot| end + dot);
            let module = &target[..end];
            if !runtime.can_find(module) {
                return true;
            }
            if end == target.len() || runtime.loaded_module(module).is_none() {
                return false;
            }
            end += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_imports_nest_per_thread() {
        assert!(!in_guarded_import());
        enter_guarded_import();
        enter_guarded_import();
        assert!(in_guarded_import());
        std::thread::spawn(|| {
            assert!(!in_guarded_import());
            assert_eq!(leave_guarded_import(), Err(NotInGuardedImport));
        })
        .join()
        .unwrap();
        assert_eq!(leave_guarded_import(), Ok(()));
        assert!(in_guarded_import());
        assert_eq!(leave_guarded_import(), Ok(()));
        assert!(!in_guarded_import());
        assert_eq!(leave_guarded_import(), Err(NotInGuardedImport));
    }
}
