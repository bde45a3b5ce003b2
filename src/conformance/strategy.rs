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

fn raw_read() -> impl Strategy<Value = (Index, Vec<usize>)> {
    (any::<Index>(), prop::collection::vec(0..ATTRS.len(), 0..2))
}

fn raw_import() -> impl Strategy<Value = RawStmt> {
    (
        0..MODULES.len(),
        prop_oneof![
            Just(RawImport::Plain),
            (0..ALIASES.len()).prop_map(RawImport::As),
            (
                0..ATTRS.len(),
                prop::option::weighted(0.2, 0..ALIASES.len())
            )
                .prop_map(|(name, alias)| RawImport::From(name, alias)),
            (0..ATTRS.len()).prop_map(RawImport::Relative),
        ],
    )
        .prop_map(|(target, form)| RawStmt::Import(target, form))
}

fn raw_stmt(main: bool) -> impl Strategy<Value = RawStmt> {
    let raise_weight = if main { 0 } else { 1 };
    prop_oneof![
        6 => raw_import(),
        2 => (any::<bool>(), 1..10i64).prop_map(|(w, value)| RawStmt::Assign(w, value)),
        4 => raw_read().prop_map(|(pick, attrs)| RawStmt::Read(pick, attrs)),
        2 => Just(RawStmt::Register),
        2 => Just(RawStmt::ReadRegistry),
        1 => prop::collection::vec(raw_read(), 1..3).prop_map(RawStmt::Def),
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
fn build(package: &str, raw: Vec<RawStmt>) -> Vec<Stmt> {
    let mut bound: Vec<String> = Vec::new();
    let pick = |bound: &[String], index: &Index| -> String {
        match bound.len() {
            0 => REGISTRY.to_owned(),
            len => bound[index.index(len)].clone(),
        }
    };
    let expr = |bound: &[String], (index, attrs): &(Index, Vec<usize>)| Expr {
        name: pick(bound, index),
        attrs: attrs.iter().map(|&a| ATTRS[a].to_owned()).collect(),
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
                target: MODULES[index.index(MODULES.len())].0.to_owned(),
                alias: None,
            };
            bound.extend(import.bound_names());
            out.push(Stmt::Import(import));
        }
        let stmt = match stmt {
            RawStmt::Import(target, form) => {
                let target = MODULES[target].0.to_owned();
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
                        names: vec![(ATTRS[name].to_owned(), alias.map(|a| ALIASES[a].to_owned()))],
                    },
                    RawImport::Relative(name) => {
                        let (level, from) = relative(package, &target).unwrap_or((0, target));
                        Import::From {
                            level,
                            module: from,
                            names: vec![(ATTRS[name].to_owned(), None)],
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
    let bodies = prop::collection::vec(prop::collection::vec(raw_stmt(false), 0..5), MODULES.len());
    let imports = prop::collection::vec(raw_import(), 1..4);
    let main = prop::collection::vec(raw_stmt(true), 1..8);
    (bodies, imports, main).prop_map(|(bodies, imports, main)| {
        let skeleton = Program {
            modules: MODULES
                .iter()
                .map(|&(name, package)| ModuleSource {
                    name: name.to_owned(),
                    package,
                    body: Vec::new(),
                })
                .collect(),
            main: Vec::new(),
        };
        let modules = MODULES
            .iter()
            .zip(bodies)
            .map(|(&(name, package), raw)| {
                let mut body = build(&skeleton.package_of(name), raw);
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
            main: build("", imports.into_iter().chain(main).collect()),
        }
    })
}

/// Policies for the lazy run: mode `all`, with up to two opt-outs (target
/// or importer, exact or `.*`) naming modules of [`MODULES`].
pub fn policy() -> impl Strategy<Value = Policy> {
    let rule = (0..MODULES.len(), any::<bool>(), any::<bool>());
    prop::collection::vec(rule, 0..3).prop_map(|rules| {
        let mut builder = Policy::builder().mode(Mode::All);
        for (module, importer, prefix) in rules {
            let (name, package) = MODULES[module];
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
    (program(), policy()).prop_map(|(program, policy)| Case { program, policy })
}
