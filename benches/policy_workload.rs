//! The policy workload shared by `benches/policy.rs` (criterion) and the
//! instruction-count probe (`benches/instructions/probe.rs`), so both
//! measure the same queries against the same rules.

use lazy_bind::policy::{ImportQuery, RuleKind};

/// (importer, target): hits and misses of exact and prefix rules at depths 1 to 4.
pub const QUERIES: &[(&str, &str)] = &[
    ("myapp.cli", "numpy"),
    ("myapp.core.models", "numpy.linalg.lapack_lite"),
    ("myapp.plugins", "json"),
    ("app", "torch.nn.functional"),
    ("app", "pkg_resources"),
    ("lib.sub", "scipy.sparse.linalg"),
    ("app.views", "requests.adapters"),
    ("app", "xml.etree.ElementTree.sub"),
];

/// [`QUERIES`] as the policy's queries (default context, plain `import`).
pub fn queries() -> Vec<ImportQuery<'static>> {
    QUERIES
        .iter()
        .map(|&(importer, target)| ImportQuery::new(importer, target))
        .collect()
}

/// Ten rules of every kind, some of which the queries hit.
pub const RULES_10: &str = "mode all
eager-target torch.*
eager-target pkg_resources
eager-importer myapp.plugins
lazy-target numpy.*
lazy-importer myapp.cli
eager-target scipy.sparse.*
lazy-target requests
eager-target xml.etree
eager-importer vendor.*
lazy-target pandas.*
";

/// The 10 rules plus 9,990 generated ones: all four kinds, half exact and
/// half prefix, many under the same top-level packages the queries walk, so
/// the trie nodes on the queried paths are wide.
pub fn rules_10000() -> String {
    let mut text = String::from(RULES_10);
    let tops = ["numpy", "torch", "myapp", "scipy", "xml", "app", "requests"];
    for i in 0..9_990 {
        let kind = RuleKind::ALL[i % 4];
        let star = if i % 2 == 0 { ".*" } else { "" };
        let name = match i % 3 {
            0 => format!("gen{i}"),
            1 => format!("{}.gen{i}", tops[i % tops.len()]),
            _ => format!("{}.sub{}.gen{i}", tops[i % tops.len()], i % 50),
        };
        text.push_str(&format!("{kind} {name}{star}\n"));
    }
    text
}
