//! The interpreter shared by the reference model and the fake runtime: a
//! tiny Python with CPython's eager import semantics. How lazy bindings are
//! deferred and resolved is the [`Backend`]'s job: the model's own thunks, or
//! the engine through [`Importer`](crate::imports::Importer).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::model::Semantics;
use super::program::{function_label, label, Expr, Import, Program, Stmt, MAIN};
use super::trace::{ErrorKind, Event, Trace};
use crate::imports::ImportSpec;
use crate::policy::{ImportContext, ImportQuery, Policy};
use crate::{Handle, Site};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A module object: its name, namespace id and globals.
#[derive(Debug)]
pub struct ModuleObject {
    pub(crate) name: String,
    pub(crate) namespace: u64,
    pub(crate) package: bool,
    pub(crate) globals: Mutex<HashMap<String, Value>>,
}

impl ModuleObject {
    pub(crate) fn get(&self, name: &str) -> Option<Value> {
        lock(&self.globals).get(name).cloned()
    }

    pub(crate) fn set(&self, name: &str, value: Value) {
        lock(&self.globals).insert(name.to_owned(), value);
    }

    pub(crate) fn set_if_absent(&self, name: &str, value: &Value) {
        lock(&self.globals)
            .entry(name.to_owned())
            .or_insert_with(|| value.clone());
    }

    /// Replaces global `name` with `value` only if it still holds the
    /// placeholder of `handle` (the rebind contract).
    fn rebind(&self, name: &str, handle: Handle, value: Value) {
        if let Some(slot) = lock(&self.globals).get_mut(name) {
            crate::imports::rebind_slot(slot, handle, value, Value::as_lazy);
        }
    }
}

/// A value of the interpreted program.
#[derive(Clone, Debug)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A module object.
    Module(Arc<ModuleObject>),
    /// A registry list of module names.
    List(Arc<Mutex<Vec<String>>>),
    /// Function `f` of a module: the module and the defining statement.
    Function(Arc<ModuleObject>, usize),
    /// A lazy placeholder.
    Lazy(Handle),
}

impl Value {
    /// The handle if this is a lazy placeholder.
    pub fn as_lazy(&self) -> Option<Handle> {
        match self {
            Value::Lazy(handle) => Some(*handle),
            _ => None,
        }
    }

    /// The observation format shared with the generated Python.
    pub(crate) fn format(&self) -> String {
        match self {
            Value::Int(value) => value.to_string(),
            Value::Module(module) => format!("<module {}>", module.name),
            Value::List(items) => format!("[{}]", lock(items).join(", ")),
            Value::Function(module, _) => format!("<function {}.f>", module.name),
            Value::Lazy(handle) => format!("<lazy {handle:?}>"),
        }
    }
}

/// How lazy bindings are made and resolved.
pub(crate) trait Backend: Send + Sync {
    /// Defers `spec`, run in `module`: the names to bind and their handles.
    fn defer(
        &self,
        world: &World,
        module: &ModuleObject,
        spec: &ImportSpec,
    ) -> Vec<(String, Handle)>;

    /// Resolves the placeholder `handle`.
    fn resolve(&self, world: &World, handle: Handle) -> Result<Value, ErrorKind>;
}

#[derive(Default)]
struct State {
    /// `sys.modules`: each module and whether its body finished.
    modules: HashMap<String, (Arc<ModuleObject>, bool)>,
    /// The modules that lazy resolutions in progress are importing (as the
    /// stock adaptor's entries name them), innermost last.
    lazy_imports: Vec<String>,
    /// Set by a lazy resolution that met its own import in progress and
    /// handed out the partial module instead (see [`World::cycle_fallback`]).
    fell_back: bool,
    /// Under [`Semantics::partial_module_on_reentry`]: the modules that
    /// `from` imports are loading through their placeholder, innermost last.
    from_loads: Vec<String>,
    /// Set when a binding used during its own resolution handed out the
    /// partial module (see [`World::partial_module_on_reentry`]): the name
    /// stays bound to the binding, whose outcome is the outer resolution's.
    handed_out_partial: bool,
    trace: Vec<Event>,
    next_namespace: u64,
}

/// One run of a program under a policy.
pub(crate) struct World {
    pub(crate) program: Arc<Program>,
    policy: Policy,
    semantics: Semantics,
    state: Mutex<State>,
}

impl World {
    pub(crate) fn new(program: Arc<Program>, policy: Policy, semantics: Semantics) -> World {
        World {
            program,
            policy,
            semantics,
            state: Mutex::default(),
        }
    }

    fn new_module(&self, name: &str, package: bool) -> Arc<ModuleObject> {
        let mut state = lock(&self.state);
        state.next_namespace += 1;
        Arc::new(ModuleObject {
            name: name.to_owned(),
            namespace: state.next_namespace,
            package,
            globals: Mutex::default(),
        })
    }

    /// The semantics the run follows.
    pub(crate) fn semantics(&self) -> Semantics {
        self.semantics
    }

    /// The module in `sys.modules` if its body finished.
    pub(crate) fn loaded(&self, name: &str) -> Option<Arc<ModuleObject>> {
        match lock(&self.state).modules.get(name) {
            Some((module, true)) => Some(Arc::clone(module)),
            _ => None,
        }
    }

    /// Under [`Semantics::partial_module_on_reentry`], for a binding used
    /// while it resolves: the partial module `name` from `sys.modules`, if
    /// any. The binding is not resolved by it (the name using it is not
    /// rebound): if the module's body then fails, the binding is pending
    /// again and its next use imports the module anew.
    pub(crate) fn partial_module_on_reentry(&self, name: &str) -> Option<Value> {
        let mut state = lock(&self.state);
        let module = Arc::clone(&state.modules.get(name)?.0);
        state.handed_out_partial = true;
        Some(Value::Module(module))
    }

    pub(crate) fn sys_module(&self, name: &str) -> Option<Arc<ModuleObject>> {
        lock(&self.state)
            .modules
            .get(name)
            .map(|(module, _)| Arc::clone(module))
    }

    /// Runs the main script and returns what it observed.
    pub(crate) fn run(&self, backend: &dyn Backend) -> Trace {
        let main = self.new_module(MAIN, false);
        for (index, stmt) in self.program.main.iter().enumerate() {
            if let Err(kind) = self.exec(backend, &main, index, stmt) {
                lock(&self.state).trace.push(Event::Error {
                    label: label(MAIN, index),
                    kind,
                });
            }
        }
        Trace(std::mem::take(&mut lock(&self.state).trace))
    }

    /// CPython's `_find_and_load`: the module from `sys.modules` if it is
    /// there (even partly initialised, as in a cycle, and without looking at
    /// its parents); otherwise imports its parent first if the parent is not
    /// in `sys.modules`, then runs its body. On success the module is bound
    /// onto its parent; on failure it leaves `sys.modules` again.
    pub(crate) fn import_module(
        &self,
        backend: &dyn Backend,
        name: &str,
    ) -> Result<Arc<ModuleObject>, ErrorKind> {
        if let Some(module) = self.sys_module(name) {
            return Ok(module);
        }
        if let Some((parent, _)) = name.rsplit_once('.') {
            if self.sys_module(parent).is_none() {
                self.import_module(backend, parent)?;
            }
            if let Some(module) = self.sys_module(name) {
                return Ok(module);
            }
        }
        let Some(source) = self.program.module(name) else {
            return Err(ErrorKind::Other(format!("ModuleNotFoundError {name}")));
        };
        let module = self.new_module(name, source.package);
        {
            let mut state = lock(&self.state);
            state
                .modules
                .insert(name.to_owned(), (Arc::clone(&module), false));
            state.trace.push(Event::Ran(name.to_owned()));
        }
        let result = source
            .body
            .iter()
            .enumerate()
            .try_for_each(|(index, stmt)| self.exec(backend, &module, index, stmt));
        let mut state = lock(&self.state);
        match result {
            Ok(()) => {
                state
                    .modules
                    .insert(name.to_owned(), (Arc::clone(&module), true));
                if let Some((parent, leaf)) = name.rsplit_once('.') {
                    if let Some((parent, _)) = state.modules.get(parent) {
                        parent.set(leaf, Value::Module(Arc::clone(&module)));
                    }
                }
                Ok(module)
            }
            Err(kind) => {
                if state
                    .modules
                    .get(name)
                    .is_some_and(|(m, _)| Arc::ptr_eq(m, &module))
                {
                    state.modules.remove(name);
                }
                Err(kind)
            }
        }
    }

    /// Reads global `name` of `module`, resolving a placeholder.
    fn load(
        &self,
        backend: &dyn Backend,
        module: &ModuleObject,
        name: &str,
    ) -> Result<Option<Value>, ErrorKind> {
        Ok(self.load_noting_fallback(backend, module, name)?.0)
    }

    /// [`World::load`], also saying whether the value is a partial module
    /// handed out by a [`World::cycle_fallback`] (then not rebound).
    fn load_noting_fallback(
        &self,
        backend: &dyn Backend,
        module: &ModuleObject,
        name: &str,
    ) -> Result<(Option<Value>, bool), ErrorKind> {
        match module.get(name) {
            Some(Value::Lazy(handle)) => {
                {
                    let mut state = lock(&self.state);
                    state.fell_back = false;
                    state.handed_out_partial = false;
                }
                let value = backend.resolve(self, handle)?;
                let (fell_back, handed_out_partial) = {
                    let mut state = lock(&self.state);
                    (
                        std::mem::take(&mut state.fell_back),
                        std::mem::take(&mut state.handed_out_partial),
                    )
                };
                if !fell_back && !handed_out_partial {
                    module.rebind(name, handle, value.clone());
                }
                Ok((Some(value), fell_back))
            }
            other => Ok((other, false)),
        }
    }

    /// Under [`Semantics::lazy_cycle_on_partial_module`], when a lazy
    /// resolution needs an import that a lazy resolution in progress on this
    /// thread is doing (`importing` names those imports): the partial module
    /// `name`, as the stock adaptor hands it out, or a cycle error when
    /// there is none. `None` when the rule does not apply.
    pub(crate) fn cycle_fallback(
        &self,
        importing: &[String],
        name: &str,
    ) -> Option<Result<Value, ErrorKind>> {
        let mut state = lock(&self.state);
        let applies = self.semantics.lazy_cycle_on_partial_module
            && importing.iter().any(|n| state.lazy_imports.contains(n));
        if !applies {
            return None;
        }
        Some(match state.modules.get(name) {
            Some((module, _)) => {
                let module = Arc::clone(module);
                state.fell_back = true;
                Ok(Value::Module(module))
            }
            None => Err(ErrorKind::Cycle),
        })
    }

    fn eval(
        &self,
        backend: &dyn Backend,
        module: &ModuleObject,
        expr: &Expr,
    ) -> Result<Value, ErrorKind> {
        let (value, fell_back) = self.load_noting_fallback(backend, module, &expr.name)?;
        let mut value = value.ok_or_else(|| ErrorKind::Name(expr.name.clone()))?;
        for (i, attr) in expr.attrs.iter().enumerate() {
            value = match self.attribute(backend, &value, attr) {
                // The adaptor reports the cycle when the partial module
                // lacks the attribute.
                Err(ErrorKind::Attribute(_)) if i == 0 && fell_back => {
                    return Err(ErrorKind::Cycle)
                }
                other => other?,
            };
        }
        Ok(value)
    }

    /// Runs `body` while a lazy resolution imports `modules`.
    pub(crate) fn lazily_importing<T>(&self, modules: Vec<String>, body: impl FnOnce() -> T) -> T {
        let count = modules.len();
        lock(&self.state).lazy_imports.extend(modules);
        let result = body();
        let mut state = lock(&self.state);
        let keep = state.lazy_imports.len() - count;
        state.lazy_imports.truncate(keep);
        result
    }

    fn attribute(
        &self,
        backend: &dyn Backend,
        value: &Value,
        attr: &str,
    ) -> Result<Value, ErrorKind> {
        match value {
            Value::Module(module) => self
                .load(backend, module, attr)?
                .ok_or_else(|| ErrorKind::Attribute(attr.to_owned())),
            _ => Err(ErrorKind::Attribute(attr.to_owned())),
        }
    }

    fn observe(&self, label: String, value: &Value) {
        lock(&self.state).trace.push(Event::Value {
            label,
            value: value.format(),
        });
    }

    fn exec(
        &self,
        backend: &dyn Backend,
        module: &Arc<ModuleObject>,
        index: usize,
        stmt: &Stmt,
    ) -> Result<(), ErrorKind> {
        match stmt {
            Stmt::Import(import) => self.import(backend, module, index, import),
            Stmt::Assign { name, value } => {
                module.set(name, Value::Int(*value));
                Ok(())
            }
            Stmt::NewRegistry => {
                module.set("items", Value::List(Arc::default()));
                Ok(())
            }
            Stmt::Read(expr) => {
                let value = self.eval(backend, module, expr)?;
                self.observe(label(&module.name, index), &value);
                Ok(())
            }
            Stmt::Register(name) => {
                let registry = Expr {
                    name: name.clone(),
                    attrs: vec!["items".to_owned()],
                };
                match self.eval(backend, module, &registry)? {
                    Value::List(items) => {
                        lock(&items).push(module.name.clone());
                        Ok(())
                    }
                    _ => Err(ErrorKind::Attribute("append".to_owned())),
                }
            }
            Stmt::Def(_) => {
                module.set("f", Value::Function(Arc::clone(module), index));
                Ok(())
            }
            Stmt::Call(name) => {
                let callee = Expr {
                    name: name.clone(),
                    attrs: vec!["f".to_owned()],
                };
                match self.eval(backend, module, &callee)? {
                    Value::Function(owner, def) => self.call(backend, &owner, def),
                    _ => Err(ErrorKind::Other("TypeError not callable".to_owned())),
                }
            }
            Stmt::Raise => Err(ErrorKind::Raised(module.name.clone())),
        }
    }

    /// Calls `f` defined by statement `def` of `owner`: its reads see the
    /// owner's globals as they are now.
    fn call(
        &self,
        backend: &dyn Backend,
        owner: &ModuleObject,
        def: usize,
    ) -> Result<(), ErrorKind> {
        let program = Arc::clone(&self.program);
        let body = program
            .module(&owner.name)
            .map_or(&program.main, |m| &m.body);
        let Some(Stmt::Def(reads)) = body.get(def) else {
            return Err(ErrorKind::Other(format!(
                "no function at {}",
                label(&owner.name, def)
            )));
        };
        for (read, expr) in reads.iter().enumerate() {
            let value = self.eval(backend, owner, expr)?;
            self.observe(function_label(&owner.name, def, read), &value);
        }
        Ok(())
    }

    /// The import spec of `import`, run in `module` as statement `index`.
    fn spec(
        &self,
        module: &ModuleObject,
        index: usize,
        import: &Import,
    ) -> Result<ImportSpec, ErrorKind> {
        let site = Site::new(format!("{}.py", module.name), index as u32 + 1);
        let spec = match import {
            Import::Module {
                target,
                alias: None,
            } => ImportSpec::import(&module.name, target, site),
            Import::Module {
                target,
                alias: Some(alias),
            } => ImportSpec::import_as(&module.name, target, alias, site),
            Import::From {
                level,
                module: from,
                names,
            } => {
                let names: Vec<(&str, Option<&str>)> = names
                    .iter()
                    .map(|(name, alias)| (name.as_str(), alias.as_deref()))
                    .collect();
                let package = self.program.package_of(&module.name);
                ImportSpec::from_import(&module.name, &package, *level, from, &names, site)
            }
        };
        spec.map_err(|error| ErrorKind::Other(format!("bad import statement: {error}")))
    }

    fn import(
        &self,
        backend: &dyn Backend,
        module: &Arc<ModuleObject>,
        index: usize,
        import: &Import,
    ) -> Result<(), ErrorKind> {
        let spec = self.spec(module, index, import)?;
        let fromlist: Vec<&str> = match import {
            Import::From { names, .. } => names.iter().map(|(name, _)| name.as_str()).collect(),
            Import::Module { .. } => Vec::new(),
        };
        let query = ImportQuery {
            importer: &module.name,
            target: spec.target(),
            fromlist: &fromlist,
            context: ImportContext::MODULE_LEVEL,
        };
        let deferrable = match import {
            Import::From { .. } => self.semantics.defer_from_imports,
            Import::Module { .. } => {
                !self.semantics.bind_loaded_modules || self.sys_module(spec.target()).is_none()
            }
        };
        let decision = self.policy.decide(&query);
        if deferrable && decision.is_defer() {
            for (name, handle) in backend.defer(self, module, &spec) {
                module.set(&name, Value::Lazy(handle));
            }
            return Ok(());
        }
        let through_placeholder = matches!(import, Import::From { .. })
            && self.semantics.partial_module_on_reentry
            && decision.is_defer();
        if !through_placeholder {
            return self.eager_import(backend, module, import, spec.target());
        }
        lock(&self.state).from_loads.push(spec.target().to_owned());
        let result = self.eager_import(backend, module, import, spec.target());
        lock(&self.state).from_loads.pop();
        result
    }

    /// Whether a `from` import is loading `name` through its placeholder
    /// (see [`Semantics::partial_module_on_reentry`]).
    pub(crate) fn loading_through_placeholder(&self, name: &str) -> bool {
        lock(&self.state).from_loads.iter().any(|n| n == name)
    }

    /// CPython 3.11's eager import statement.
    fn eager_import(
        &self,
        backend: &dyn Backend,
        module: &ModuleObject,
        import: &Import,
        target: &str,
    ) -> Result<(), ErrorKind> {
        // `__import__`: `_gcd_import(target)` first, whatever the form.
        let imported = self.import_module(backend, target)?;
        match import {
            Import::Module {
                target,
                alias: None,
            } => {
                let top = target.split('.').next().unwrap_or(target);
                let top = self.import_module(backend, top)?;
                module.set(&module_top_name(target), Value::Module(top));
            }
            Import::Module {
                target,
                alias: Some(alias),
            } => {
                // IMPORT_NAME returns the top package, then IMPORT_FROM walks
                // each part: the attribute, else `sys.modules[prefix]`.
                let mut parts = target.split('.');
                let top = parts.next().unwrap_or(target);
                let mut value = Value::Module(self.import_module(backend, top)?);
                let mut prefix = top.to_owned();
                for part in parts {
                    prefix = format!("{prefix}.{part}");
                    value = self.import_from(backend, &value, part, &prefix)?;
                }
                module.set(alias, value);
            }
            Import::From { names, .. } => {
                let source = imported;
                // _handle_fromlist: a package imports each missing name as a
                // submodule if there is one, through `__import__(full)`,
                // which also imports the top package again if it left
                // `sys.modules` (a failed body).
                if source.package {
                    for (name, _) in names {
                        let submodule = format!("{target}.{name}");
                        if source.get(name).is_none() && self.program.module(&submodule).is_some() {
                            self.import_module(backend, &submodule)?;
                            self.import_module(backend, &module_top_name(&submodule))?;
                        }
                    }
                }
                let source = Value::Module(source);
                for (name, alias) in names {
                    let value =
                        self.import_from(backend, &source, name, &format!("{target}.{name}"))?;
                    module.set(alias.as_ref().unwrap_or(name), value);
                }
            }
        }
        Ok(())
    }

    /// CPython's IMPORT_FROM: attribute `name` of `source`, else the module
    /// `full` from `sys.modules`, else ImportError.
    fn import_from(
        &self,
        backend: &dyn Backend,
        source: &Value,
        name: &str,
        full: &str,
    ) -> Result<Value, ErrorKind> {
        if let Value::Module(module) = source {
            if let Some(value) = self.load(backend, module, name)? {
                return Ok(value);
            }
            if let Some(found) = self.sys_module(full) {
                return Ok(Value::Module(found));
            }
            return Err(ErrorKind::ImportName(module.name.clone()));
        }
        Err(ErrorKind::Other(format!(
            "import from a non-module for '{full}'"
        )))
    }
}

fn module_top_name(target: &str) -> String {
    target.split('.').next().unwrap_or(target).to_owned()
}
