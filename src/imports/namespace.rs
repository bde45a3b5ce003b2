//! Which names of which namespace are bound to which entries.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{Declaration, Handle};

/// Identifies one namespace of the runtime (a module's globals), chosen by
/// the runtime: any number that stays unique while the namespace lives (an
/// address, a module id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NamespaceId(pub u64);

/// One name the runtime must bind after [`Importer::defer`](super::Importer::defer):
/// store a placeholder for `handle` in the namespace slot `name`.
///
/// See the rebind contract in [the module docs](super#rebind-contract).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The name to bind in the importer's namespace.
    pub name: Arc<str>,
    /// The entry whose placeholder goes into the slot.
    pub handle: Handle,
}

impl Binding {
    /// Whether a slot whose placeholder has handle `slot` still holds this
    /// binding's placeholder, so the resolved value may replace it.
    pub fn is_same_placeholder(&self, slot: Handle) -> bool {
        self.handle == slot
    }
}

/// Replaces the namespace slot `slot` with `value` only if it still holds
/// the placeholder of `placeholder` (the compare-and-replace of the rebind
/// contract). `placeholder_of` tells which handle, if any, a slot value is a
/// placeholder for. Returns whether the slot was replaced; if not, `value`
/// is dropped and the slot (rebound by user code meanwhile) is left alone.
///
/// The runtime calls this under whatever lock guards its namespace, so the
/// compare and the replace are one step.
pub fn rebind_slot<T>(
    slot: &mut T,
    placeholder: Handle,
    value: T,
    placeholder_of: impl FnOnce(&T) -> Option<Handle>,
) -> bool {
    if placeholder_of(slot) == Some(placeholder) {
        *slot = value;
        true
    } else {
        false
    }
}

/// The submodules a package binding must import, shared between the
/// namespace table and the entry's resolver.
#[derive(Debug, Default)]
pub(crate) struct Submodules {
    state: Mutex<SubmoduleState>,
}

#[derive(Debug, Default)]
pub(crate) struct SubmoduleState {
    /// Absolute names, in the order the statements were deferred.
    pub(crate) names: Vec<Arc<str>>,
    /// The same names, so that joining is O(1) however many submodules a
    /// package binding has.
    seen: HashSet<Arc<str>>,
    /// Set once the entry got its value (resolved or hydrated): no further
    /// submodule can join it, a later statement gets a fresh entry.
    pub(crate) closed: bool,
}

impl SubmoduleState {
    /// Adds the submodule `name` unless it is there already.
    pub(crate) fn add(&mut self, name: Arc<str>) {
        if self.seen.insert(Arc::clone(&name)) {
            self.names.push(name);
        }
    }
}

impl Submodules {
    pub(crate) fn lock(&self) -> MutexGuard<'_, SubmoduleState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a bound entry stands for.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// `import a.b.c` (and merged `import a.x`): the top package `a` plus
    /// pending submodules.
    Package {
        top: Arc<str>,
        submodules: Arc<Submodules>,
    },
    /// `import a.b as c`: the module `a.b`.
    Module(Arc<str>),
    /// `from a import x`: attribute (or submodule) `x` of module `a`.
    Attribute { module: Arc<str>, name: Arc<str> },
}

impl Target {
    /// The module names this target needs, each with its dotted parents
    /// before it, without repeats.
    pub(crate) fn modules(&self) -> Vec<Arc<str>> {
        let mut out: Vec<Arc<str>> = Vec::new();
        let mut add = |name: &str| {
            for (end, _) in name.match_indices('.').chain([(name.len(), "")]) {
                let prefix = &name[..end];
                if !out.iter().any(|seen| &**seen == prefix) {
                    out.push(prefix.into());
                }
            }
        };
        match self {
            Target::Package { top, submodules } => {
                add(top);
                for name in &submodules.lock().names {
                    add(name);
                }
            }
            Target::Module(name) | Target::Attribute { module: name, .. } => add(name),
        }
        out
    }
}

/// One bound name: its entry and what the entry stands for.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub(crate) handle: Handle,
    pub(crate) target: Target,
    pub(crate) declaration: Arc<Declaration>,
}

/// Every namespace's bound names.
#[derive(Debug, Default)]
pub(crate) struct Namespaces {
    map: Mutex<HashMap<NamespaceId, HashMap<Arc<str>, Bound>>>,
}

impl Namespaces {
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<NamespaceId, HashMap<Arc<str>, Bound>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every bound name, as `(namespace, name, bound)`, sorted by namespace
    /// and name so reports are stable.
    pub(crate) fn all(&self) -> Vec<(NamespaceId, Arc<str>, Bound)> {
        let map = self.lock();
        let mut all: Vec<_> = map
            .iter()
            .flat_map(|(&ns, names)| {
                names
                    .iter()
                    .map(move |(name, bound)| (ns, Arc::clone(name), bound.clone()))
            })
            .collect();
        all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        all
    }

    /// Forgets `name` in `ns` if it is still bound to `handle`.
    pub(crate) fn remove_if(&self, ns: NamespaceId, name: &str, handle: Handle) {
        let mut map = self.lock();
        if let Some(names) = map.get_mut(&ns) {
            if names.get(name).is_some_and(|bound| bound.handle == handle) {
                names.remove(name);
            }
            if names.is_empty() {
                map.remove(&ns);
            }
        }
    }
}
