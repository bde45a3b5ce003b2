//! Rule kinds, precedence order, filter, eager scopes, run-time changes and
//! the phase switch, through the public API.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use lazy_bind::policy::{
    eager_scope, ActivePolicy, ContextReason, Decision, Filter, ImportContext, ImportQuery, Mode,
    Pattern, PendingResolver, Policy, Reason,
};

fn active(text: &str) -> ActivePolicy {
    ActivePolicy::new(Policy::parse(text).unwrap())
}

fn pat(p: &str) -> Pattern {
    Pattern::parse(p).unwrap()
}

fn plain(importer: &'static str, target: &'static str) -> ImportQuery<'static> {
    ImportQuery::new(importer, target)
}

/// Asserts the explanation (one call) and that `decide` (a second call) agrees.
fn check(a: &ActivePolicy, q: &ImportQuery<'_>, decision: Decision, reason: Reason) {
    let e = a.explain_query(q);
    assert_eq!((e.decision, &e.reason), (decision, &reason), "{q:?}: {e}");
    assert_eq!(
        a.decide(q),
        decision,
        "decide and explain disagree on {q:?}"
    );
}

fn counting_filter(result: bool) -> (Filter, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let f: Filter = Arc::new(move |_: &str, _: &str, _: &[&str]| {
        c.fetch_add(1, Ordering::Relaxed);
        result
    });
    (f, calls)
}

#[test]
fn shared_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ActivePolicy>();
    assert_send_sync::<Policy>();
    assert_send_sync::<Filter>();
}

// ---- modes ----------------------------------------------------------------

#[test]
fn mode_none_is_all_eager() {
    let a = active("mode none");
    check(&a, &plain("app", "x"), Decision::Eager, Reason::ModeNone);
    check(
        &a,
        &plain("app", "x").marked_lazy(true),
        Decision::Eager,
        Reason::ModeNone,
    );
}

#[test]
fn mode_normal_defers_only_marked_imports() {
    let a = active("mode normal");
    check(
        &a,
        &plain("app", "x"),
        Decision::Eager,
        Reason::NotMarkedLazy,
    );
    check(
        &a,
        &plain("app", "x").marked_lazy(true),
        Decision::Defer,
        Reason::MarkedLazy,
    );
}

#[test]
fn mode_all_defers_every_eligible_import() {
    let a = active("mode all");
    check(&a, &plain("app", "x"), Decision::Defer, Reason::ModeAll);
    check(
        &a,
        &plain("app", "x").marked_lazy(true),
        Decision::Defer,
        Reason::ModeAll,
    );
}

#[test]
fn mode_changes_at_run_time() {
    let a = active("mode all; eager-target torch.*");
    assert_eq!(a.decide(&plain("app", "x")), Decision::Defer);
    a.set_mode(Mode::None);
    assert_eq!(a.mode(), Mode::None);
    assert_eq!(a.decide(&plain("app", "x")), Decision::Eager);
    a.set_mode(Mode::All);
    // The rules survive mode changes.
    check(
        &a,
        &plain("app", "torch"),
        Decision::Eager,
        Reason::TargetOptOut {
            rule: pat("torch.*"),
        },
    );
    a.replace(Policy::parse("mode normal").unwrap());
    check(
        &a,
        &plain("app", "torch"),
        Decision::Eager,
        Reason::NotMarkedLazy,
    );
}

// ---- every rule kind --------------------------------------------------------

#[test]
fn target_opt_out_exact() {
    let a = active("mode all; eager-target pkg_resources");
    let r = Reason::TargetOptOut {
        rule: pat("pkg_resources"),
    };
    check(&a, &plain("app", "pkg_resources"), Decision::Eager, r);
    check(
        &a,
        &plain("app", "pkg_resources.x"),
        Decision::Defer,
        Reason::ModeAll,
    );
    check(
        &a,
        &plain("app", "pkg_resourcesx"),
        Decision::Defer,
        Reason::ModeAll,
    );
}

#[test]
fn target_opt_out_prefix_covers_package_and_submodules() {
    let a = active("mode all; eager-target pkg.*");
    let r = Reason::TargetOptOut { rule: pat("pkg.*") };
    check(&a, &plain("app", "pkg"), Decision::Eager, r.clone());
    check(&a, &plain("app", "pkg.sub"), Decision::Eager, r.clone());
    check(&a, &plain("app", "pkg.sub.deep"), Decision::Eager, r);
    check(&a, &plain("app", "pkgx"), Decision::Defer, Reason::ModeAll);
    check(
        &a,
        &plain("app", "other.pkg"),
        Decision::Defer,
        Reason::ModeAll,
    );
}

#[test]
fn importer_opt_out_is_shallow() {
    let a = active("mode all; eager-importer myapp.plugins");
    let r = Reason::ImporterOptOut {
        rule: pat("myapp.plugins"),
    };
    check(&a, &plain("myapp.plugins", "x"), Decision::Eager, r);
    check(
        &a,
        &plain("myapp.plugins.a", "x"),
        Decision::Defer,
        Reason::ModeAll,
    );
    check(&a, &plain("myapp", "x"), Decision::Defer, Reason::ModeAll);
    // Listing a submodule or using a prefix covers more.
    let a = active("mode all; eager-importer myapp.plugins; eager-importer vendor.*");
    let r = Reason::ImporterOptOut {
        rule: pat("vendor.*"),
    };
    check(&a, &plain("vendor.a.b", "x"), Decision::Eager, r);
}

#[test]
fn target_opt_in_makes_imports_lazy_in_normal_mode() {
    let a = active("lazy-target numpy; lazy-target scipy.*");
    check(
        &a,
        &plain("app", "numpy"),
        Decision::Defer,
        Reason::TargetOptIn { rule: pat("numpy") },
    );
    check(
        &a,
        &plain("app", "numpy.linalg"),
        Decision::Eager,
        Reason::NotMarkedLazy,
    );
    check(
        &a,
        &plain("app", "scipy.sparse"),
        Decision::Defer,
        Reason::TargetOptIn {
            rule: pat("scipy.*"),
        },
    );
}

#[test]
fn importer_opt_in_makes_imports_lazy_in_normal_mode() {
    let a = active("lazy-importer myapp.cli");
    let r = Reason::ImporterOptIn {
        rule: pat("myapp.cli"),
    };
    check(&a, &plain("myapp.cli", "json"), Decision::Defer, r);
    check(
        &a,
        &plain("myapp.cli.sub", "json"),
        Decision::Eager,
        Reason::NotMarkedLazy,
    );
}

#[test]
fn opt_ins_in_each_mode() {
    let text = "lazy-target t; lazy-importer i";
    for (mode, expect) in [
        (Mode::None, Decision::Eager),
        (Mode::Normal, Decision::Defer),
        (Mode::All, Decision::Defer),
    ] {
        let a = ActivePolicy::new(Policy::parse(text).unwrap().with_mode(mode));
        assert_eq!(a.decide(&plain("app", "t")), expect, "{mode}");
        assert_eq!(a.decide(&plain("i", "x")), expect, "{mode}");
    }
}

#[test]
fn most_specific_rule_is_reported() {
    let a = active("mode all; eager-target a.*; eager-target a.b.*; eager-target a.b.c");
    let q = plain("app", "a.b.c");
    assert_eq!(
        a.explain_query(&q).reason,
        Reason::TargetOptOut { rule: pat("a.b.c") }
    );
    let q = plain("app", "a.b.d");
    assert_eq!(
        a.explain_query(&q).reason,
        Reason::TargetOptOut { rule: pat("a.b.*") }
    );
}

// ---- contexts ---------------------------------------------------------------

#[test]
fn never_lazy_contexts_are_eager_and_named() {
    let a = active("mode all; lazy-target x; lazy-importer app");
    let base = ImportContext::default();
    let cases = [
        (
            ImportContext {
                module_level: false,
                ..base
            },
            ContextReason::NotModuleLevel,
        ),
        (
            ImportContext {
                in_try: true,
                ..base
            },
            ContextReason::InTry,
        ),
        (
            ImportContext {
                in_with: true,
                ..base
            },
            ContextReason::InWith,
        ),
        (
            ImportContext {
                in_loop: true,
                ..base
            },
            ContextReason::InLoop,
        ),
        (
            ImportContext { star: true, ..base },
            ContextReason::StarImport,
        ),
        (
            ImportContext {
                future: true,
                ..base
            },
            ContextReason::Future,
        ),
    ];
    for (ctx, why) in cases {
        let q = plain("app", "x").with_context(ImportContext {
            marked_lazy: true,
            ..ctx
        });
        check(&a, &q, Decision::Eager, Reason::Context(why));
    }
    check(
        &a,
        &plain("app", "__future__"),
        Decision::Eager,
        Reason::Context(ContextReason::Future),
    );
}

// ---- precedence: each level beats the next ------------------------------------

#[test]
fn precedence_context_beats_mode_none() {
    let a = active("mode none");
    let q = plain("app", "x").with_context(ImportContext {
        in_try: true,
        ..Default::default()
    });
    check(
        &a,
        &q,
        Decision::Eager,
        Reason::Context(ContextReason::InTry),
    );
}

#[test]
fn precedence_mode_none_beats_eager_scope_and_opt_ins() {
    let a = active("mode none; lazy-target x; lazy-importer app");
    let _s = eager_scope();
    check(
        &a,
        &plain("app", "x").marked_lazy(true),
        Decision::Eager,
        Reason::ModeNone,
    );
}

#[test]
fn precedence_eager_scope_beats_opt_outs_and_opt_ins() {
    let a = active("mode all; lazy-target x; eager-importer app");
    let s = eager_scope();
    check(&a, &plain("app", "x"), Decision::Eager, Reason::EagerScope);
    check(
        &a,
        &plain("other", "x"),
        Decision::Eager,
        Reason::EagerScope,
    );
    {
        let _nested = eager_scope();
        check(
            &a,
            &plain("other", "x"),
            Decision::Eager,
            Reason::EagerScope,
        );
    }
    check(
        &a,
        &plain("other", "x"),
        Decision::Eager,
        Reason::EagerScope,
    );
    drop(s);
    check(
        &a,
        &plain("other", "x"),
        Decision::Defer,
        Reason::TargetOptIn { rule: pat("x") },
    );
}

#[test]
fn precedence_importer_opt_out_beats_target_opt_out() {
    let a = active("mode all; eager-importer app; eager-target x");
    let r = Reason::ImporterOptOut { rule: pat("app") };
    check(&a, &plain("app", "x"), Decision::Eager, r);
}

#[test]
fn precedence_opt_outs_beat_opt_ins() {
    // Target opt-out (even a less specific prefix) beats a target opt-in.
    let a = active("mode all; eager-target x.*; lazy-target x.y; lazy-importer app");
    let r = Reason::TargetOptOut { rule: pat("x.*") };
    check(&a, &plain("app", "x.y"), Decision::Eager, r);
    // Importer opt-out beats target opt-in.
    let a = active("mode all; eager-importer app; lazy-target x");
    let r = Reason::ImporterOptOut { rule: pat("app") };
    check(&a, &plain("app", "x"), Decision::Eager, r);
}

#[test]
fn precedence_target_opt_in_beats_importer_opt_in() {
    let a = active("lazy-importer app; lazy-target x");
    let r = Reason::TargetOptIn { rule: pat("x") };
    check(&a, &plain("app", "x"), Decision::Defer, r);
}

#[test]
fn precedence_opt_ins_beat_the_filter() {
    let a = active("mode all; lazy-target x; lazy-importer app");
    let (f, calls) = counting_filter(false);
    a.set_filter(Some(f));
    check(
        &a,
        &plain("b", "x"),
        Decision::Defer,
        Reason::TargetOptIn { rule: pat("x") },
    );
    check(
        &a,
        &plain("app", "y"),
        Decision::Defer,
        Reason::ImporterOptIn { rule: pat("app") },
    );
    assert_eq!(calls.load(Ordering::Relaxed), 0);
}

#[test]
fn precedence_filter_beats_mode() {
    let a = active("mode all");
    let (f, calls) = counting_filter(false);
    a.set_filter(Some(f));
    check(&a, &plain("app", "y"), Decision::Eager, Reason::Filter);
    a.set_mode(Mode::Normal);
    check(
        &a,
        &plain("app", "y").marked_lazy(true),
        Decision::Eager,
        Reason::Filter,
    );
    assert_eq!(calls.load(Ordering::Relaxed), 4);
    // Unmarked in normal mode: eager anyway, the filter is not consulted.
    check(
        &a,
        &plain("app", "y"),
        Decision::Eager,
        Reason::NotMarkedLazy,
    );
    // Mode none: the filter is skipped.
    a.set_mode(Mode::None);
    check(&a, &plain("app", "y"), Decision::Eager, Reason::ModeNone);
    assert_eq!(calls.load(Ordering::Relaxed), 4);
}

// ---- filter -----------------------------------------------------------------

#[test]
fn filter_sees_importer_target_and_fromlist() {
    let a = active("mode all");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    a.set_filter(Some(Arc::new(move |i: &str, t: &str, from: &[&str]| {
        s.lock()
            .unwrap()
            .push(format!("{i} {t} {}", from.join(",")));
        t != "slow"
    })));
    let from = ["x", "y"];
    let q = plain("app", "slow").with_fromlist(&from);
    check(&a, &q, Decision::Eager, Reason::Filter);
    check(&a, &plain("app", "fast"), Decision::Defer, Reason::ModeAll);
    assert_eq!(
        *seen.lock().unwrap(),
        ["app slow x,y", "app slow x,y", "app fast ", "app fast "]
    );
    a.set_filter(None);
    check(&a, &plain("app", "slow"), Decision::Defer, Reason::ModeAll);
}

#[test]
fn filter_is_called_from_many_threads_at_once() {
    const THREADS: usize = 8;
    let iters: usize = if cfg!(miri) { 10 } else { 5_000 };
    let a = Arc::new(active("mode all; eager-target skip.*"));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    a.set_filter(Some(Arc::new(move |_: &str, t: &str, _: &[&str]| {
        c.fetch_add(1, Ordering::Relaxed);
        !t.ends_with("eager")
    })));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (a, barrier) = (Arc::clone(&a), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..iters {
                    assert_eq!(a.decide(&plain("app", "m.lazy")), Decision::Defer);
                    assert_eq!(a.decide(&plain("app", "m.eager")), Decision::Eager);
                    assert_eq!(a.decide(&plain("app", "skip.x")), Decision::Eager);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(calls.load(Ordering::Relaxed), THREADS * iters * 2);
}

#[test]
fn readers_see_whole_snapshots_while_writers_publish() {
    let iters: usize = if cfg!(miri) { 10 } else { 2_000 };
    let a = Arc::new(active("mode all"));
    let barrier = Arc::new(Barrier::new(3));
    let reader = {
        let (a, barrier) = (Arc::clone(&a), Arc::clone(&barrier));
        std::thread::spawn(move || {
            barrier.wait();
            for _ in 0..iters * 5 {
                // Either snapshot is fine; an explanation always agrees with
                // the mode and rules it came from.
                let e = a.explain("app", "x");
                match e.reason {
                    Reason::ModeAll | Reason::ModeNone | Reason::NotMarkedLazy => {}
                    Reason::TargetOptOut { ref rule } => assert_eq!(rule.name(), "x"),
                    ref other => panic!("unexpected {other:?}"),
                }
            }
        })
    };
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (a, barrier) = (Arc::clone(&a), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..iters {
                    if w == 0 {
                        a.set_mode(Mode::ALL[i % 3]);
                    } else if i % 2 == 0 {
                        a.replace(Policy::parse("mode all; eager-target x").unwrap());
                    } else {
                        a.set_filter(None);
                    }
                }
            })
        })
        .collect();
    reader.join().unwrap();
    for w in writers {
        w.join().unwrap();
    }
}

// ---- phase switch -------------------------------------------------------------

/// A fake engine: pending entries, some of which fail to resolve.
struct FakeEngine<'a> {
    pending: Mutex<Vec<(&'static str, bool)>>,
    policy: &'a ActivePolicy,
    mode_seen: Mutex<Option<Mode>>,
}

impl PendingResolver for FakeEngine<'_> {
    type Failure = String;

    fn resolve_all_pending(&self) -> Vec<String> {
        *self.mode_seen.lock().unwrap() = Some(self.policy.mode());
        let mut failures = Vec::new();
        for (name, ok) in self.pending.lock().unwrap().drain(..) {
            if !ok {
                failures.push(format!("cannot import {name}"));
            }
        }
        failures
    }
}

#[test]
fn disable_laziness_turns_laziness_off_and_returns_every_failure() {
    let a = active("mode all");
    let engine = FakeEngine {
        pending: Mutex::new(vec![
            ("a", true),
            ("b", false),
            ("c", true),
            ("d", false),
            ("e", false),
        ]),
        policy: &a,
        mode_seen: Mutex::new(None),
    };
    let failures = a.disable_laziness(&engine);
    assert_eq!(
        failures,
        ["cannot import b", "cannot import d", "cannot import e"]
    );
    // Laziness was off before the engine started resolving, and stays off.
    assert_eq!(*engine.mode_seen.lock().unwrap(), Some(Mode::None));
    assert_eq!(a.decide(&plain("app", "x")), Decision::Eager);
    assert!(engine.pending.lock().unwrap().is_empty());
    // Nothing pending: no failures.
    assert!(a.disable_laziness(&engine).is_empty());
}

// ---- explain ----------------------------------------------------------------

#[test]
fn explain_texts() {
    let a = active("mode all; eager-target torch.*; eager-importer myapp.plugins");
    assert_eq!(
        a.explain("app", "torch.nn").to_string(),
        "eager: target opt-out rule 'eager-target torch.*'"
    );
    assert_eq!(
        a.explain("myapp.plugins", "json").to_string(),
        "eager: importer opt-out rule 'eager-importer myapp.plugins'"
    );
    assert_eq!(a.explain("app", "json").to_string(), "defer: mode all");
    let q = plain("app", "json").with_context(ImportContext {
        in_loop: true,
        ..Default::default()
    });
    assert_eq!(
        a.explain_query(&q).to_string(),
        "eager: the import is inside a loop, which is never lazy"
    );
}

#[test]
fn policy_decides_without_a_handle() {
    let p = Policy::parse("mode all; eager-target x").unwrap();
    assert_eq!(p.decide(&plain("app", "x")), Decision::Eager);
    assert_eq!(p.explain_query(&plain("app", "y")).reason, Reason::ModeAll);
}

#[test]
fn disabling_laziness_drains_a_real_engine_and_returns_every_failure() {
    use lazy_bind::{Declaration, Engine, ResolveError, Site};
    let engine: Engine<u32> = Engine::new();
    let ok = engine.create(Declaration::new("ok", Site::new("m.py", 1)), |_| Ok(1));
    for (name, line) in [("bad1", 2), ("bad2", 3)] {
        engine.create(Declaration::new(name, Site::new("m.py", line)), move |_| {
            Err(ResolveError::msg(format!("{name} failed")))
        });
    }
    let active = ActivePolicy::new(Policy::builder().mode(Mode::All).build());
    let failures = active.disable_laziness(&engine);
    assert_eq!(active.mode(), Mode::None);
    assert_eq!(failures.len(), 2);
    assert_eq!(engine.get(ok), Some(&1));
}
