//! Hydrate: give pending bindings the modules the runtime already loaded,
//! without running any import.

use std::sync::Arc;

use super::namespace::{Bound, Target};
use super::{ImportRuntime, Importer, NamespaceId};

impl<R: ImportRuntime> Importer<R> {
    /// Resolves, without running any import or resolver, every pending
    /// binding whose target the runtime reports as loaded
    /// ([`ImportRuntime::loaded_module`]), and returns how many it resolved.
    /// This removes placeholders that became needless because eager code
    /// imported the module anyway.
    ///
    /// - `import a.b.c` (with merged submodules): only if `a` and every
    ///   pending submodule are loaded; the value is `a`.
    /// - `import a.b as c`: if `a.b` is loaded.
    /// - `from a import x`: if `a` is loaded and has attribute `x` (a lazy
    ///   attribute only if it is already resolved), or else if `a.x` is
    ///   loaded. The attribute is read with [`ImportRuntime::get_attr`]; a
    ///   failing read leaves the binding pending.
    ///
    /// The runtime still rebinds its slots on the next access, as usual.
    /// Bindings whose entries already have a value are dropped from the
    /// namespace table on the way.
    pub fn hydrate(&self) -> usize {
        self.live_bindings()
            .into_iter()
            .filter(|(_, _, bound)| self.hydrate_one(bound))
            .count()
    }

    /// Every bound name whose entry has no value yet; forgets the others.
    pub(super) fn live_bindings(&self) -> Vec<(NamespaceId, Arc<str>, Bound)> {
        let (live, done): (Vec<_>, Vec<_>) = self
            .namespaces
            .all()
            .into_iter()
            .partition(|(_, _, bound)| self.unresolved(bound.handle));
        for (namespace, name, bound) in done {
            self.namespaces.remove_if(namespace, &name, bound.handle);
        }
        live
    }

    fn hydrate_one(&self, bound: &Bound) -> bool {
        let runtime = &**self.runtime();
        match &bound.target {
            Target::Package { top, submodules } => {
                let names = {
                    let state = submodules.lock();
                    if state.closed {
                        return false;
                    }
                    state.names.clone()
                };
                let Some(value) = runtime.loaded_module(top) else {
                    return false;
                };
                if !names
                    .iter()
                    .all(|name| runtime.loaded_module(name).is_some())
                {
                    return false;
                }
                let offer = {
                    let mut state = submodules.lock();
                    // A statement deferred meanwhile added a submodule we did
                    // not check, or a resolution finished: leave it.
                    if state.closed || state.names.len() != names.len() {
                        return false;
                    }
                    let offer = self.engine().offer(bound.handle, value);
                    state.closed |= matches!(offer.taken, Ok(true));
                    offer
                };
                // A refused value is released here (and on the early return
                // above, `value` outlives `state`), after the lock: its
                // release may call back into the importer.
                matches!(offer.taken, Ok(true))
            }
            Target::Module(name) => match runtime.loaded_module(name) {
                Some(value) => self.provide(bound, value),
                None => false,
            },
            Target::Attribute { module, name } => {
                let Some(parent) = runtime.loaded_module(module) else {
                    return false;
                };
                let value = match runtime.get_attr(&parent, name) {
                    Ok(Some(value)) => value,
                    Ok(None) => match runtime.loaded_module(&format!("{module}.{name}")) {
                        Some(value) => value,
                        None => return false,
                    },
                    Err(_) => return false,
                };
                let value = match runtime.as_lazy(&value) {
                    Some(handle) => match self.engine().get(handle) {
                        Some(value) if runtime.as_lazy(value).is_none() => value.clone(),
                        _ => return false,
                    },
                    None => value,
                };
                self.provide(bound, value)
            }
        }
    }

    fn provide(&self, bound: &Bound, value: R::Value) -> bool {
        self.engine().provide(bound.handle, value).unwrap_or(false)
    }
}
