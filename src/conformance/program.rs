//! Generated programs: modules of Python-like statements, and their source.

use std::fmt;

/// The module whose statements are the program's top-level uses. It is not
/// importable and has no package, like a script run as `python main.py`.
pub const MAIN: &str = "__main__";

/// A program: modules (importable by name) and the statements of the main
/// script. Its [`Display`](fmt::Display) (and its `Debug`, so a shrunk
/// proptest failure prints readably) is Python-like source per module.
#[derive(Clone, PartialEq, Eq)]
pub struct Program {
    /// The importable modules, parents before their submodules.
    pub modules: Vec<ModuleSource>,
    /// The main script's statements. Each runs on its own: an error is
    /// recorded against the statement and the next statement runs.
    pub main: Vec<Stmt>,
}

/// One importable module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSource {
    /// Its absolute dotted name.
    pub name: String,
    /// Whether it is a package (may have submodules; `__init__.py`).
    pub package: bool,
    /// Its body, run when it is first imported.
    pub body: Vec<Stmt>,
}

/// A statement of a module body or of the main script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    /// An import statement (module level).
    Import(Import),
    /// `name = value`.
    Assign {
        /// The global assigned.
        name: String,
        /// The integer stored.
        value: i64,
    },
    /// `items = []`: makes this module a registry others append to.
    NewRegistry,
    /// Observes the value of an expression (`_obs('m:3', a.b)`).
    Read(Expr),
    /// `name.items.append('<this module>')`: a side effect registering this
    /// module into a registry module bound to `name`.
    Register(String),
    /// `def f():` whose body observes each expression when called.
    Def(Vec<Expr>),
    /// `name.f()`: calls function `f` of the module bound to `name`.
    Call(String),
    /// `raise RuntimeError('<this module>')`: the module fails.
    Raise,
}

/// A global name followed by attribute reads: `name.attr1.attr2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    /// The global read first.
    pub name: String,
    /// The attributes read in turn.
    pub attrs: Vec<String>,
}

/// An import statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Import {
    /// `import target` (binds the top package) or `import target as alias`.
    Module {
        /// The absolute dotted module name.
        target: String,
        /// The alias, if any.
        alias: Option<String>,
    },
    /// `from <level dots>module import name [as alias], ...`.
    From {
        /// The number of leading dots (0: absolute).
        level: u32,
        /// The module after the dots (may be empty when `level > 0`).
        module: String,
        /// Each name and its alias.
        names: Vec<(String, Option<String>)>,
    },
}

impl Import {
    /// The names this statement binds in the importer's namespace.
    pub fn bound_names(&self) -> Vec<String> {
        match self {
            Import::Module {
                alias: Some(alias), ..
            } => vec![alias.clone()],
            Import::Module { target, .. } => {
                vec![target.split('.').next().unwrap_or(target).to_owned()]
            }
            Import::From { names, .. } => names
                .iter()
                .map(|(name, alias)| alias.as_ref().unwrap_or(name).clone())
                .collect(),
        }
    }
}

/// The label of statement `index` (0-based) of `module`, as observations
/// and errors name it: `module:line`, with 1-based lines.
pub fn label(module: &str, index: usize) -> String {
    format!("{module}:{}", index + 1)
}

/// The label of read `read` of the function defined by statement `index`.
pub fn function_label(module: &str, index: usize, read: usize) -> String {
    format!("{module}:{}.{}", index + 1, read + 1)
}

impl Program {
    /// The module named `name`, if the program has it.
    pub fn module(&self, name: &str) -> Option<&ModuleSource> {
        self.modules.iter().find(|m| m.name == name)
    }

    /// `__package__` of the module `name`: itself for a package, else its
    /// parent (empty for a top-level module and for [`MAIN`]).
    pub fn package_of(&self, name: &str) -> String {
        if self.module(name).is_some_and(|m| m.package) {
            return name.to_owned();
        }
        match name.rsplit_once('.') {
            Some((parent, _)) => parent.to_owned(),
            None => String::new(),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for attr in &self.attrs {
            write!(f, ".{attr}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Import {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Import::Module { target, alias } => {
                write!(f, "import {target}")?;
                if let Some(alias) = alias {
                    write!(f, " as {alias}")?;
                }
                Ok(())
            }
            Import::From {
                level,
                module,
                names,
            } => {
                write!(f, "from {}{module} import ", ".".repeat(*level as usize))?;
                for (i, (name, alias)) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(name)?;
                    if let Some(alias) = alias {
                        write!(f, " as {alias}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Writes statement `index` of `module` as Python source lines, each
/// prefixed by `indent`. Observations call `_obs(label, value)`.
pub(crate) fn write_stmt(
    out: &mut impl fmt::Write,
    module: &str,
    index: usize,
    stmt: &Stmt,
    indent: &str,
) -> fmt::Result {
    let label = label(module, index);
    match stmt {
        Stmt::Import(import) => writeln!(out, "{indent}{import}"),
        Stmt::Assign { name, value } => writeln!(out, "{indent}{name} = {value}"),
        Stmt::NewRegistry => writeln!(out, "{indent}items = []"),
        Stmt::Read(expr) => writeln!(out, "{indent}_obs('{label}', {expr})"),
        Stmt::Register(name) => writeln!(out, "{indent}{name}.items.append('{module}')"),
        Stmt::Def(reads) => {
            writeln!(out, "{indent}def f():")?;
            for (read, expr) in reads.iter().enumerate() {
                let label = function_label(module, index, read);
                writeln!(out, "{indent}    _obs('{label}', {expr})")?;
            }
            Ok(())
        }
        Stmt::Call(name) => writeln!(out, "{indent}{name}.f()"),
        Stmt::Raise => writeln!(out, "{indent}raise RuntimeError('{module}')"),
    }
}

/// The Python source of a module body: `_ran(name)` first, then each
/// statement.
pub(crate) fn module_source(module: &ModuleSource) -> String {
    let mut out = format!("_ran('{}')\n", module.name);
    for (index, stmt) in module.body.iter().enumerate() {
        // Writing into a String cannot fail.
        let _ = write_stmt(&mut out, &module.name, index, stmt, "");
    }
    out
}

impl fmt::Display for Program {
    /// Every module with a non-empty body (empty modules exist but are not
    /// shown), then the main script; each line of the main script runs on
    /// its own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for module in &self.modules {
            if module.body.is_empty() {
                continue;
            }
            let kind = if module.package { " (package)" } else { "" };
            writeln!(f, "# module {}{kind}", module.name)?;
            for (index, stmt) in module.body.iter().enumerate() {
                write_stmt(f, &module.name, index, stmt, "    ")?;
            }
        }
        writeln!(f, "# {MAIN} (each statement runs on its own)")?;
        for (index, stmt) in self.main.iter().enumerate() {
            write_stmt(f, MAIN, index, stmt, "    ")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Program {
    /// The same as `Display`, so a shrunk proptest case prints as source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f)?;
        fmt::Display::fmt(self, f)
    }
}
