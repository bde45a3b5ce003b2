//! How deferred import statements resolve, against a fake in-memory runtime:
//! import order, merged submodules, from-imports, shadowing attributes,
//! relative imports, errors, cycles and the rebind contract.

mod common;
mod imports_fake;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

use imports_fake::{Fake, FakeError, Module, Value};
use lazy_bind::imports::{rebind_slot, Binding, ImportError, ImportSpec};
use lazy_bind::{Error, Site};

fn site(line: u32) -> Site {
    Site::new("main.py", line)
}

fn import(target: &str, line: u32) -> ImportSpec {
    ImportSpec::import("__main__", target, site(line)).unwrap()
}

fn from(module: &str, names: &[(&str, Option<&str>)], line: u32) -> ImportSpec {
    ImportSpec::from_import("__main__", "", 0, module, names, site(line)).unwrap()
}

/// The error a failed resolution carries from the runtime.
fn source(error: &Error) -> &lazy_bind::ResolveError {
    match error {
        Error::ResolverFailed { source, .. } => source,
        other => panic!("expected a resolver failure, got {other}"),
    }
}

#[test]
fn import_dotted_imports_parents_first_and_binds_the_top_package() {
    let fake = Fake::new();
    fake.empty("a").empty("a.b").empty("a.b.c");
    let (fake, _importer) = fake.start();
    let main = fake.main();
    let bindings = fake.run(&main, &import("a.b.c", 1));
    assert_eq!(bindings.len(), 1);
    assert_eq!(&*bindings[0].name, "a");
    assert!(fake.executed().is_empty(), "deferring must not import");
    let a = fake.load(&main, "a").unwrap();
    assert_eq!(a.module_name(), "a");
    assert_eq!(fake.executed(), ["a", "a.b", "a.b.c"]);
    let b = a.module().raw("b").expect("a.b is bound onto a");
    assert_eq!(b.module_name(), "a.b");
    assert_eq!(b.module().raw("c").unwrap().module_name(), "a.b.c");
    assert!(
        matches!(main.raw("a"), Some(Value::Module(_))),
        "the slot is rebound"
    );
}

#[test]
fn import_as_binds_the_submodule_itself() {
    let fake = Fake::new();
    fake.empty("a").empty("a.b");
    let (fake, _importer) = fake.start();
    let main = fake.main();
    let spec = ImportSpec::import_as("__main__", "a.b", "c", site(1)).unwrap();
    let bindings = fake.run(&main, &spec);
    assert_eq!(&*bindings[0].name, "c");
    assert_eq!(fake.load(&main, "c").unwrap().module_name(), "a.b");
    assert_eq!(fake.executed(), ["a", "a.b"]);
    assert!(main.raw("a").is_none(), "`import a.b as c` does not bind a");
}

#[test]
fn imports_of_one_package_in_one_namespace_share_one_entry() {
    let fake = Fake::new();
    fake.empty("a").empty("a.b").empty("a.c").empty("a.d");
    let (fake, importer) = fake.start();
    let main = fake.main();
    let first = fake.run(&main, &import("a.b", 1));
    let second = fake.run(&main, &import("a.c", 2));
    let plain = fake.run(&main, &import("a", 3));
    assert_eq!(first, second);
    assert_eq!(first, plain);
    assert_eq!(importer.engine().counters().deferred, 1);
    assert_eq!(importer.pending_bindings(main.namespace), first);

    // Another namespace gets its own entry.
    let other = fake.main();
    let elsewhere = fake.run(&other, &import("a.b", 1));
    assert_ne!(elsewhere[0].handle, first[0].handle);

    let a = fake.load(&main, "a").unwrap();
    assert_eq!(fake.executed(), ["a", "a.b", "a.c"]);
    assert_eq!(a.module().raw("c").unwrap().module_name(), "a.c");

    // After resolution the statement rebinds `a` to a fresh entry.
    let later = fake.run(&main, &import("a.d", 4));
    assert_ne!(later[0].handle, first[0].handle);
    fake.load(&main, "a").unwrap();
    assert_eq!(fake.executed(), ["a", "a.b", "a.c", "a.d"]);
}

#[test]
fn a_repeated_submodule_joins_once_and_keeps_statement_order() {
    let fake = Fake::new();
    fake.empty("a").empty("a.b").empty("a.c");
    let (fake, _importer) = fake.start();
    let main = fake.main();
    for (line, target) in ["a.c", "a.b", "a.c", "a.b"].into_iter().enumerate() {
        fake.run(&main, &import(target, line as u32 + 1));
    }
    fake.load(&main, "a").unwrap();
    let names: Vec<String> = fake.calls().into_iter().map(|(name, _)| name).collect();
    // The package, then each submodule's chain once, in statement order.
    assert_eq!(names, ["a", "a", "a.c", "a", "a.b"]);
}

#[test]
fn a_submodule_joining_during_resolution_is_still_imported() {
    // `a`'s body runs while main's entry for `a` is being resolved and
    // defers `import a.late` into main: it joins the entry being resolved.
    let fake = Fake::new();
    let main_slot: Arc<OnceLock<Arc<Module>>> = Default::default();
    let joined: Arc<OnceLock<Vec<Binding>>> = Default::default();
    let (main_for_body, joined_in_body) = (Arc::clone(&main_slot), Arc::clone(&joined));
    fake.source("a", move |cx| {
        let main = main_for_body.get().unwrap();
        let spec = ImportSpec::import("__main__", "a.late", site(9)).unwrap();
        joined_in_body.set(cx.fake.run(main, &spec)).unwrap();
        Ok(())
    })
    .empty("a.late");
    let (fake, _importer) = fake.start();
    let main = fake.main();
    main_slot.set(Arc::clone(&main)).ok().unwrap();
    let first = fake.run(&main, &import("a", 1));
    let a = fake.load(&main, "a").unwrap();
    assert_eq!(joined.get().unwrap(), &first, "joined the same entry");
    assert_eq!(fake.executed(), ["a", "a.late"]);
    assert!(matches!(main.raw("a"), Some(Value::Module(_))));
    assert_eq!(a.module().raw("late").unwrap().module_name(), "a.late");
}

#[test]
fn a_pending_submodule_never_overwrites_an_attribute_of_its_parent() {
    let fake = Fake::new();
    fake.source("a", |cx| {
        cx.set("b", Value::Int(1));
        Ok(())
    })
    .empty("a.b");
    let (fake, _importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &import("a.b", 1));
    let a = fake.load(&main, "a").unwrap();
    assert_eq!(fake.executed(), ["a", "a.b"], "the submodule is imported");
    assert_eq!(
        a.module().raw("b").unwrap().int(),
        1,
        "but not bound over a.b"
    );
    assert!(fake.sys_module("a.b").is_some());
    let other = fake.main();
    let spec = ImportSpec::import_as("__main__", "a.b", "c", site(2)).unwrap();
    fake.run(&other, &spec);
    assert_eq!(
        fake.load(&other, "c").unwrap().module_name(),
        "a.b",
        "`import a.b as c` binds the submodule, not the shadowing attribute"
    );
}

#[test]
fn from_import_prefers_the_attribute_over_a_submodule_of_that_name() {
    let fake = Fake::new();
    fake.source("a", |cx| {
        cx.set("x", Value::Int(7));
        Ok(())
    })
    .empty("a.x");
    let (fake, _importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &from("a", &[("x", None)], 1));
    assert_eq!(fake.load(&main, "x").unwrap().int(), 7);
    assert_eq!(fake.executed(), ["a"], "a.x is never imported");
    assert_eq!(fake.calls(), [("a".to_owned(), vec!["x".to_owned()])]);
}

#[test]
fn from_import_falls_back_to_the_submodule() {
    let fake = Fake::new();
    fake.empty("a").empty("a.y");
    let (fake, _importer) = fake.start();
    let main = fake.main();
    let bindings = fake.run(&main, &from("a", &[("y", Some("why")), ("y", None)], 1));
    assert_eq!(bindings.len(), 2, "one entry per name");
    assert_ne!(bindings[0].handle, bindings[1].handle);
    assert_eq!(fake.load(&main, "why").unwrap().module_name(), "a.y");
    assert_eq!(fake.executed(), ["a", "a.y"]);
    let a = fake.sys_module("a").unwrap();
    assert_eq!(a.raw("y").unwrap().module_name(), "a.y");
    assert_eq!(fake.load(&main, "y").unwrap().module_name(), "a.y");
    assert_eq!(fake.executed(), ["a", "a.y"], "nothing runs twice");
}

#[test]
fn from_import_of_a_name_that_is_nowhere_cannot_import_it() {
    let fake = Fake::new();
    fake.empty("a");
    let (fake, _importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &from("a", &[("nothing", None)], 3));
    let error = fake.load(&main, "nothing").unwrap_err();
    assert_eq!(
        source(&error).downcast_ref::<ImportError>(),
        Some(&ImportError::CannotImportName {
            name: "nothing".into(),
            module: "a".into()
        })
    );
    assert!(error
        .to_string()
        .contains("cannot import name 'nothing' from 'a'"));
    assert!(error
        .to_string()
        .contains("'a.nothing' (declared at main.py:3)"));
}

#[test]
fn a_failing_submodule_reports_its_own_error_and_is_retried() {
    let fake = Fake::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    fake.empty("a").source("a.bad", move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) < 2 {
            Err(lazy_bind::ResolveError::new(FakeError(
                "boom in a.bad".into(),
            )))
        } else {
            Ok(())
        }
    });
    let (fake, _importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &from("a", &[("bad", None)], 1));
    let error = fake.load(&main, "bad").unwrap_err();
    assert_eq!(
        source(&error).downcast_ref::<FakeError>(),
        Some(&FakeError("boom in a.bad".into())),
        "not a missing attribute: {error}"
    );
    let other = fake.main();
    fake.run(&other, &import("a.bad", 2));
    let error = fake.load(&other, "a").unwrap_err();
    assert_eq!(source(&error).to_string(), "boom in a.bad");
    assert!(
        matches!(main.raw("bad"), Some(Value::Lazy(_))),
        "still pending"
    );
    assert_eq!(fake.load(&main, "bad").unwrap().module_name(), "a.bad");
    assert_eq!(fake.executed(), ["a", "a.bad", "a.bad", "a.bad"]);
}

#[test]
fn a_lazy_attribute_is_resolved_in_turn() {
    let fake = Fake::new();
    fake.source("a", |cx| {
        cx.lazy_from(0, "c", &[("z", None)], 1);
        Ok(())
    })
    .source("c", |cx| {
        cx.set("z", Value::Int(26));
        Ok(())
    });
    let (fake, _importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &from("a", &[("z", None)], 1));
    assert_eq!(fake.load(&main, "z").unwrap().int(), 26);
    assert_eq!(fake.executed(), ["a", "c"]);
    let a = fake.sys_module("a").unwrap();
    assert!(
        matches!(a.raw("z"), Some(Value::Lazy(_))),
        "a's own slot is rebound only by a's own access"
    );
    assert_eq!(fake.load(&a, "z").unwrap().int(), 26);
    assert_eq!(fake.executed(), ["a", "c"]);
}

#[test]
fn relative_imports_at_levels_one_to_three() {
    // Module `p.q.r.m` (package `p.q.r`): `.` is `p.q.r`, `..` is `p.q`,
    // `...` is `p`.
    let fake = Fake::new();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    fake.empty("p")
        .empty("p.q")
        .empty("p.q.r")
        .empty("p.q.r.sib")
        .empty("p.q.aunt")
        .source("p.top", |cx| {
            cx.set("value", Value::Int(3));
            Ok(())
        })
        .source("p.q.r.m", move |cx| {
            cx.lazy_from(1, "", &[("sib", None)], 1);
            cx.lazy_from(2, "", &[("aunt", None)], 2);
            cx.lazy_from(3, "top", &[("value", None)], 3);
            let mut seen = record.lock().unwrap();
            seen.push(format!("{:?}", cx.get("sib")?));
            seen.push(format!("{:?}", cx.get("aunt")?));
            seen.push(format!("{:?}", cx.get("value")?));
            Ok(())
        });
    let (fake, _importer) = fake.start();
    assert_eq!(fake.package_of("p.q.r.m"), "p.q.r");
    let main = fake.main();
    fake.run(&main, &import("p.q.r.m", 1));
    fake.load(&main, "p").unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["<module 'p.q.r.sib'>", "<module 'p.q.aunt'>", "3"]
    );
    let beyond = ImportSpec::from_import("p.q.r.m", "p.q.r", 4, "x", &[("y", None)], site(4));
    assert_eq!(
        beyond.unwrap_err().to_string(),
        "attempted relative import beyond top-level package (level 4 from package 'p.q.r')"
    );
}

#[test]
fn an_import_cycle_through_lazy_bindings_names_the_chain() {
    // main: lazy import a; a: lazy import b, then uses b;
    // b: lazy from a import b as ab, then uses it -> a.b is a's pending b.
    let fake = Fake::new();
    fake.source("a", |cx| {
        cx.lazy_import("b", 1);
        cx.get("b")?;
        Ok(())
    })
    .source("b", |cx| {
        cx.lazy_from(0, "a", &[("b", Some("ab"))], 1);
        cx.get("ab")?;
        Ok(())
    });
    let (fake, importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &import("a", 1));
    let error = common::within(Duration::from_secs(10), move || {
        fake.load(&main, "a").map(|_| ()).unwrap_err()
    });
    let Error::Cycle { chain, .. } = &error else {
        panic!("expected a cycle, got {error}");
    };
    // From the first resolution of `b` (inside `a`'s body) to its re-entry.
    assert_eq!(chain.names(), ["b", "a.b", "b"]);
    assert!(
        error.to_string().contains("'b' (declared at a.py:1)"),
        "{error}"
    );
    assert_eq!(importer.engine().counters().resolved, 0);
}

#[test]
fn the_rebind_contract_leaves_a_rebound_slot_alone() {
    let fake = Fake::new();
    fake.empty("a");
    let (fake, importer) = fake.start();
    let main = fake.main();
    let binding = fake.run(&main, &import("a", 1)).remove(0);
    main.set("a", Value::Int(5)); // user code rebinds `a`
    let value = importer.resolve(binding.handle, None).unwrap();
    let mut slot = main.raw("a").unwrap();
    let is_placeholder = |v: &Value| match v {
        Value::Lazy(h) => Some(*h),
        _ => None,
    };
    assert!(!rebind_slot(
        &mut slot,
        binding.handle,
        value.clone(),
        is_placeholder
    ));
    assert_eq!(slot.int(), 5);
    let mut placeholder = Value::Lazy(binding.handle);
    assert!(binding.is_same_placeholder(is_placeholder(&placeholder).unwrap()));
    assert!(rebind_slot(
        &mut placeholder,
        binding.handle,
        value,
        is_placeholder
    ));
    assert_eq!(placeholder.module_name(), "a");
}

#[test]
fn a_repeated_from_import_reuses_its_pending_entry() {
    let fake = Fake::new();
    fake.source("a", |cx| {
        cx.set("x", Value::Int(1));
        Ok(())
    });
    let (fake, importer) = fake.start();
    let main = fake.main();
    let first = fake.run(&main, &from("a", &[("x", None)], 1));
    let again = fake.run(&main, &from("a", &[("x", None)], 2));
    assert_eq!(first, again);
    fake.load(&main, "x").unwrap();
    let after = fake.run(&main, &from("a", &[("x", None)], 3));
    assert_ne!(after, first, "a resolved entry is not reused");
    assert_eq!(importer.engine().counters().deferred, 2);
}

#[test]
fn threads_racing_on_one_binding_import_the_module_once() {
    let fake = Fake::new();
    fake.source("a", |cx| {
        std::thread::sleep(Duration::from_millis(5));
        cx.set("x", Value::Int(2));
        Ok(())
    });
    let (fake, _importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &from("a", &[("x", None)], 1));
    let n = common::threads();
    let barrier = Arc::new(Barrier::new(n));
    let results = common::within(Duration::from_secs(20), move || {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (fake, main, barrier) =
                    (Arc::clone(&fake), Arc::clone(&main), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    fake.load(&main, "x").unwrap().int()
                })
            })
            .collect();
        let values: Vec<i64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (values, fake.executed())
    });
    assert_eq!(results.0, vec![2; n]);
    assert_eq!(results.1, ["a"]);
}

#[test]
fn placeholders_provided_to_each_other_are_reported_as_a_loop_not_a_hang() {
    let loop_head: Arc<OnceLock<lazy_bind::Handle>> = Arc::default();
    let fake = Fake::new();
    fake.empty("a").source("c", {
        let loop_head = Arc::clone(&loop_head);
        move |cx| {
            cx.set(
                "z",
                Value::Lazy(*loop_head.get().expect("set before c runs")),
            );
            Ok(())
        }
    });
    let (fake, importer) = fake.start();
    let main = fake.main();
    let x = fake.run(&main, &from("a", &[("x", None)], 1))[0].handle;
    let y = fake.run(&main, &from("a", &[("y", None)], 2))[0].handle;
    // A runtime hands each placeholder the other as its value.
    assert!(importer.engine().provide(x, Value::Lazy(y)).unwrap());
    assert!(importer.engine().provide(y, Value::Lazy(x)).unwrap());
    loop_head.set(x).unwrap();
    fake.run(&main, &from("c", &[("z", None)], 3));
    // Under a time limit: the regression this guards against loops forever.
    common::within(Duration::from_secs(10), move || {
        let error = fake.load(&main, "z").unwrap_err();
        match source(&error).downcast_ref::<ImportError>() {
            Some(ImportError::PlaceholderLoop { names }) => {
                assert_eq!(names, &["a.x", "a.y", "a.x"])
            }
            other => panic!("expected a placeholder loop, got {other:?} from {error}"),
        }
    });
}
