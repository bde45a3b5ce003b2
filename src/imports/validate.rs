//! Validate: find lazy imports whose targets cannot be found, without
//! running them.

use std::fmt;
use std::sync::Arc;

use super::{ImportRuntime, Importer, NamespaceId};
use crate::Declaration;

/// A pending lazy import whose module cannot be found: what
/// [`Importer::validate`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnresolvableTarget {
    /// The module that cannot be found (the first missing one of its dotted
    /// chain: `a` rather than `a.b` when `a` itself is missing).
    pub module: Arc<str>,
    /// The namespace holding the binding.
    pub namespace: NamespaceId,
    /// The name bound to it there.
    pub name: Arc<str>,
    /// The binding's entry: what it stands for and where it was declared.
    pub declaration: Arc<Declaration>,
}

impl fmt::Display for UnresolvableTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "No module named '{}' (lazy import of {}, bound to '{}')",
            self.module, self.declaration, self.name
        )
    }
}

impl<R: ImportRuntime> Importer<R> {
    /// Asks the runtime, for every pending binding, whether each module it
    /// needs can be found ([`ImportRuntime::can_find`], or already loaded),
    /// without running any of them, and returns those that cannot, sorted by
    /// namespace and name. CI can call it to catch a typo in a lazy import
    /// without running the program.
    ///
    /// Only modules are checked: for `from a import x` that is `a` (whether
    /// `a` will have attribute `x` is only known by running it).
    pub fn validate(&self) -> Vec<UnresolvableTarget> {
        let runtime = &**self.runtime();
        let mut missing = Vec::new();
        for (namespace, name, bound) in self.live_bindings() {
            let mut absent: Vec<Arc<str>> = Vec::new();
            for module in bound.target.modules() {
                let under_absent = absent.iter().any(|gone| {
                    module
                        .strip_prefix(&**gone)
                        .is_some_and(|rest| rest.starts_with('.'))
                });
                if under_absent
                    || runtime.loaded_module(&module).is_some()
                    || runtime.can_find(&module)
                {
                    continue;
                }
                absent.push(Arc::clone(&module));
                missing.push(UnresolvableTarget {
                    module,
                    namespace,
                    name: Arc::clone(&name),
                    declaration: Arc::clone(&bound.declaration),
                });
            }
        }
        missing
    }
}
