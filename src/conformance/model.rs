//! The reference model: lazy bindings as plain thunks, following the
//! documented semantics of [`Importer`](crate::imports::Importer) without
//! the engine, and the predictions built on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::interp::{Backend, ModuleObject, Value, World};
use super::program::Program;
use super::trace::{ErrorKind, Event, Trace};
use crate::imports::{ImportKind, ImportSpec};
use crate::policy::{Mode, Policy};
use crate::Handle;

#[derive(Clone, PartialEq, Eq)]
enum Target {
    Package { top: String },
    Module(String),
    Attribute { module: String, name: String },
}

enum State {
    Pending,
    Resolving,
    Done(Value),
}

struct Thunk {
    target: Target,
    /// For a package: submodules to import, in statement order.
    submodules: Vec<String>,
    /// For a package: no statement may join any more.
    closed: bool,
    state: State,
}

impl Thunk {
    /// The module this thunk is importing now, if it is resolving one.
    fn resolving_module(&self) -> Option<&String> {
        match (&self.state, &self.target) {
            (State::Resolving, Target::Module(name) | Target::Package { top: name }) => Some(name),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Thunks {
    list: Vec<Thunk>,
    /// The importer's table: `(namespace, name)` to the thunk bound there.
    table: HashMap<(u64, String), usize>,
}

/// The model's backend.
#[derive(Default)]
struct Model {
    thunks: Mutex<Thunks>,
}

fn handle(index: usize) -> Handle {
    Handle {
        stamp: index as u64 + 1,
        index: 0,
    }
}

impl Model {
    fn lock(&self) -> MutexGuard<'_, Thunks> {
        self.thunks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn unresolved(thunk: &Thunk) -> bool {
        !matches!(thunk.state, State::Done(_))
    }

    fn create(
        thunks: &mut Thunks,
        ns: u64,
        name: &str,
        target: Target,
        submodule: Option<&str>,
    ) -> Handle {
        thunks.list.push(Thunk {
            target,
            submodules: submodule.into_iter().map(str::to_owned).collect(),
            closed: false,
            state: State::Pending,
        });
        let index = thunks.list.len() - 1;
        thunks.table.insert((ns, name.to_owned()), index);
        handle(index)
    }

    fn bind(thunks: &mut Thunks, ns: u64, name: &str, target: Target) -> Handle {
        if let Some(&index) = thunks.table.get(&(ns, name.to_owned())) {
            let thunk = &thunks.list[index];
            if thunk.target == target && Model::unresolved(thunk) {
                return handle(index);
            }
        }
        Model::create(thunks, ns, name, target, None)
    }

    fn run(&self, world: &World, target: &Target, index: usize) -> Result<Value, ErrorKind> {
        match target {
            // Each import runs as its own adaptor entry would: the first
            // submodule's (or the package's own) entry imports the package.
            Target::Package { top } => {
                let first = self.lock().list[index].submodules.first().cloned();
                let entry = first.clone().unwrap_or_else(|| top.clone());
                let value = world.lazily_importing(vec![entry], || {
                    let value = world.import_module(self, top)?;
                    if let Some(first) = &first {
                        self.chain(world, first)?;
                    }
                    Ok(value)
                })?;
                let mut next = usize::from(first.is_some());
                loop {
                    let name = {
                        let mut thunks = self.lock();
                        let thunk = &mut thunks.list[index];
                        match thunk.submodules.get(next) {
                            Some(name) => name.clone(),
                            None => {
                                thunk.closed = true;
                                break;
                            }
                        }
                    };
                    world.lazily_importing(vec![name.clone()], || self.chain(world, &name))?;
                    next += 1;
                }
                Ok(Value::Module(value))
            }
            Target::Module(name) => world
                .lazily_importing(vec![name.clone()], || self.chain(world, name))
                .map(Value::Module),
            Target::Attribute { module, name } => {
                let parent = self.chain(world, module)?;
                let mut value = match parent.get(name) {
                    Some(value) => value,
                    None => {
                        let full = format!("{module}.{name}");
                        if world.program.module(&full).is_none() {
                            return Err(ErrorKind::ImportName(module.clone()));
                        }
                        let child = Value::Module(world.import_module(self, &full)?);
                        parent.set_if_absent(name, &child);
                        parent.get(name).unwrap_or(child)
                    }
                };
                while let Value::Lazy(inner) = value {
                    value = self.resolve(world, inner)?;
                }
                Ok(value)
            }
        }
    }

    /// Imports `name` and its parents, binding each child onto its parent
    /// only if absent; returns the module `name`.
    fn chain(&self, world: &World, name: &str) -> Result<Arc<ModuleObject>, ErrorKind> {
        let mut parent: Option<Arc<ModuleObject>> = None;
        for (end, _) in name.match_indices('.').chain([(name.len(), "")]) {
            let child = world.import_module(self, &name[..end])?;
            if let Some(parent) = &parent {
                let leaf = name[..end].rsplit('.').next().unwrap_or(name);
                parent.set_if_absent(leaf, &Value::Module(Arc::clone(&child)));
            }
            parent = Some(child);
        }
        parent.ok_or_else(|| ErrorKind::Other(format!("empty module name '{name}'")))
    }
}

impl Backend for Model {
    fn defer(&self, _: &World, module: &ModuleObject, spec: &ImportSpec) -> Vec<(String, Handle)> {
        let ns = module.namespace;
        let mut thunks = self.lock();
        match spec.kind() {
            ImportKind::Package => {
                let top = spec.top_package().to_owned();
                let submodule = (spec.target() != top).then(|| spec.target().to_owned());
                if let Some(&index) = thunks.table.get(&(ns, top.clone())) {
                    let thunk = &mut thunks.list[index];
                    if matches!(thunk.target, Target::Package { .. })
                        && !thunk.closed
                        && Model::unresolved(thunk)
                    {
                        if let Some(name) = submodule {
                            if !thunk.submodules.contains(&name) {
                                thunk.submodules.push(name);
                            }
                        }
                        return vec![(top, handle(index))];
                    }
                }
                let target = Target::Package { top: top.clone() };
                let handle = Model::create(&mut thunks, ns, &top, target, submodule.as_deref());
                vec![(top, handle)]
            }
            ImportKind::ModuleAs(alias) => {
                let target = Target::Module(spec.target().to_owned());
                vec![(
                    alias.to_string(),
                    Model::bind(&mut thunks, ns, alias, target),
                )]
            }
            ImportKind::From(names) => names
                .iter()
                .map(|from| {
                    let target = Target::Attribute {
                        module: spec.target().to_owned(),
                        name: from.attribute.to_string(),
                    };
                    let handle = Model::bind(&mut thunks, ns, &from.bound_as, target);
                    (from.bound_as.to_string(), handle)
                })
                .collect(),
        }
    }

    fn resolve(&self, world: &World, handle: Handle) -> Result<Value, ErrorKind> {
        let index = (handle.stamp - 1) as usize;
        let (target, importing) = {
            let thunks = self.lock();
            let thunk = &thunks.list[index];
            if let State::Done(value) = &thunk.state {
                return Ok(value.clone());
            }
            // The imports this resolution does, as the stock adaptor's
            // entries name them.
            let importing = match &thunk.target {
                Target::Module(name) => vec![name.clone()],
                Target::Package { top } if thunk.submodules.is_empty() => vec![top.clone()],
                Target::Package { .. } => thunk.submodules.clone(),
                Target::Attribute { .. } => Vec::new(),
            };
            (thunk.target.clone(), importing)
        };
        let partial = match &target {
            Target::Module(name) | Target::Package { top: name } => name.as_str(),
            Target::Attribute { module, .. } => module.as_str(),
        };
        if let Some(fallback) = world.cycle_fallback(&importing, partial) {
            return fallback;
        }
        {
            let mut thunks = self.lock();
            // One placeholder per module: any binding of a module whose
            // resolution is in progress is that resolution's placeholder.
            let reentered = match &thunks.list[index].target {
                Target::Module(name) | Target::Package { top: name }
                    if world.semantics().partial_module_on_reentry =>
                {
                    (world.loading_through_placeholder(name)
                        || thunks
                            .list
                            .iter()
                            .any(|other| other.resolving_module() == Some(name)))
                    .then_some(name)
                }
                _ => None,
            };
            if let Some(partial) = reentered.and_then(|name| world.partial_module_on_reentry(name))
            {
                return Ok(partial);
            }
            let thunk = &mut thunks.list[index];
            if matches!(thunk.state, State::Resolving) {
                return Err(ErrorKind::Cycle);
            }
            thunk.state = State::Resolving;
        }
        let result = self.run(world, &target, index);
        self.lock().list[index].state = match &result {
            Ok(value) => State::Done(value.clone()),
            Err(_) => State::Pending,
        };
        result
    }
}

/// What the model predicts for `program` under `policy`: the observations
/// of a run whose imports are deferred or eager as `policy` decides for each
/// statement (with [`Mode::None`], a plain eager run: CPython's meaning).
pub fn predict(program: &Program, policy: &Policy) -> Trace {
    predict_with(program, policy, Semantics::default())
}

/// [`predict`] for a runtime whose lazy imports follow `semantics`.
pub fn predict_with(program: &Program, policy: &Policy, semantics: Semantics) -> Trace {
    let world = World::new(Arc::new(program.clone()), policy.clone(), semantics);
    world.run(&Model::default())
}

/// Which import forms a runtime can defer at all (the policy decides among
/// those).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Semantics {
    /// Whether `from a import x` can be deferred. An interpreter can (the
    /// default); the stock-CPython adaptor imports `a` at the statement,
    /// because its placeholders cannot stand for arbitrary objects.
    pub defer_from_imports: bool,
    /// Whether reading a missing attribute through a lazy binding of a
    /// module that a lazy resolution in progress is importing (its body is
    /// still running: a circular import) reports a cycle. The stock-CPython
    /// adaptor does, naming the chain (`LazyImportCycleError`), where eager
    /// CPython raises `AttributeError` on the partially initialised module;
    /// an attribute that exists is read from the partial module either way.
    pub lazy_cycle_on_partial_module: bool,
    /// Whether an `import m` of a module already in `sys.modules` (also
    /// one whose body is still running: a circular import) binds that
    /// module at the statement instead of deferring. Lua's `require`
    /// returns `package.loaded[m]` whenever it is set, and a module that
    /// stores itself there when its body starts (the idiom that makes
    /// circular requires work) is partial then; Python's lazy imports defer
    /// such an import, so that it later sees the finished module, or
    /// imports it again if its body failed.
    pub bind_loaded_modules: bool,
    /// Whether using any lazy binding of a module during that module's own
    /// lazy resolution (its body, on this thread, needs it) reads the
    /// partial module from `sys.modules` instead of raising a cycle error
    /// or importing it. A Lua runtime has one placeholder per module, so
    /// every binding of it is the one being resolved; it hands out a module
    /// that stored itself in `package.loaded` before its body finished, as
    /// the stock `require` does for a circular require. The binding used so
    /// is not resolved by that: if the body fails, its next use loads the
    /// module again. A `from` import the policy defers, where the runtime
    /// cannot ([`Semantics::defer_from_imports`] false), loads its module
    /// through that placeholder too (`require` returns it and the field read
    /// resolves it), so the module's other bindings see that load as theirs.
    pub partial_module_on_reentry: bool,
}

impl Default for Semantics {
    fn default() -> Self {
        Semantics {
            defer_from_imports: true,
            lazy_cycle_on_partial_module: false,
            bind_loaded_modules: false,
            partial_module_on_reentry: false,
        }
    }
}

/// A documented way in which the lazy run of a program may observe
/// something other than its eager run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Difference {
    /// Module bodies ran in another order, later, or not at all.
    BodiesDeferred,
    /// A registry read misses (or reorders) registrations because the
    /// registering module's body was deferred or has not run yet.
    DeferredRegistration {
        /// The label of the first such read.
        label: String,
    },
    /// Another value differs (a name read at another time sees another
    /// state: a partly initialised module, a rebinding).
    ValueChanged {
        /// The label of the first such read.
        label: String,
    },
    /// An error surfaced at another statement, or only in one run.
    ErrorMoved,
    /// A lazy binding needed itself while resolving: eagerly the same code
    /// sees a partly initialised module instead.
    LazyCycle,
}

/// The model's eager and lazy predictions for one program and policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    /// The run with every import eager ([`Mode::None`]).
    pub eager: Trace,
    /// The run under the policy.
    pub lazy: Trace,
}

impl Prediction {
    /// Predicts both runs: `eager` under `policy` with mode `none`, `lazy`
    /// under `policy` itself.
    pub fn new(program: &Program, policy: &Policy) -> Prediction {
        Prediction {
            eager: predict(program, &policy.with_mode(Mode::None)),
            lazy: predict(program, policy),
        }
    }

    /// Every kind of documented difference between the two runs (empty when
    /// they observe the same).
    pub fn differences(&self) -> Vec<Difference> {
        let mut out = Vec::new();
        let ran = |trace: &Trace| -> Vec<String> {
            trace
                .0
                .iter()
                .filter_map(|e| match e {
                    Event::Ran(name) => Some(name.clone()),
                    _ => None,
                })
                .collect()
        };
        if ran(&self.eager) != ran(&self.lazy) {
            out.push(Difference::BodiesDeferred);
        }
        let values = |trace: &Trace| -> HashMap<String, Vec<String>> {
            let mut map: HashMap<String, Vec<String>> = HashMap::new();
            for event in &trace.0 {
                if let Event::Value { label, value } = event {
                    map.entry(label.clone()).or_default().push(value.clone());
                }
            }
            map
        };
        let (eager, lazy) = (values(&self.eager), values(&self.lazy));
        let mut registration = None;
        let mut changed = None;
        for event in &self.eager.0 {
            let Event::Value { label, value } = event else {
                continue;
            };
            let Some(seen) = lazy.get(label) else {
                continue;
            };
            if eager.get(label) == Some(seen) {
                continue;
            }
            if value.starts_with('[') && seen.iter().all(|v| v.starts_with('[')) {
                registration.get_or_insert_with(|| label.clone());
            } else {
                changed.get_or_insert_with(|| label.clone());
            }
        }
        out.extend(registration.map(|label| Difference::DeferredRegistration { label }));
        out.extend(changed.map(|label| Difference::ValueChanged { label }));
        let errors = |trace: &Trace| -> Vec<Event> {
            trace
                .0
                .iter()
                .filter(|e| matches!(e, Event::Error { .. }))
                .cloned()
                .collect()
        };
        if errors(&self.eager) != errors(&self.lazy) {
            out.push(Difference::ErrorMoved);
        }
        let cycle = self.lazy.0.iter().any(|e| {
            matches!(
                e,
                Event::Error {
                    kind: ErrorKind::Cycle,
                    ..
                }
            )
        });
        if cycle {
            out.push(Difference::LazyCycle);
        }
        out
    }
}
