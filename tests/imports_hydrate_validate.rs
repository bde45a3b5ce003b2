//! Hydrate (resolve pending bindings whose targets are already loaded,
//! without importing) and validate (find lazy imports whose modules cannot be
//! found, without running them), against the fake runtime.

mod common;
mod imports_fake;

use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use imports_fake::{Fake, Value};
use lazy_bind::imports::{ImportRuntime, ImportSpec, Importer, NamespaceId, UnresolvableTarget};
use lazy_bind::{Engine, EntryState, Handle, ResolveError, Site};

fn import(target: &str, line: u32) -> ImportSpec {
    ImportSpec::import("__main__", target, Site::new("main.py", line)).unwrap()
}

fn from(module: &str, names: &[(&str, Option<&str>)], line: u32) -> ImportSpec {
    ImportSpec::from_import("__main__", "", 0, module, names, Site::new("main.py", line)).unwrap()
}

fn pending(importer: &Importer<Fake>) -> usize {
    importer
        .engine()
        .snapshot()
        .iter()
        .filter(|entry| entry.state == EntryState::Pending)
        .count()
}

#[test]
fn hydrate_resolves_loaded_targets_without_importing() {
    let fake = Fake::new();
    fake.empty("a").empty("a.b").empty("c").source("d", |cx| {
        cx.set("x", Value::Int(4));
        Ok(())
    });
    fake.empty("d.sub").empty("e");
    let (fake, importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &import("a", 1));
    fake.run(
        &main,
        &ImportSpec::import_as("__main__", "a.b", "ab", Site::new("main.py", 2)).unwrap(),
    );
    fake.run(&main, &from("d", &[("x", None), ("sub", None)], 3));
    fake.run(&main, &import("c", 4));
    fake.run(&main, &import("e", 5));
    // Eager code loads a, a.b, d and d.sub (not c, not e).
    for name in ["a", "a.b", "d", "d.sub"] {
        fake.import_module(name, &[]).unwrap();
    }
    let executed = fake.executed();
    assert_eq!(importer.hydrate(), 4, "a, ab, x and sub");
    assert_eq!(fake.executed(), executed, "hydrate imports nothing");
    assert_eq!(pending(&importer), 2, "c and e stay pending");
    assert_eq!(fake.load(&main, "a").unwrap().module_name(), "a");
    assert_eq!(fake.load(&main, "ab").unwrap().module_name(), "a.b");
    assert_eq!(fake.load(&main, "x").unwrap().int(), 4);
    assert_eq!(fake.load(&main, "sub").unwrap().module_name(), "d.sub");
    assert_eq!(fake.executed(), executed, "nor do the accesses after it");
    assert_eq!(importer.hydrate(), 0);
}

#[test]
fn hydrate_waits_for_every_pending_submodule_of_a_package_binding() {
    let fake = Fake::new();
    fake.empty("a").empty("a.b").empty("a.c");
    let (fake, importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &import("a.b", 1));
    fake.run(&main, &import("a.c", 2));
    fake.import_module("a", &[]).unwrap();
    fake.import_module("a.b", &[]).unwrap();
    assert_eq!(importer.hydrate(), 0, "a.c is not loaded yet");
    fake.import_module("a.c", &[]).unwrap();
    assert_eq!(importer.hydrate(), 1);
    // The hydrated entry takes no more submodules: a new statement gets a
    // fresh entry.
    let first = importer.pending_bindings(main.namespace);
    assert!(first.is_empty());
    let later = fake.run(&main, &import("a.b", 3));
    assert_eq!(importer.pending_bindings(main.namespace), later);
}

#[test]
fn hydrate_skips_modules_still_initialising_and_pending_lazy_attributes() {
    let fake = Fake::new();
    let seen = Arc::new(Mutex::new(None));
    let seen_in_body = Arc::clone(&seen);
    let importer_slot: Arc<OnceLock<std::sync::Weak<Importer<Fake>>>> = Default::default();
    let importer_in_body = Arc::clone(&importer_slot);
    fake.source("a", move |cx| {
        cx.lazy_from(0, "c", &[("y", None)], 1);
        // `a` is in sys.modules but not finished: nothing may hydrate to it.
        let importer = importer_in_body.get().unwrap().upgrade().unwrap();
        *seen_in_body.lock().unwrap() = Some(importer.hydrate());
        Ok(())
    })
    .empty("c");
    let (fake, importer) = fake.start();
    importer_slot.set(Arc::downgrade(&importer)).unwrap();
    let main = fake.main();
    fake.run(&main, &import("a", 1));
    fake.run(&main, &from("a", &[("y", None)], 2));
    fake.import_module("a", &[]).unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(0));
    // Now `a` is loaded, so `import a` hydrates; `from a import y` does not,
    // because a.y is a pending lazy binding (c is not loaded).
    assert_eq!(importer.hydrate(), 1);
    assert!(matches!(main.raw("y"), Some(Value::Lazy(_))));
    assert_eq!(fake.executed(), ["a"]);
}

#[test]
fn validate_lists_unfindable_targets_without_running_anything() {
    let fake = Fake::new();
    fake.empty("a").empty("a.b").empty("ok");
    let (fake, importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &import("a.b", 1));
    fake.run(&main, &import("a.bx", 2)); // typo, merged into the entry for a
    fake.run(&main, &from("nosuch.deep", &[("y", None)], 3));
    fake.run(&main, &from("ok", &[("anything", None)], 4));
    let missing = importer.validate();
    assert!(fake.executed().is_empty(), "validate runs nothing");
    assert!(fake.calls().is_empty(), "validate imports nothing");
    let found: Vec<(&str, &str, &str, u32)> = missing
        .iter()
        .map(|m: &UnresolvableTarget| {
            (
                &*m.module,
                &*m.name,
                m.declaration.name(),
                m.declaration.site().line(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [("a.bx", "a", "a.b", 1), ("nosuch", "y", "nosuch.deep.y", 3)]
    );
    assert_eq!(
        missing[1].to_string(),
        "No module named 'nosuch' (lazy import of 'nosuch.deep.y' (declared at main.py:3), bound to 'y')"
    );
    // A binding whose resolution failed is still pending, so still reported.
    let other = fake.main();
    fake.run(&other, &import("gone", 5));
    let error = fake.load(&other, "gone").unwrap_err();
    assert!(error.to_string().contains("No module named 'gone'"));
    let names: Vec<String> = importer
        .validate()
        .iter()
        .map(|m| m.module.to_string())
        .collect();
    assert_eq!(
        names,
        ["a.bx", "nosuch", "gone"],
        "a failed entry stays pending"
    );
}

#[test]
fn a_forgotten_namespace_is_neither_validated_nor_hydrated() {
    let fake = Fake::new();
    fake.empty("a");
    let (fake, importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &import("a", 1));
    fake.run(&main, &from("missing", &[("x", None), ("y", None)], 2));
    assert_eq!(importer.validate().len(), 2);
    assert_eq!(importer.forget_namespace(main.namespace), 3);
    assert_eq!(importer.forget_namespace(main.namespace), 0);
    assert!(importer.validate().is_empty());
    fake.import_module("a", &[]).unwrap();
    assert_eq!(importer.hydrate(), 0);
    assert_eq!(pending(&importer), 3, "the entries themselves stay");
}

/// A module value whose release may run a hook, as a C runtime's `release`
/// may run code that calls back into the importer.
#[derive(Clone)]
struct Module {
    name: Arc<str>,
    on_release: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Drop for Module {
    fn drop(&mut self) {
        if let Some(hook) = self.on_release.take() {
            hook();
        }
    }
}

/// A runtime whose every module is loaded, whose first import waits for
/// the test's signal, and whose loaded `a` runs `on_release` when dropped.
struct Gated {
    entered: Mutex<mpsc::Sender<()>>,
    proceed: Mutex<Option<mpsc::Receiver<()>>>,
    on_release: OnceLock<Arc<dyn Fn() + Send + Sync>>,
    imported: Mutex<Vec<String>>,
}

impl ImportRuntime for Gated {
    type Value = Module;

    fn import_module(&self, name: &str, _: &[&str]) -> Result<Module, ResolveError> {
        let gate = self.proceed.lock().unwrap().take();
        if let Some(proceed) = gate {
            let _ = self.entered.lock().unwrap().send(());
            proceed.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        self.imported.lock().unwrap().push(name.to_owned());
        Ok(Module {
            name: name.into(),
            on_release: None,
        })
    }

    fn get_attr(&self, _: &Module, _: &str) -> Result<Option<Module>, ResolveError> {
        Ok(None)
    }

    fn set_attr_if_absent(&self, _: &Module, _: &str, _: &Module) -> Result<(), ResolveError> {
        Ok(())
    }

    fn loaded_module(&self, name: &str) -> Option<Module> {
        Some(Module {
            name: name.into(),
            on_release: (name == "a").then(|| Arc::clone(self.on_release.get().unwrap())),
        })
    }

    fn can_find(&self, _: &str) -> bool {
        true
    }

    fn as_lazy(&self, _: &Module) -> Option<Handle> {
        None
    }
}

#[test]
fn hydrate_releases_a_refused_module_outside_the_submodules_lock() {
    let (imported, joined) = common::within(Duration::from_secs(10), || {
        let (entered, entered_rx) = mpsc::channel();
        let (proceed, proceed_rx) = mpsc::channel();
        let runtime = Arc::new(Gated {
            entered: Mutex::new(entered),
            proceed: Mutex::new(Some(proceed_rx)),
            on_release: OnceLock::new(),
            imported: Mutex::new(Vec::new()),
        });
        let importer = Arc::new(Importer::new(Arc::new(Engine::new()), Arc::clone(&runtime)));
        let main = NamespaceId(1);
        let binding = importer.defer(main, &import("a.b", 1)).remove(0);

        // Releasing the refused `a` defers `import a.c` into the same binding,
        // which takes the binding's submodules lock.
        let (joined, joined_rx) = mpsc::channel();
        let weak = Arc::downgrade(&importer);
        let hook: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            if let Some(importer) = weak.upgrade() {
                let _ = joined.send(importer.defer(main, &import("a.c", 2)).remove(0).handle);
            }
        });
        assert!(runtime.on_release.set(hook).is_ok());

        let resolving = {
            let importer = Arc::clone(&importer);
            thread::spawn(move || {
                importer
                    .resolve(binding.handle, None)
                    .map(|m| m.name.clone())
            })
        };
        entered_rx.recv().unwrap();
        // The entry is being resolved, its submodule list still open: hydrate
        // offers `a`, the engine refuses it, and its release runs.
        assert_eq!(importer.hydrate(), 0);
        let joined = joined_rx.try_recv().map(|handle| handle == binding.handle);
        proceed.send(()).unwrap();
        let top = resolving.join().unwrap().unwrap();
        assert_eq!(&*top, "a");
        let imported = runtime.imported.lock().unwrap().clone();
        (imported, joined)
    });
    assert_eq!(joined, Ok(true), "the release joined the pending binding");
    assert!(
        imported.iter().any(|name| name == "a.c"),
        "a.c, joined meanwhile, was imported too: {imported:?}"
    );
}

#[test]
fn under_a_guarded_import_only_missing_modules_must_run_now() {
    use lazy_bind::imports::{enter_guarded_import, leave_guarded_import};
    let fake = Fake::new();
    fake.empty("a").empty("a.b").empty("c");
    let (fake, importer) = fake.start();
    // Outside a guarded import nothing is asked: even a missing module defers.
    assert!(!importer.missing_under_guard("winreg"));
    enter_guarded_import();
    assert!(importer.missing_under_guard("winreg"));
    assert!(!importer.missing_under_guard("c"), "found: still deferred");
    // A submodule is checked only once its parent is loaded.
    assert!(
        !importer.missing_under_guard("a.nope"),
        "a is not loaded yet"
    );
    fake.import_module("a", &[]).unwrap();
    assert!(importer.missing_under_guard("a.nope"));
    assert!(!importer.missing_under_guard("a.b"));
    assert!(
        fake.executed().iter().all(|m| m == "a"),
        "checks run nothing"
    );
    assert_eq!(leave_guarded_import(), Ok(()));
    assert!(!importer.missing_under_guard("winreg"));
}

#[test]
fn lazy_modules_lists_what_pending_bindings_will_import() {
    let fake = Fake::new();
    fake.empty("a").empty("a.b").empty("c").source("d", |cx| {
        cx.set("x", Value::Int(4));
        Ok(())
    });
    let (fake, importer) = fake.start();
    let main = fake.main();
    fake.run(&main, &import("a.b", 1));
    fake.run(&main, &import("c", 2));
    fake.run(&main, &from("d", &[("x", None)], 3));
    let names = |importer: &Importer<Fake>| -> Vec<String> {
        importer
            .lazy_modules()
            .iter()
            .map(|n| n.to_string())
            .collect()
    };
    assert_eq!(names(&importer), ["a", "a.b", "c", "d"]);
    fake.import_module("a", &[]).unwrap(); // loaded by other code
    assert_eq!(names(&importer), ["a.b", "c", "d"]);
    assert_eq!(fake.load(&main, "c").unwrap().module_name(), "c");
    assert_eq!(names(&importer), ["a.b", "d"], "a resolved binding is gone");
    assert!(
        fake.executed().iter().all(|m| m == "a" || m == "c"),
        "listing runs nothing"
    );
}
