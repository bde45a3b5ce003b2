//! A fake in-memory runtime for the import-binding tests: modules are maps of
//! attributes, module bodies are closures (which may defer and use lazy
//! imports themselves), and every executed body is logged.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use lazy_bind::imports::{rebind_slot, Binding, ImportRuntime, ImportSpec, Importer, NamespaceId};
use lazy_bind::{Engine, Error, Handle, ResolveError, Site};

/// A runtime value.
#[derive(Clone)]
pub enum Value {
    /// A module object.
    Module(Arc<Module>),
    /// Any plain value.
    Int(i64),
    /// A lazy placeholder stored in a namespace slot.
    Lazy(Handle),
}

impl Value {
    /// The module, or a panic naming what it was instead.
    pub fn module(&self) -> &Arc<Module> {
        match self {
            Value::Module(module) => module,
            other => panic!("expected a module, got {other:?}"),
        }
    }

    /// The module's name, or a panic.
    pub fn module_name(&self) -> &str {
        &self.module().name
    }

    /// The integer, or a panic.
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(value) => *value,
            other => panic!("expected an int, got {other:?}"),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Module(module) => write!(f, "<module '{}'>", module.name),
            Value::Int(value) => write!(f, "{value}"),
            Value::Lazy(handle) => write!(f, "<lazy {handle:?}>"),
        }
    }
}

/// A module: a name, a namespace id, and its attributes (its namespace).
pub struct Module {
    pub name: String,
    pub namespace: NamespaceId,
    attrs: Mutex<HashMap<String, Value>>,
}

impl Module {
    /// A copy of attribute `name`, placeholders included.
    pub fn raw(&self, name: &str) -> Option<Value> {
        self.attrs.lock().unwrap().get(name).cloned()
    }

    /// Sets attribute `name` (user code assigning to a global).
    pub fn set(&self, name: &str, value: Value) {
        self.attrs.lock().unwrap().insert(name.to_owned(), value);
    }
}

/// An error raised by a module body.
#[derive(Debug, PartialEq, Eq)]
pub struct FakeError(pub String);

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FakeError {}

/// A module body.
pub type Body = Arc<dyn Fn(&Ctx<'_>) -> Result<(), ResolveError> + Send + Sync>;

/// What a module body sees while it runs.
pub struct Ctx<'a> {
    pub fake: &'a Fake,
    pub module: &'a Arc<Module>,
}

impl Ctx<'_> {
    /// `name = value` at module level.
    pub fn set(&self, name: &str, value: Value) {
        self.module.set(name, value);
    }

    /// `lazy import target` in this module.
    pub fn lazy_import(&self, target: &str, line: u32) {
        let spec = ImportSpec::import(&self.module.name, target, self.site(line)).unwrap();
        self.fake.run(self.module, &spec);
    }

    /// `lazy from <level dots>module import names` in this module.
    pub fn lazy_from(&self, level: u32, module: &str, names: &[(&str, Option<&str>)], line: u32) {
        let spec = ImportSpec::from_import(
            &self.module.name,
            &self.fake.package_of(&self.module.name),
            level,
            module,
            names,
            self.site(line),
        )
        .unwrap();
        self.fake.run(self.module, &spec);
    }

    /// Reads global `name`, resolving a lazy placeholder.
    pub fn get(&self, name: &str) -> Result<Value, ResolveError> {
        Ok(self.fake.load(self.module, name)?)
    }

    fn site(&self, line: u32) -> Site {
        Site::new(format!("{}.py", self.module.name), line)
    }
}

/// The fake runtime.
#[derive(Default)]
pub struct Fake {
    sources: Mutex<HashMap<String, Body>>,
    /// `sys.modules`: each module and whether its body has finished.
    modules: Mutex<HashMap<String, (Arc<Module>, bool)>>,
    executed: Mutex<Vec<String>>,
    calls: Mutex<Vec<(String, Vec<String>)>>,
    importer: OnceLock<Weak<Importer<Fake>>>,
    next_namespace: AtomicU64,
}

impl Fake {
    /// A runtime with no modules.
    pub fn new() -> Self {
        Fake::default()
    }

    /// Adds a findable module whose body is `body`.
    pub fn source(
        &self,
        name: &str,
        body: impl Fn(&Ctx<'_>) -> Result<(), ResolveError> + Send + Sync + 'static,
    ) -> &Self {
        self.sources
            .lock()
            .unwrap()
            .insert(name.to_owned(), Arc::new(body));
        self
    }

    /// Adds a findable module with an empty body.
    pub fn empty(&self, name: &str) -> &Self {
        self.source(name, |_| Ok(()))
    }

    /// Connects the runtime to a fresh engine and importer.
    pub fn start(self) -> (Arc<Fake>, Arc<Importer<Fake>>) {
        let fake = Arc::new(self);
        let importer = Arc::new(Importer::new(Arc::new(Engine::new()), Arc::clone(&fake)));
        fake.importer
            .set(Arc::downgrade(&importer))
            .unwrap_or_else(|_| panic!("started twice"));
        (fake, importer)
    }

    fn importer(&self) -> Arc<Importer<Fake>> {
        self.importer
            .get()
            .and_then(Weak::upgrade)
            .expect("the importer is alive")
    }

    /// A `__main__` module (not in `sys.modules`).
    pub fn main(&self) -> Arc<Module> {
        self.new_module("__main__")
    }

    fn new_module(&self, name: &str) -> Arc<Module> {
        Arc::new(Module {
            name: name.to_owned(),
            namespace: NamespaceId(self.next_namespace.fetch_add(1, Ordering::Relaxed)),
            attrs: Mutex::new(HashMap::new()),
        })
    }

    /// `__package__` of module `name`: itself if other modules live under
    /// it, else its parent.
    pub fn package_of(&self, name: &str) -> String {
        let prefix = format!("{name}.");
        if self
            .sources
            .lock()
            .unwrap()
            .keys()
            .any(|k| k.starts_with(&prefix))
        {
            name.to_owned()
        } else {
            name.rsplit_once('.')
                .map_or("", |(parent, _)| parent)
                .to_owned()
        }
    }

    /// Executes a lazy import statement in `module`: defers it and stores
    /// the placeholders in the bound slots.
    pub fn run(&self, module: &Module, spec: &ImportSpec) -> Vec<Binding> {
        let bindings = self.importer().defer(module.namespace, spec);
        for binding in &bindings {
            module.set(&binding.name, Value::Lazy(binding.handle));
        }
        bindings
    }

    /// Reads global `name` of `module`: a placeholder is resolved and the
    /// slot rebound if it still holds that placeholder.
    pub fn load(&self, module: &Module, name: &str) -> Result<Value, Error> {
        let value = module
            .raw(name)
            .unwrap_or_else(|| panic!("'{}' has no global '{name}'", module.name));
        let Value::Lazy(handle) = value else {
            return Ok(value);
        };
        let resolved = self
            .importer()
            .resolve(handle, Some(&Site::new("access.py", 1)))?;
        if let Some(slot) = module.attrs.lock().unwrap().get_mut(name) {
            rebind_slot(slot, handle, resolved.clone(), |v| match v {
                Value::Lazy(h) => Some(*h),
                _ => None,
            });
        }
        Ok(resolved)
    }

    /// The bodies executed so far, in order.
    pub fn executed(&self) -> Vec<String> {
        self.executed.lock().unwrap().clone()
    }

    /// Every `import_module` call so far, with its fromlist.
    pub fn calls(&self) -> Vec<(String, Vec<String>)> {
        self.calls.lock().unwrap().clone()
    }

    /// The module in `sys.modules`, finished or not.
    pub fn sys_module(&self, name: &str) -> Option<Arc<Module>> {
        self.modules
            .lock()
            .unwrap()
            .get(name)
            .map(|(module, _)| Arc::clone(module))
    }
}

impl ImportRuntime for Fake {
    type Value = Value;

    /// Returns the module from `sys.modules` (even a partly initialised one,
    /// as CPython does in a cycle), or runs its body. A failed body removes
    /// the module again. Parents are not imported here and children are not
    /// bound onto parents: the engine does both. Single-threaded per module
    /// (tests never import one module from two threads at once).
    fn import_module(&self, name: &str, fromlist: &[&str]) -> Result<Value, ResolveError> {
        self.calls.lock().unwrap().push((
            name.to_owned(),
            fromlist.iter().map(|s| (*s).to_owned()).collect(),
        ));
        if let Some((module, _)) = self.modules.lock().unwrap().get(name) {
            return Ok(Value::Module(Arc::clone(module)));
        }
        let Some(body) = self.sources.lock().unwrap().get(name).cloned() else {
            return Err(ResolveError::new(FakeError(format!(
                "No module named '{name}'"
            ))));
        };
        let module = self.new_module(name);
        self.modules
            .lock()
            .unwrap()
            .insert(name.to_owned(), (Arc::clone(&module), false));
        self.executed.lock().unwrap().push(name.to_owned());
        let result = body(&Ctx {
            fake: self,
            module: &module,
        });
        let mut modules = self.modules.lock().unwrap();
        match result {
            Ok(()) => {
                modules.insert(name.to_owned(), (Arc::clone(&module), true));
                Ok(Value::Module(module))
            }
            Err(error) => {
                modules.remove(name);
                Err(error)
            }
        }
    }

    fn get_attr(&self, module: &Value, name: &str) -> Result<Option<Value>, ResolveError> {
        Ok(module.module().raw(name))
    }

    fn set_attr_if_absent(
        &self,
        module: &Value,
        name: &str,
        value: &Value,
    ) -> Result<(), ResolveError> {
        module
            .module()
            .attrs
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_insert_with(|| value.clone());
        Ok(())
    }

    fn loaded_module(&self, name: &str) -> Option<Value> {
        match self.modules.lock().unwrap().get(name) {
            Some((module, true)) => Some(Value::Module(Arc::clone(module))),
            _ => None,
        }
    }

    fn can_find(&self, name: &str) -> bool {
        self.sources.lock().unwrap().contains_key(name)
    }

    fn as_lazy(&self, value: &Value) -> Option<Handle> {
        match value {
            Value::Lazy(handle) => Some(*handle),
            _ => None,
        }
    }
}
