//! Proptest strategies for programs and policies.

use std::fmt;

use proptest::prelude::*;
use proptest::sample::Index;

use super::program::{Expr, Import, ModuleSource, Program, Stmt};
use crate::policy::{Mode, Policy};

/// The importable modules of every generated program: `(name, package)`.
/// `reg` is the registry (its body starts with `items = []`).
pub const MODULES: [(&str, bool); 8] = [
    ("m", false),
    ("n", false),
    ("reg", false),
    ("p", true),
    ("p.a", false),
    ("p.b", false),
    ("p.q", true),
    ("p.q.c", false),
];

/// Attribute names reads and `from` imports use: values, submodules, the
/// registry list.
const ATTRS: [&str; 7] = ["v", "w", "a", "b", "q", "c", "items"];
const REGISTRY: &str = "reg";
const ALIASES: [&str; 3] = ["x", "y", "z"];

/// The modules of flat programs ([`Shape::FLAT`]): no packages, so no
/// submodules, dotted or relative imports. `reg` is the registry.
pub const FLAT_MODULES: [(&str, bool); 4] =
    [("m", false), ("n", false), ("o", false), ("reg", false)];

/// Attribute names of flat programs: values, the modules a body may have
/// imported (a module's globals are its attributes), the registry list.
const FLAT_ATTRS: [&str; 6] = ["v", "w", "m", "n", "o", "items"];

/// Which programs a strategy generates: the importable modules (`(name,
/// package)`, parents before their submodules) and the attribute names
/// reads and `from` imports use.
///
/// [`Shape::PYTHON`] is the full shape ([`MODULES`]: packages, submodules,
/// every import form); [`Shape::FLAT`] has top-level modules only, for a
/// runtime whose modules have no parents to bind submodules into (Lua's
/// `require`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// The importable modules; one of them is named `reg` (the registry).
    pub modules: &'static [(&'static str, bool)],
    /// The attribute names reads and `from` imports use.
    pub attrs: &'static [&'static str],
}

impl Shape {
    /// Packages and submodules ([`MODULES`]), every import form.
    pub const PYTHON: Shape = Shape {
        modules: &MODULES,
        attrs: &ATTRS,
    };
    /// Top-level modules only ([`FLAT_MODULES`]): `import m`,
    /// `import m as x` and `from m import v`.
    pub const FLAT: Shape = Shape {
        modules: &FLAT_MODULES,
        attrs: &FLAT_ATTRS,
    };
}

/// A generated program and the policy of its lazy run.
#[derive(Clone)]
pub struct Case {
    /// The program.
    pub program: Program,
    /// The lazy run's policy (mode `all`, maybe with opt-outs); the eager
    /// run uses it with mode `none`.
    pub policy: Policy,
}

impl fmt::Debug for Case {
    /// The program as source, then the policy in its file format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}policy:\n{}", self.program, self.policy)
    }
}

#[derive(Clone, Debug)]
enum RawImport {
    Plain,
    As(usize),
    From(usize, Option<usize>),
    Relative(usize),
}

#[derive(Clone, Debug)]
enum RawStmt {
    Import(usize, RawImport),
    Assign(bool, i64),
    Read(Index, Vec<usize>),
    Register,
    ReadRegistry,
    Def(Vec<(Index, Vec<usize>)>),
    Call(Index),
    Raise,
}

fn raw_read(shape: Shape) -> impl Strategy<Value = (Index, Vec<usize>)> {
    (
        any::<Index>(),
        prop::collection::vec(0..shape.attrs.len(), 0..2),
    )
}

fn raw_import(shape: Shape) -> impl Strategy<Value = RawStmt> {
    (
        0..shape.modules.len(),
        prop_oneof![
            Just(RawImport::Plain),
            (0..ALIASES.len()).prop_map(RawImport::As),
            (
                0..shape.attrs.len(),
                prop::option::weighted(0.2, 0..ALIASES.len())
            )
                .prop_map(|(name, alias)| RawImport::From(name, alias)),
            (0..shape.attrs.len()).prop_map(RawImport::Relative),
        ],
    )
        .prop_map(|(target, form)| RawStmt::Import(target, form))
}

fn raw_stmt(shape: Shape, main: bool) -> impl Strategy<Value = RawStmt> {
    let raise_weight = if main { 0 } else { 1 };
    prop_oneof![
        6 => raw_import(shape),
        2 => (any::<bool>(), 1..10i64).prop_map(|(w, value)| RawStmt::Assign(w, value)),
        4 => raw_read(shape).prop_map(|(pick, attrs)| RawStmt::Read(pick, attrs)),
        2 => Just(RawStmt::Register),
        2 => Just(RawStmt::ReadRegistry),
        1 => prop::collection::vec(raw_read(shape), 1..3).prop_map(RawStmt::Def),
        2 => any::<Index>().prop_map(RawStmt::Call),
        raise_weight => Just(RawStmt::Raise),
    ]
}

/// Relative spelling of `target` from a module whose package is `package`:
/// `(level, module)`, the fewest dots that reach it.
fn relative(package: &str, target: &str) -> Option<(u32, String)> {
    let mut base = package;
    let mut level = 1;
    while !base.is_empty() {
        if target == base {
            return Some((level, String::new()));
        }
        if let Some(rest) = target.strip_prefix(base).and_then(|r| r.strip_prefix('.')) {
            return Some((level, rest.to_owned()));
        }
        base = base.rsplit_once('.').map_or("", |(parent, _)| parent);
        level += 1;
    }
    None
}

/// Turns raw statements into statements of `module`: names read are picked
/// among those bound by earlier statements (a use with none bound is
/// preceded by an `import` of a module).
fn build(shape: Shape, package: &str, raw: Vec<RawStmt>) -> Vec<Stmt> {
    let (modules, attrs) = (shape.modules, shape.attrs);
    let mut bound: Vec<String> = Vec::new();
    let pick = |bound: &[String], index: &Index| -> String {
        match bound.len() {
            0 => REGISTRY.to_owned(),
            len => bound[index.index(len)].clone(),
        }
    };
    let expr = |bound: &[String], (index, attrs): &(Index, Vec<usize>)| Expr {
        name: pick(bound, index),
        attrs: attrs.iter().map(|&a| shape.attrs[a].to_owned()).collect(),
    };
    let mut out = Vec::with_capacity(raw.len());
    for stmt in raw {
        // A use with nothing bound yet first imports a module to use.
        let first_use = match &stmt {
            RawStmt::Read(index, _) | RawStmt::Call(index) => Some(index),
            RawStmt::Def(reads) => reads.first().map(|(index, _)| index),
            _ => None,
        };
        if let (Some(index), true) = (first_use, bound.is_empty()) {
            let import = Import::Module {
                target: modules[index.index(modules.len())].0.to_owned(),
                alias: None,
            };
            bound.extend(import.bound_names());
            out.push(Stmt::Import(import));
        }
        let stmt = match stmt {
            RawStmt::Import(target, form) => {
                let target = modules[target].0.to_owned();
                let import = match form {
                    RawImport::Plain => Import::Module {
                        target,
                        alias: None,
                    },
                    RawImport::As(alias) => Import::Module {
                        target,
                        alias: Some(ALIASES[alias].to_owned()),
                    },
                    RawImport::From(name, alias) => Import::From {
                        level: 0,
                        module: target,
                        names: vec![(attrs[name].to_owned(), alias.map(|a| ALIASES[a].to_owned()))],
                    },
                    RawImport::Relative(name) => {
                        let (level, from) = relative(package, &target).unwrap_or((0, target));
                        Import::From {
                            level,
                            module: from,
                            names: vec![(attrs[name].to_owned(), None)],
                        }
                    }
                };
                bound.extend(import.bound_names());
                Stmt::Import(import)
            }
            RawStmt::Assign(w, value) => {
                let name = if w { "w" } else { "v" };
                bound.push(name.to_owned());
                Stmt::Assign {
                    name: name.to_owned(),
                    value,
                }
            }
            RawStmt::Read(index, attrs) => Stmt::Read(expr(&bound, &(index, attrs))),
            RawStmt::Register | RawStmt::ReadRegistry => {
                if !bound.iter().any(|name| name == REGISTRY) {
                    out.push(Stmt::Import(Import::Module {
                        target: REGISTRY.to_owned(),
                        alias: None,
                    }));
                    bound.push(REGISTRY.to_owned());
                }
                if matches!(stmt, RawStmt::Register) {
                    Stmt::Register(REGISTRY.to_owned())
                } else {
                    Stmt::Read(Expr {
                        name: REGISTRY.to_owned(),
                        attrs: vec!["items".to_owned()],
                    })
                }
            }
            RawStmt::Def(reads) => {
                let reads = reads.iter().map(|read| expr(&bound, read)).collect();
                bound.push("f".to_owned());
                Stmt::Def(reads)
            }
            RawStmt::Call(index) => Stmt::Call(pick(&bound, &index)),
            RawStmt::Raise => Stmt::Raise,
        };
        out.push(stmt);
    }
    out
}

/// Random programs over [`MODULES`]: every import form (plain, dotted,
/// aliased, `from`, relative), reads at module level and in functions called
/// later, cycles (any module may import any other), failing modules,
/// registrations into `reg`. Shrinks towards fewer, simpler statements.
pub fn program() -> impl Strategy<Value = Program> {
    program_of(Shape::PYTHON)
}

/// Random programs of `shape` (see [`program`]; with [`Shape::FLAT`] a
/// `from` import of a name the module lacks is an `ImportError`, as there
/// is no submodule to fall back to).
pub fn program_of(shape: Shape) -> impl Strategy<Value = Program> {
    let modules = shape.modules;
    let bodies = prop::collection::vec(
        prop::collection::vec(raw_stmt(shape, false), 0..5),
        modules.len(),
    );
    let imports = prop::collection::vec(raw_import(shape), 1..4);
    let main = prop::collection::vec(raw_stmt(shape, true), 1..8);
    (bodies, imports, main).prop_map(move |(bodies, imports, main)| {
        let skeleton = Program {
            modules: modules
                .iter()
                .map(|&(name, package)| ModuleSource {
                    name: name.to_owned(),
                    package,
                    body: Vec::new(),
                })
                .collect(),
            main: Vec::new(),
        };
        let modules = modules
            .iter()
            .zip(bodies)
            .map(|(&(name, package), raw)| {
                let mut body = build(shape, &skeleton.package_of(name), raw);
                if name == REGISTRY {
                    body.insert(0, Stmt::NewRegistry);
                }
                ModuleSource {
                    name: name.to_owned(),
                    package,
                    body,
                }
            })
            .collect();
        Program {
            modules,
            main: build(shape, "", imports.into_iter().chain(main).collect()),
        }
    })
}

/// Policies for the lazy run: mode `all`, with up to two opt-outs (target
/// or importer, exact or `.*`) naming modules of [`MODULES`].
pub fn policy() -> impl Strategy<Value = Policy> {
    policy_of(Shape::PYTHON)
}

/// Policies for the lazy run of programs of `shape` (see [`policy`]).
pub fn policy_of(shape: Shape) -> impl Strategy<Value = Policy> {
    let modules = shape.modules;
    let rule = (0..modules.len(), any::<bool>(), any::<bool>());
    prop::collection::vec(rule, 0..3).prop_map(move |rules| {
        let mut builder = Policy::builder().mode(Mode::All);
        for (module, importer, prefix) in rules {
            let (name, package) = modules[module];
            let pattern = if prefix && package {
                format!("{name}.*")
            } else {
                name.to_owned()
            };
            let next = if importer {
                builder.clone().eager_importer(&pattern)
            } else {
                builder.clone().eager_target(&pattern)
            };
            // Every pattern is a well-formed dotted name.
            builder = next.unwrap_or(builder);
        }
        builder.build()
    })
}

/// A program and a policy.
pub fn case() -> impl Strategy<Value = Case> {
    case_of(Shape::PYTHON)
}

/// A program of `shape` and a policy.
pub fn case_of(shape: Shape) -> impl Strategy<Value = Case> {
    (program_of(shape), policy_of(shape)).prop_map(|(program, policy)| Case { program, policy })
}
