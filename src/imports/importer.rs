//! The importer: turns import specs into engine entries and bound names.

use std::collections::HashMap;
use std::sync::Arc;

use super::namespace::{Bound, Namespaces, Submodules, Target};
use super::{plan, Binding, ImportKind, ImportRuntime, ImportSpec, NamespaceId};
use crate::{Declaration, Engine, Error, Handle, Site};

/// Turns import statements into lazy bindings of one [`Engine`], and keeps
/// track of which names of which namespace are bound to which entries.
///
/// ```
/// # use std::sync::Arc;
/// # use lazy_bind::{Engine, Handle, ResolveError, Site};
/// # use lazy_bind::imports::{ImportRuntime, ImportSpec, Importer, NamespaceId};
/// struct Modules; // a runtime whose modules are their names
/// impl ImportRuntime for Modules {
///     type Value = String;
///     fn import_module(&self, name: &str, _: &[&str]) -> Result<String, ResolveError> {
///         Ok(name.to_owned())
///     }
///     fn get_attr(&self, _: &String, _: &str) -> Result<Option<String>, ResolveError> {
///         Ok(None)
///     }
///     fn set_attr_if_absent(&self, _: &String, _: &str, _: &String) -> Result<(), ResolveError> {
///         Ok(())
///     }
///     fn loaded_module(&self, _: &str) -> Option<String> { None }
///     fn can_find(&self, _: &str) -> bool { true }
///     fn as_lazy(&self, _: &String) -> Option<Handle> { None }
/// }
///
/// let importer = Importer::new(Arc::new(Engine::new()), Arc::new(Modules));
/// let main = NamespaceId(1);
/// let spec = ImportSpec::import("__main__", "os.path", Site::new("main.py", 1)).unwrap();
/// let bindings = importer.defer(main, &spec);
/// assert_eq!(&*bindings[0].name, "os"); // `import os.path` binds `os`
/// assert_eq!(importer.resolve(bindings[0].handle, None).unwrap(), "os");
/// ```
///
/// # Thread-safety
/// `Send + Sync`; every method may be called from any thread. The namespace
/// table has one short lock, never held while a runtime hook runs.
pub struct Importer<R: ImportRuntime> {
    engine: Arc<Engine<R::Value>>,
    runtime: Arc<R>,
    pub(super) namespaces: Namespaces,
}

impl<R: ImportRuntime> Importer<R> {
    /// An importer that creates its entries in `engine` and resolves them
    /// through `runtime`.
    pub fn new(engine: Arc<Engine<R::Value>>, runtime: Arc<R>) -> Self {
        Importer {
            engine,
            runtime,
            namespaces: Namespaces::default(),
        }
    }

    /// The engine holding the entries.
    pub fn engine(&self) -> &Arc<Engine<R::Value>> {
        &self.engine
    }

    /// The runtime's hooks.
    pub fn runtime(&self) -> &Arc<R> {
        &self.runtime
    }

    /// Defers the import statement `spec`, executed in namespace `namespace`,
    /// and returns the names the runtime must bind, each to a placeholder for
    /// its handle (see the [rebind contract](super#rebind-contract)).
    ///
    /// - `import a.b.c` binds `a`. If `a` in this namespace is already bound
    ///   by `import a...` to an entry that has not got its value yet, that
    ///   entry is returned again and `a.b.c` joins its pending submodules;
    ///   otherwise (first import, or the entry already resolved) a fresh
    ///   entry is created: the statement rebinds `a`, as in Python.
    /// - `import a.b as c` binds `c` to the module `a.b`.
    /// - `from a import x, y` binds one entry per name.
    ///
    /// For the last two, repeating the same statement while its entry is
    /// still unresolved returns the same entry.
    ///
    /// Entries are named after what they stand for: the target (`a.b.c`,
    /// `a.b`) or `a.x` for `from a import x`; the declaration site is the
    /// statement's.
    pub fn defer(&self, namespace: NamespaceId, spec: &ImportSpec) -> Vec<Binding> {
        let mut map = self.namespaces.lock();
        let names = map.entry(namespace).or_default();
        match spec.kind() {
            ImportKind::Package => vec![self.defer_package(names, spec)],
            ImportKind::ModuleAs(alias) => {
                let target = Target::Module(spec.target().into());
                vec![self.bind(names, alias, target, spec.target(), spec.site())]
            }
            ImportKind::From(from) => from
                .iter()
                .map(|name| {
                    let target = Target::Attribute {
                        module: spec.target().into(),
                        name: Arc::clone(&name.attribute),
                    };
                    let entry_name = format!("{}.{}", spec.target(), name.attribute);
                    self.bind(names, &name.bound_as, target, &entry_name, spec.site())
                })
                .collect(),
        }
    }

    /// `import a.b.c`: joins a pending entry for `a`, or creates one.
    fn defer_package(&self, names: &mut HashMap<Arc<str>, Bound>, spec: &ImportSpec) -> Binding {
        let top = spec.top_package();
        let submodule = (spec.target() != top).then(|| Arc::<str>::from(spec.target()));
        if let Some(Bound {
            handle,
            target: Target::Package { submodules, .. },
            ..
        }) = names.get(top)
        {
            let mut state = submodules.lock();
            if !state.closed && self.unresolved(*handle) {
                if let Some(name) = submodule {
                    state.add(name);
                }
                return Binding {
                    name: top.into(),
                    handle: *handle,
                };
            }
        }
        let submodules = Arc::new(Submodules::default());
        if let Some(name) = submodule {
            submodules.lock().add(name);
        }
        let target = Target::Package {
            top: top.into(),
            submodules,
        };
        self.create(names, top.into(), target, spec.target(), spec.site())
    }

    /// Binds `name` to `target`, reusing the entry already bound there if it
    /// stands for the same target and is unresolved.
    fn bind(
        &self,
        names: &mut HashMap<Arc<str>, Bound>,
        name: &Arc<str>,
        target: Target,
        entry_name: &str,
        site: &Site,
    ) -> Binding {
        if let Some(bound) = names.get(name) {
            if same_target(&bound.target, &target) && self.unresolved(bound.handle) {
                return Binding {
                    name: Arc::clone(name),
                    handle: bound.handle,
                };
            }
        }
        self.create(names, Arc::clone(name), target, entry_name, site)
    }

    /// Creates the entry for `target` and binds `name` to it.
    fn create(
        &self,
        names: &mut HashMap<Arc<str>, Bound>,
        name: Arc<str>,
        target: Target,
        entry_name: &str,
        site: &Site,
    ) -> Binding {
        let declaration = Declaration::new(entry_name, site.clone());
        let runtime = Arc::clone(&self.runtime);
        let handle = match target.clone() {
            Target::Package { top, submodules } => {
                self.engine.create(declaration.clone(), move |_| {
                    plan::resolve_package(&*runtime, &top, &submodules)
                })
            }
            Target::Module(module) => self.engine.create(declaration.clone(), move |_| {
                plan::import_chain(&*runtime, &module, &[]).map(|(_, leaf)| leaf)
            }),
            Target::Attribute { module, name } => {
                self.engine.create(declaration.clone(), move |cx| {
                    plan::resolve_attribute(&*runtime, cx.engine(), &module, &name)
                })
            }
        };
        names.insert(
            Arc::clone(&name),
            Bound {
                handle,
                target,
                declaration: Arc::new(declaration),
            },
        );
        Binding { name, handle }
    }

    /// Whether the entry is live and has no value yet (pending or being
    /// resolved). Called under the namespace table's lock: it must not copy a sticky
    /// failure's error out of the entry, whose drop could release a runtime
    /// object there.
    pub(super) fn unresolved(&self, handle: Handle) -> bool {
        self.engine.is_unresolved(handle)
    }

    /// Resolves the binding `handle` and returns a clone of its value (the
    /// runtime then rebinds its slot under the rebind contract). `access` is
    /// where the name was used, for errors and traces.
    ///
    /// # Errors
    /// As for [`Engine::resolve`]: a failed import comes back as
    /// [`Error::ResolverFailed`] whose `source` is the runtime's own error for
    /// the module that failed (a failing submodule reports its own error, not
    /// a missing attribute); an import cycle as [`Error::Cycle`].
    pub fn resolve(&self, handle: Handle, access: Option<&Site>) -> Result<R::Value, Error> {
        match access {
            Some(site) => self.engine.resolve_at(handle, site).cloned(),
            None => self.engine.resolve(handle).cloned(),
        }
    }

    /// Forgets every name bound in `namespace` (call it when the namespace
    /// dies). The entries stay in the engine: discard them there if no
    /// placeholder can remain. Returns how many names were forgotten.
    pub fn forget_namespace(&self, namespace: NamespaceId) -> usize {
        self.namespaces
            .lock()
            .remove(&namespace)
            .map_or(0, |names| names.len())
    }

    /// The names of `namespace` bound to entries that have no value yet, with
    /// their handles, sorted by name.
    pub fn pending_bindings(&self, namespace: NamespaceId) -> Vec<Binding> {
        let mut bindings: Vec<Binding> = self
            .namespaces
            .lock()
            .get(&namespace)
            .into_iter()
            .flatten()
            .filter(|(_, bound)| self.unresolved(bound.handle))
            .map(|(name, bound)| Binding {
                name: Arc::clone(name),
                handle: bound.handle,
            })
            .collect();
        bindings.sort_by(|a, b| a.name.cmp(&b.name));
        bindings
    }
}

/// Whether two non-package targets stand for the same thing.
fn same_target(a: &Target, b: &Target) -> bool {
    match (a, b) {
        (Target::Module(a), Target::Module(b)) => a == b,
        (
            Target::Attribute { module, name },
            Target::Attribute {
                module: other_module,
                name: other_name,
            },
        ) => module == other_module && name == other_name,
        _ => false,
    }
}

impl<R: ImportRuntime> std::fmt::Debug for Importer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}
