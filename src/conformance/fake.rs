//! The reference [`ConformanceRuntime`]: the kit's interpreter with its lazy
//! bindings made and resolved by the engine through
//! [`Importer`](crate::imports::Importer). Read it as an example of how an
//! interpreter plugs lazy_bind in.

use std::sync::{Arc, OnceLock, Weak};

use super::harness::ConformanceRuntime;
use super::interp::{Backend, ModuleObject, Value, World};
use super::model::Semantics;
use super::program::Program;
use super::trace::{ErrorKind, Trace};
use crate::imports::{ImportError, ImportRuntime, ImportSpec, Importer, NamespaceId};
use crate::policy::Policy;
use crate::{Engine, Error, Handle, ResolveError};

/// The in-memory fake runtime: runs a [`Program`] in the kit's interpreter
/// (CPython's eager import semantics) and defers imports through a fresh
/// [`Engine`] and [`Importer`] per run.
#[derive(Debug, Default, Clone, Copy)]
pub struct FakeRuntime;

impl ConformanceRuntime for FakeRuntime {
    fn run(&mut self, program: &Program, policy: &Policy) -> Result<Trace, String> {
        let world = Arc::new(World::new(
            Arc::new(program.clone()),
            policy.clone(),
            Semantics::default(),
        ));
        let hooks = Arc::new(Hooks {
            world: Arc::downgrade(&world),
            importer: OnceLock::new(),
        });
        let importer = Arc::new(Importer::new(Arc::new(Engine::new()), Arc::clone(&hooks)));
        hooks
            .importer
            .set(Arc::downgrade(&importer))
            .map_err(|_| "the hooks were connected twice".to_owned())?;
        Ok(world.run(&EngineBackend { importer }))
    }
}

/// The interpreter's [`ImportRuntime`] hooks.
struct Hooks {
    world: Weak<World>,
    importer: OnceLock<Weak<Importer<Hooks>>>,
}

impl Hooks {
    fn world(&self) -> Result<Arc<World>, ResolveError> {
        self.world
            .upgrade()
            .ok_or_else(|| ResolveError::msg("the run is over"))
    }
}

fn module(value: &Value) -> Result<&Arc<ModuleObject>, ResolveError> {
    match value {
        Value::Module(module) => Ok(module),
        other => Err(ResolveError::msg(format!(
            "not a module: {}",
            other.format()
        ))),
    }
}

impl ImportRuntime for Hooks {
    type Value = Value;

    fn import_module(&self, name: &str, _fromlist: &[&str]) -> Result<Value, ResolveError> {
        let world = self.world()?;
        let importer = self
            .importer
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| ResolveError::msg("the importer is gone"))?;
        let module = world
            .import_module(&EngineBackend { importer }, name)
            .map_err(ResolveError::new)?;
        Ok(Value::Module(module))
    }

    fn get_attr(&self, module_value: &Value, name: &str) -> Result<Option<Value>, ResolveError> {
        Ok(module(module_value)?.get(name))
    }

    fn set_attr_if_absent(
        &self,
        parent: &Value,
        name: &str,
        value: &Value,
    ) -> Result<(), ResolveError> {
        module(parent)?.set_if_absent(name, value);
        Ok(())
    }

    fn loaded_module(&self, name: &str) -> Option<Value> {
        self.world.upgrade()?.loaded(name).map(Value::Module)
    }

    fn can_find(&self, name: &str) -> bool {
        self.world
            .upgrade()
            .is_some_and(|world| world.program.module(name).is_some())
    }

    fn as_lazy(&self, value: &Value) -> Option<Handle> {
        value.as_lazy()
    }
}

/// Lazy bindings through the engine.
struct EngineBackend {
    importer: Arc<Importer<Hooks>>,
}

impl Backend for EngineBackend {
    fn defer(&self, _: &World, module: &ModuleObject, spec: &ImportSpec) -> Vec<(String, Handle)> {
        self.importer
            .defer(NamespaceId(module.namespace), spec)
            .into_iter()
            .map(|binding| (binding.name.to_string(), binding.handle))
            .collect()
    }

    fn resolve(&self, _: &World, handle: Handle) -> Result<Value, ErrorKind> {
        self.importer
            .resolve(handle, None)
            .map_err(|e| classify(&e))
    }
}

/// The innermost cause of an engine error: the interpreter's own error
/// (passed through every enclosing resolver unchanged), or a cycle.
fn classify(error: &Error) -> ErrorKind {
    match error {
        Error::ResolverFailed { source, .. } => {
            if let Some(kind) = source.downcast_ref::<ErrorKind>() {
                kind.clone()
            } else if let Some(ImportError::CannotImportName { module, .. }) =
                source.downcast_ref::<ImportError>()
            {
                // The runtime raises its own ImportError for the engine's.
                ErrorKind::ImportName(module.clone())
            } else if let Some(inner) = source.as_engine_error() {
                classify(inner)
            } else {
                ErrorKind::Other(source.to_string())
            }
        }
        Error::Cycle { .. } => ErrorKind::Cycle,
        other => ErrorKind::Other(other.to_string()),
    }
}
