//! Import specs: one import statement, with relative names made absolute.

use std::sync::Arc;

use super::ImportError;
use crate::Site;

/// What an import statement binds in the importer's namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportKind {
    /// `import a.b.c`: binds the top package `a`; resolving it imports `a`,
    /// `a.b` and `a.b.c`, in that order.
    Package,
    /// `import a.b as c`: binds the submodule `a.b` itself to `c` (the module
    /// [`ImportRuntime::import_module`](super::ImportRuntime::import_module)
    /// returned for `a.b`, even if `a` has an attribute `b` that differs).
    ModuleAs(Arc<str>),
    /// `from a import x, y as z`: binds one entry per name.
    From(Vec<FromName>),
}

/// One name of a `from` import: the attribute (or submodule) taken from the
/// module, and the name it is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromName {
    /// The attribute read from the module (`x` in `from a import x as y`).
    pub attribute: Arc<str>,
    /// The name bound in the importer's namespace (`y`; `x` without `as`).
    pub bound_as: Arc<str>,
}

/// One import statement: who imports, what (as an absolute dotted name), what
/// it binds, and where it was written.
///
/// Built only through constructors that check every name, so an `ImportSpec`
/// always names a valid absolute target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSpec {
    importer: Arc<str>,
    target: Arc<str>,
    kind: ImportKind,
    site: Site,
}

impl ImportSpec {
    /// `import target` (binds the top package of `target`).
    ///
    /// # Errors
    /// [`ImportError::InvalidName`] if `target` is not a dotted name with
    /// non-empty parts.
    pub fn import(importer: &str, target: &str, site: Site) -> Result<Self, ImportError> {
        check_dotted(target)?;
        Ok(ImportSpec::new(importer, target, ImportKind::Package, site))
    }

    /// `import target as alias` (binds the module `target` itself).
    ///
    /// # Errors
    /// [`ImportError::InvalidName`] if `target` is not a dotted name or
    /// `alias` is not a plain name.
    pub fn import_as(
        importer: &str,
        target: &str,
        alias: &str,
        site: Site,
    ) -> Result<Self, ImportError> {
        check_dotted(target)?;
        check_plain(alias)?;
        let kind = ImportKind::ModuleAs(alias.into());
        Ok(ImportSpec::new(importer, target, kind, site))
    }

    /// `from <level dots><module> import names`, written in a module whose
    /// package is `package` (`__package__`; ignored when `level` is `0`).
    /// Each name is `(attribute, alias)`.
    ///
    /// ```
    /// use lazy_bind::imports::ImportSpec;
    /// use lazy_bind::Site;
    ///
    /// // In module `pkg.sub.mod`: `from ..util import helper as h`
    /// let spec = ImportSpec::from_import(
    ///     "pkg.sub.mod", "pkg.sub", 2, "util", &[("helper", Some("h"))],
    ///     Site::new("pkg/sub/mod.py", 1),
    /// ).unwrap();
    /// assert_eq!(spec.target(), "pkg.util");
    /// ```
    ///
    /// # Errors
    /// The errors of [`resolve_name`]; [`ImportError::NoNames`] for an empty
    /// name list; [`ImportError::StarImport`] for `*`, which cannot be
    /// deferred; [`ImportError::InvalidName`] for a malformed name.
    pub fn from_import(
        importer: &str,
        package: &str,
        level: u32,
        module: &str,
        names: &[(&str, Option<&str>)],
        site: Site,
    ) -> Result<Self, ImportError> {
        let target = resolve_name(package, level, module)?;
        if names.is_empty() {
            return Err(ImportError::NoNames { module: target });
        }
        let mut from = Vec::with_capacity(names.len());
        for &(attribute, alias) in names {
            if attribute == "*" {
                return Err(ImportError::StarImport { module: target });
            }
            check_plain(attribute)?;
            let bound_as = alias.unwrap_or(attribute);
            check_plain(bound_as)?;
            from.push(FromName {
                attribute: attribute.into(),
                bound_as: bound_as.into(),
            });
        }
        Ok(ImportSpec::new(
            importer,
            &target,
            ImportKind::From(from),
            site,
        ))
    }

    fn new(importer: &str, target: &str, kind: ImportKind, site: Site) -> Self {
        ImportSpec {
            importer: importer.into(),
            target: target.into(),
            kind,
            site,
        }
    }

    /// The module whose code runs the import.
    pub fn importer(&self) -> &str {
        &self.importer
    }

    /// The absolute name of the module imported (for a `from` import, the
    /// module the names are taken from).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// What the statement binds.
    pub fn kind(&self) -> &ImportKind {
        &self.kind
    }

    /// Where the statement was written.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// The top-level package of the target (`a` for `a.b.c`).
    pub fn top_package(&self) -> &str {
        top_package(&self.target)
    }
}

/// Resolves the module name of a `from` import written with `level` leading
/// dots, in a module whose package is `package`, to an absolute name. This is
/// the rule of CPython's `importlib._bootstrap._resolve_name`.
///
/// `level` 0 means absolute: `name` is returned as is. Otherwise the last
/// `level - 1` parts of `package` are dropped and `name` (if any) appended:
/// in package `a.b`, level 1 + `x` is `a.b.x`, level 2 + `x` is `a.x`, level
/// 2 with no name is `a`.
///
/// ```
/// use lazy_bind::imports::resolve_name;
/// assert_eq!(resolve_name("a.b.c", 3, "x").unwrap(), "a.x");
/// assert!(resolve_name("a.b.c", 4, "x").is_err());
/// ```
///
/// # Errors
/// - [`ImportError::NoParentPackage`]: `level > 0` and `package` is empty.
/// - [`ImportError::BeyondTopLevel`]: `package` has fewer than `level` parts.
/// - [`ImportError::InvalidName`]: `level == 0` and `name` is not a dotted
///   name, or `name` is not empty and not a dotted name.
pub fn resolve_name(package: &str, level: u32, name: &str) -> Result<String, ImportError> {
    if level == 0 {
        check_dotted(name)?;
        return Ok(name.to_owned());
    }
    if package.is_empty() {
        return Err(ImportError::NoParentPackage {
            name: name.to_owned(),
            level,
        });
    }
    check_dotted(package)?;
    if !name.is_empty() {
        check_dotted(name)?;
    }
    let mut base = package;
    for _ in 1..level {
        match base.rfind('.') {
            Some(dot) => base = &base[..dot],
            None => {
                return Err(ImportError::BeyondTopLevel {
                    package: package.to_owned(),
                    level,
                })
            }
        }
    }
    Ok(if name.is_empty() {
        base.to_owned()
    } else {
        format!("{base}.{name}")
    })
}

/// The first part of a dotted name.
pub(crate) fn top_package(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// Checks that `name` is a non-empty dotted name with non-empty parts.
fn check_dotted(name: &str) -> Result<(), ImportError> {
    if name.is_empty() || name.split('.').any(str::is_empty) {
        return Err(ImportError::InvalidName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Checks that `name` is a non-empty name without dots.
fn check_plain(name: &str) -> Result<(), ImportError> {
    if name.is_empty() || name.contains('.') {
        return Err(ImportError::InvalidName {
            name: name.to_owned(),
        });
    }
    Ok(())
}
