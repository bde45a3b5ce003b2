//! The resolution steps of each kind of binding, carried out through the
//! runtime's hooks.

use super::namespace::Submodules;
use super::{ImportError, ImportRuntime};
use crate::{Engine, Handle, ResolveError};

/// Imports `name` and each of its dotted parents, parents first (`a`, then
/// `a.b`, then `a.b.c`), binding each child onto its parent only if the
/// parent has no attribute of that name. `fromlist` goes with the last
/// import. Returns the top package and the module `name`.
pub(crate) fn import_chain<R: ImportRuntime>(
    runtime: &R,
    name: &str,
    fromlist: &[&str],
) -> Result<(R::Value, R::Value), ResolveError> {
    let mut parts = name.split('.');
    let top_name = parts.next().unwrap_or(name);
    let last = top_name.len() == name.len();
    let top = runtime.import_module(top_name, if last { fromlist } else { &[] })?;
    let mut parent = top.clone();
    let mut end = top_name.len();
    for part in parts {
        end += 1 + part.len();
        let last = end == name.len();
        let child = runtime.import_module(&name[..end], if last { fromlist } else { &[] })?;
        runtime.set_attr_if_absent(&parent, part, &child)?;
        parent = child;
    }
    Ok((top, parent))
}

/// `import a.b.c` (with merged `import a.x`): imports the top package, then
/// every pending submodule in the order the statements were deferred, and
/// returns the top package. Submodules added while this runs are imported
/// too; once none is left the list is closed, so a later statement gets a
/// fresh entry instead of joining one whose value is being published.
pub(crate) fn resolve_package<R: ImportRuntime>(
    runtime: &R,
    top: &str,
    submodules: &Submodules,
) -> Result<R::Value, ResolveError> {
    let value = runtime.import_module(top, &[])?;
    let mut next = 0;
    loop {
        let name = {
            let mut state = submodules.lock();
            match state.names.get(next) {
                Some(name) => name.clone(),
                None => {
                    state.closed = true;
                    break;
                }
            }
        };
        import_chain(runtime, &name, &[])?;
        next += 1;
    }
    Ok(value)
}

/// `from module import name`: imports `module` asking for `name`, takes
/// attribute `name`, and falls back to importing submodule `module.name`
/// when the attribute is missing. A value that is itself a lazy binding is
/// resolved in turn.
///
/// A submodule that exists but fails reports its own error; only a name
/// that is neither an attribute nor a findable submodule reports
/// [`ImportError::CannotImportName`].
pub(crate) fn resolve_attribute<R: ImportRuntime>(
    runtime: &R,
    engine: &Engine<R::Value>,
    module: &str,
    name: &str,
) -> Result<R::Value, ResolveError> {
    let (_, parent) = import_chain(runtime, module, &[name])?;
    let value = match runtime.get_attr(&parent, name)? {
        Some(value) => value,
        None => {
            let submodule = format!("{module}.{name}");
            if !runtime.can_find(&submodule) {
                return Err(ResolveError::new(ImportError::CannotImportName {
                    name: name.to_owned(),
                    module: module.to_owned(),
                }));
            }
            let child = runtime.import_module(&submodule, &[])?;
            runtime.set_attr_if_absent(&parent, name, &child)?;
            // As CPython's IMPORT_FROM: the attribute wins if the
            // submodule's body set one.
            runtime.get_attr(&parent, name)?.unwrap_or(child)
        }
    };
    unlazy(runtime, engine, value)
}

/// Resolves `value` while it is a lazy placeholder; a chain that comes back
/// to a placeholder already met is [`ImportError::PlaceholderLoop`].
pub(crate) fn unlazy<R: ImportRuntime>(
    runtime: &R,
    engine: &Engine<R::Value>,
    mut value: R::Value,
) -> Result<R::Value, ResolveError> {
    let mut met: Vec<Handle> = Vec::new();
    while let Some(handle) = runtime.as_lazy(&value) {
        if met.contains(&handle) {
            met.push(handle);
            let names = met
                .iter()
                .map(|&h| {
                    engine
                        .declaration(h)
                        .map_or_else(|_| "?".to_owned(), |d| d.name().to_owned())
                })
                .collect();
            return Err(ResolveError::new(ImportError::PlaceholderLoop { names }));
        }
        met.push(handle);
        value = engine.resolve(handle)?.clone();
    }
    Ok(value)
}
