//! Import specs: relative-name resolution (CPython's rule) and the checks on
//! import statements.

use lazy_bind::imports::{resolve_name, FromName, ImportError, ImportKind, ImportSpec};
use lazy_bind::Site;
use proptest::prelude::*;

fn site() -> Site {
    Site::new("m.py", 1)
}

#[test]
fn relative_names_follow_cpython() {
    // The cases of CPython's importlib.util.resolve_name documentation and
    // test_util.ResolveNameTests, in (package, level, name) form.
    assert_eq!(resolve_name("a.b", 1, "").unwrap(), "a.b");
    assert_eq!(resolve_name("a.b", 1, "x.y").unwrap(), "a.b.x.y");
    assert_eq!(resolve_name("a.b", 2, "x.y").unwrap(), "a.x.y");
    assert_eq!(resolve_name("a.b", 2, "").unwrap(), "a");
    assert_eq!(resolve_name("a", 1, "x").unwrap(), "a.x");
    assert_eq!(resolve_name("ignored", 0, "x.y").unwrap(), "x.y");
    assert_eq!(resolve_name("", 0, "x").unwrap(), "x");
}

#[test]
fn relative_imports_beyond_the_top_level_package_fail_clearly() {
    let error = resolve_name("a.b", 3, "x").unwrap_err();
    assert_eq!(
        error,
        ImportError::BeyondTopLevel {
            package: "a.b".into(),
            level: 3
        }
    );
    assert!(error
        .to_string()
        .starts_with("attempted relative import beyond top-level package"));
    let error = resolve_name("", 1, "x").unwrap_err();
    assert!(error
        .to_string()
        .starts_with("attempted relative import with no known parent package"));
    assert!(matches!(
        resolve_name("a", 0, ""),
        Err(ImportError::InvalidName { .. })
    ));
    assert!(matches!(
        resolve_name("a", 1, "x..y"),
        Err(ImportError::InvalidName { .. })
    ));
}

#[test]
fn specs_record_what_each_statement_binds() {
    let spec = ImportSpec::import("m", "a.b.c", site()).unwrap();
    assert_eq!((spec.target(), spec.top_package()), ("a.b.c", "a"));
    assert_eq!(spec.kind(), &ImportKind::Package);
    assert_eq!((spec.importer(), spec.site()), ("m", &site()));

    let spec = ImportSpec::import_as("m", "a.b", "c", site()).unwrap();
    assert_eq!(spec.kind(), &ImportKind::ModuleAs("c".into()));

    let spec = ImportSpec::from_import(
        "p.q.m",
        "p.q",
        1,
        "",
        &[("x", None), ("y", Some("z"))],
        site(),
    )
    .unwrap();
    assert_eq!(spec.target(), "p.q");
    assert_eq!(
        spec.kind(),
        &ImportKind::From(vec![
            FromName {
                attribute: "x".into(),
                bound_as: "x".into()
            },
            FromName {
                attribute: "y".into(),
                bound_as: "z".into()
            },
        ])
    );
}

#[test]
fn bad_statements_are_rejected_with_a_clear_error() {
    let bad = |result: Result<ImportSpec, ImportError>| result.unwrap_err().to_string();
    assert_eq!(
        bad(ImportSpec::import("m", "a..b", site())),
        "invalid name 'a..b' in import statement"
    );
    assert_eq!(
        bad(ImportSpec::import("m", "", site())),
        "invalid name '' in import statement"
    );
    assert_eq!(
        bad(ImportSpec::import_as("m", "a", "b.c", site())),
        "invalid name 'b.c' in import statement"
    );
    assert_eq!(
        bad(ImportSpec::from_import(
            "m",
            "",
            0,
            "a",
            &[("*", None)],
            site()
        )),
        "'from a import *' cannot be deferred"
    );
    assert_eq!(
        bad(ImportSpec::from_import("m", "", 0, "a", &[], site())),
        "'from a import' names nothing"
    );
    assert_eq!(
        bad(ImportSpec::from_import(
            "m",
            "",
            0,
            "a",
            &[("x", Some(""))],
            site()
        )),
        "invalid name '' in import statement"
    );
}

proptest! {
    /// `level` dots keep the first `parts - (level - 1)` parts of the
    /// package, or fail when the package has fewer than `level` parts.
    #[test]
    fn resolve_name_keeps_the_right_number_of_package_parts(
        package in prop::collection::vec("[a-z]{1,3}", 1..5),
        name in prop::collection::vec("[a-z]{1,3}", 0..3),
        level in 1u32..7,
    ) {
        let result = resolve_name(&package.join("."), level, &name.join("."));
        if level as usize > package.len() {
            prop_assert!(
                matches!(result, Err(ImportError::BeyondTopLevel { .. })),
                "expected an error, got {:?}",
                result
            );
        } else {
            let kept = package.len() + 1 - level as usize;
            let expected: Vec<&str> = package[..kept]
                .iter()
                .chain(&name)
                .map(String::as_str)
                .collect();
            prop_assert_eq!(result.unwrap(), expected.join("."));
        }
    }
}
