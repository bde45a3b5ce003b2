//! Which modules are lazily imported and not loaded yet: PEP 810's
//! `sys.lazy_modules`, for any runtime.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{ImportRuntime, Importer};

impl<R: ImportRuntime> Importer<R> {
    /// The names of the modules that pending bindings will import and that
    /// are not loaded yet ([`ImportRuntime::loaded_module`] gives `None`; a
    /// module whose body is still running counts as not loaded), sorted and
    /// without repeats: `import a.b` while `a` is loaded lists `a.b` only,
    /// and `from m import x` lists `m`. Runs nothing; as CPython 3.15's
    /// `sys.lazy_modules`, a snapshot for debugging and introspection.
    pub fn lazy_modules(&self) -> Vec<Arc<str>> {
        let runtime = &**self.runtime();
        let mut names = BTreeSet::new();
        for (_, _, bound) in self.live_bindings() {
            for module in bound.target.modules() {
                if !names.contains(&module) && runtime.loaded_module(&module).is_none() {
                    names.insert(module);
                }
            }
        }
        names.into_iter().collect()
    }
}
