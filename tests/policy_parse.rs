//! Parser, loader and error-location tests for the policy text format.

use std::ffi::OsStr;

use lazy_bind::policy::{
    LoadError, Mode, NameReason, Policy, PolicyError, PolicyErrorKind, RuleKind,
};

fn parse_err(text: &str) -> PolicyError {
    Policy::parse(text).expect_err("text should be rejected")
}

fn rules(p: &Policy) -> Vec<String> {
    p.rules().map(|(k, r)| format!("{k} {r}")).collect()
}

#[test]
fn parses_every_statement_kind() {
    let p = Policy::parse(
        "# comment\n\
         \n\
         mode all\n\
         eager-target torch.*        # target opt-out (prefix)\n\
         eager-target pkg_resources  # exact\n\
         \teager-importer   myapp.plugins\r\n\
         lazy-target numpy\n\
         lazy-importer myapp.cli\n",
    )
    .unwrap();
    assert_eq!(p.mode(), Mode::All);
    assert_eq!(
        rules(&p),
        [
            "eager-target torch.*",
            "eager-target pkg_resources",
            "eager-importer myapp.plugins",
            "lazy-target numpy",
            "lazy-importer myapp.cli",
        ]
    );
}

#[test]
fn empty_text_is_the_default_policy() {
    let p = Policy::parse("  \n# nothing\n;;\n").unwrap();
    assert_eq!(p, Policy::default());
    assert_eq!(p.mode(), Mode::Normal);
}

#[test]
fn semicolons_separate_statements() {
    let p = Policy::parse("mode none; lazy-target a ;eager-target b.*").unwrap();
    assert_eq!(p.mode(), Mode::None);
    assert_eq!(rules(&p), ["lazy-target a", "eager-target b.*"]);
}

#[test]
fn display_round_trips() {
    let p = Policy::builder()
        .mode(Mode::All)
        .rule(RuleKind::EagerImporter, "x.*")
        .unwrap()
        .lazy_target("y.z")
        .unwrap()
        .build();
    assert_eq!(Policy::parse(&p.to_string()).unwrap(), p);
}

#[test]
fn unknown_rule_kind() {
    let e = parse_err("mode all\n\neagr-target x\n");
    assert_eq!((e.line, e.column, e.text.as_str()), (3, 1, "eagr-target"));
    assert_eq!(e.kind, PolicyErrorKind::UnknownRuleKind);
    assert_eq!(
        e.to_string(),
        "policy line 3, column 1: unknown rule kind 'eagr-target' (expected one of mode, \
         eager-target, lazy-target, eager-importer, lazy-importer)"
    );
    // A lone unknown word is an unknown keyword, not a missing argument.
    let e = parse_err("  Mode");
    assert_eq!(
        (e.line, e.column, e.kind),
        (1, 3, PolicyErrorKind::UnknownRuleKind)
    );
}

#[test]
fn unknown_mode() {
    let e = parse_err("mode lazy");
    assert_eq!((e.line, e.column, e.text.as_str()), (1, 6, "lazy"));
    assert_eq!(e.kind, PolicyErrorKind::UnknownMode);
    assert_eq!(
        e.to_string(),
        "policy line 1, column 6: unknown mode 'lazy' (expected one of none, normal, all)"
    );
    assert_eq!(parse_err("mode ALL").kind, PolicyErrorKind::UnknownMode);
}

#[test]
fn duplicate_mode() {
    let e = parse_err("mode all\nlazy-target a\n\nmode none\n");
    assert_eq!((e.line, e.column, e.text.as_str()), (4, 1, "mode"));
    assert_eq!(e.kind, PolicyErrorKind::DuplicateMode { first_line: 1 });
    assert!(e.to_string().contains("already set on line 1"), "{e}");
    // Even the same mode twice is rejected.
    assert_eq!(
        parse_err("mode all; mode all").kind,
        PolicyErrorKind::DuplicateMode { first_line: 1 }
    );
}

#[test]
fn trailing_tokens() {
    let e = parse_err("mode all\nlazy-target  scipy numpy # two names\n");
    assert_eq!((e.line, e.column, e.text.as_str()), (2, 20, "numpy"));
    assert_eq!(e.kind, PolicyErrorKind::TrailingToken);
    let e = parse_err("mode all normal");
    assert_eq!((e.column, e.text.as_str()), (10, "normal"));
}

#[test]
fn missing_argument() {
    let e = parse_err("mode all\n\n\n\neager-target # nothing\n");
    assert_eq!((e.line, e.column, e.text.as_str()), (5, 13, "eager-target"));
    assert_eq!(e.kind, PolicyErrorKind::MissingArgument);
    assert_eq!(
        e.to_string(),
        "policy line 5, column 13: 'eager-target' needs an argument"
    );
    let e = parse_err("mode");
    assert_eq!((e.column, e.kind), (5, PolicyErrorKind::MissingArgument));
}

#[test]
fn invalid_module_names_point_at_the_bad_character() {
    let cases: &[(&str, usize, &str, NameReason)] = &[
        ("lazy-target a..b", 15, "a..b", NameReason::EmptySegment),
        ("lazy-target .a", 13, ".a", NameReason::EmptySegment),
        ("lazy-target a.", 14, "a.", NameReason::EmptySegment),
        ("eager-target *", 14, "*", NameReason::MisplacedStar),
        ("eager-target a.*.b", 16, "a.*.b", NameReason::MisplacedStar),
        ("eager-target a*", 15, "a*", NameReason::MisplacedStar),
        (
            "eager-importer a.1b",
            18,
            "a.1b",
            NameReason::InvalidStart('1'),
        ),
        (
            "lazy-importer my-app",
            17,
            "my-app",
            NameReason::InvalidCharacter('-'),
        ),
    ];
    for &(text, column, bad, reason) in cases {
        let e = parse_err(text);
        assert_eq!(
            (e.line, e.column, e.text.as_str(), e.kind),
            (1, column, bad, PolicyErrorKind::InvalidName(reason)),
            "{text}"
        );
    }
    let e = parse_err("mode all\neager-target   a..b\n");
    assert_eq!(
        e.to_string(),
        "policy line 2, column 18: invalid module name 'a..b': empty name segment"
    );
}

#[test]
fn columns_count_characters_and_statements_on_one_line() {
    // 'é' is two bytes but one column.
    let e = parse_err("lazy-target é; eager-target b; bad x");
    assert_eq!((e.line, e.column, e.text.as_str()), (1, 32, "bad"));
    let e = parse_err("mode all;lazy-target ok;lazy-target x-y");
    assert_eq!((e.line, e.column), (1, 38));
}

#[test]
fn comments_hide_semicolons_and_errors() {
    let p = Policy::parse("lazy-target a # ; bogus stuff here").unwrap();
    assert_eq!(rules(&p), ["lazy-target a"]);
}

#[test]
fn env_value_unset_or_blank_means_no_policy() {
    assert!(Policy::from_env_value(None).unwrap().is_none());
    assert!(Policy::from_env_value(Some(OsStr::new("  ")))
        .unwrap()
        .is_none());
}

#[test]
fn env_value_text() {
    let p = Policy::from_env_value(Some(OsStr::new("mode all; eager-target torch.*")))
        .unwrap()
        .unwrap();
    assert_eq!(p.mode(), Mode::All);
    let e = Policy::from_env_value(Some(OsStr::new("mode all; eagr-target x"))).unwrap_err();
    match &e {
        LoadError::Env(pe) => assert_eq!((pe.line, pe.column), (1, 11)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(e
        .to_string()
        .starts_with("LAZY_BIND_POLICY: policy line 1, column 11"));
}

#[test]
fn env_value_at_path_reads_the_file() {
    let dir = std::env::temp_dir().join(format!("lazy_bind_policy_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.policy");
    std::fs::write(&good, "mode all\nlazy-importer myapp.cli\n").unwrap();
    let value = format!("@{}", good.display());
    let p = Policy::from_env_value(Some(OsStr::new(&value)))
        .unwrap()
        .unwrap();
    assert_eq!(p.mode(), Mode::All);

    let bad = dir.join("bad.policy");
    std::fs::write(&bad, "mode all\nmode none\n").unwrap();
    let e = Policy::from_env_value(Some(OsStr::new(&format!("@{}", bad.display())))).unwrap_err();
    match &e {
        LoadError::File { path, error } => {
            assert_eq!(path, &bad);
            assert_eq!((error.line, error.column), (2, 1));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("bad.policy: policy line 2"), "{e}");

    let missing = dir.join("missing.policy");
    let e =
        Policy::from_env_value(Some(OsStr::new(&format!("@{}", missing.display())))).unwrap_err();
    assert!(matches!(&e, LoadError::Io { path, .. } if path == &missing));
    assert!(e.to_string().contains("missing.policy"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn env_value_not_unicode() {
    use std::os::unix::ffi::OsStrExt;
    let e = Policy::from_env_value(Some(OsStr::from_bytes(b"mode \xff"))).unwrap_err();
    assert!(matches!(e, LoadError::NotUnicode));
}

#[test]
fn rules_only_text_refuses_a_mode_and_layers_under_a_policy() {
    let user = Policy::parse("mode all\nlazy-target numpy").unwrap();
    let defaults = Policy::parse_rules("eager-importer pandas.*; lazy-target numpy").unwrap();
    let layered = user.with_rules_of(&defaults);
    assert_eq!(layered.mode(), Mode::All);
    assert_eq!(
        rules(&layered),
        ["lazy-target numpy", "eager-importer pandas.*"]
    );

    let error = Policy::parse_rules("eager-target a\n  mode none").unwrap_err();
    assert_eq!((error.line, error.column), (2, 3));
    assert_eq!(error.kind, PolicyErrorKind::ModeNotAllowed);
    assert!(
        error.to_string().contains("only rules can be added"),
        "{error}"
    );
}
