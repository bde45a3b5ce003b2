//! Native lazy binding: deferred shared libraries and symbols, against a
//! fixture library compiled from `tests/fixtures/native_fixture.c` by the
//! system C compiler (`$CC`, default `cc`) during the test run.

mod common;

use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

use common::{decl, threads, within};
use lazy_bind::native::{LibraryHandle, NativeBinder, NativeError, SymbolHandle};
use lazy_bind::{Engine, Error, Handle, Site};

type AddFn = extern "C" fn(c_int, c_int) -> c_int;
type CountFn = extern "C" fn() -> c_int;

/// This test process's scratch directory under Cargo's target tmp dir.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("native-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        dir.canonicalize()
            .expect("canonicalize the scratch directory")
    })
}

/// The fixture library, compiled once per test process.
fn compiled_fixture() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/native_fixture.c");
        let output = scratch().join("fixture-compiled.so");
        let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
        let result = Command::new(&compiler)
            .args(["-shared", "-fPIC", "-o"])
            .arg(&output)
            .arg(&source)
            .output()
            .unwrap_or_else(|error| {
                panic!(
                    "the native tests need a C compiler to build their fixture library; \
                     running `{compiler}` failed: {error} (set CC to a C compiler)"
                )
            });
        assert!(
            result.status.success(),
            "`{compiler} -shared -fPIC` failed on {}: {}\n{}",
            source.display(),
            result.status,
            String::from_utf8_lossy(&result.stderr)
        );
        output
    })
}

/// A fresh copy of the fixture library that no other test loads: a distinct
/// file, so the loader treats it as a distinct library.
fn fixture() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    // Relaxed: only distinct numbers are needed.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = scratch().join(format!("fixture-{n}.so"));
    std::fs::copy(compiled_fixture(), &path).expect("copy the fixture library");
    path
}

/// A path in the scratch directory where no file exists.
fn missing(name: &str) -> PathBuf {
    scratch().join(format!("{name}-absent.so"))
}

/// Whether `path` is mapped into this process.
fn mapped(path: &Path) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    let path = path.to_str().expect("the scratch path is UTF-8");
    maps.lines().any(|line| line.ends_with(path))
}

fn defer(binder: &NativeBinder, path: &Path, line: u32) -> LibraryHandle {
    // SAFETY: the fixture's only initialiser increments a static int; it is
    // sound to run on any thread at any time.
    unsafe { binder.defer_library(path, decl("fixture", line)) }
}

/// The fixture's load counter, read through a symbol entry of `library`.
fn load_count(binder: &NativeBinder, library: LibraryHandle) -> c_int {
    let count = binder
        .defer_symbol(library, "lb_fixture_load_count", decl("count", 99))
        .unwrap();
    let count = binder.symbol(count).unwrap();
    // SAFETY: `lb_fixture_load_count` is `int (void)`; `binder` keeps the
    // library loaded while the function runs.
    let count: CountFn = unsafe { std::mem::transmute(count.address()) };
    count()
}

#[test]
fn library_is_not_loaded_before_first_access() {
    let path = fixture();
    let binder = NativeBinder::new();
    let library = defer(&binder, &path, 1);
    let add = binder
        .defer_symbol(library, "lb_fixture_add", decl("add", 2))
        .unwrap();
    assert!(!mapped(&path), "deferring must not load the library");
    assert!(binder.library_engine().get(library.0).is_none());
    assert!(binder.symbol_engine().get(add.0).is_none());

    let symbol = binder.symbol(add).unwrap();
    assert!(mapped(&path), "the first access must load the library");
    assert!(!symbol.address().is_null());
    assert_eq!(symbol.name(), "lb_fixture_add");
    assert_eq!(symbol.library().path(), path);
    let resolved = binder
        .library_engine()
        .get(library.0)
        .expect("the symbol's access resolved its library entry");
    assert!(symbol.library().ptr_eq(resolved));
    assert_eq!(load_count(&binder, library), 1);
}

#[test]
fn eight_concurrent_first_touches_of_one_symbol_resolve_it_once() {
    let path = fixture();
    let binder = Arc::new(NativeBinder::new());
    let library = defer(&binder, &path, 1);
    let add = binder
        .defer_symbol(library, "lb_fixture_add", decl("add", 2))
        .unwrap();
    let n = threads();
    let shared = Arc::clone(&binder);
    let addresses = within(Duration::from_secs(20), move || {
        let barrier = Arc::new(Barrier::new(n));
        let workers: Vec<_> = (0..n)
            .map(|_| {
                let binder = Arc::clone(&shared);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    binder.symbol(add).unwrap().address() as usize
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(addresses.len(), n);
    assert!(addresses.iter().all(|&address| address == addresses[0]));
    for counters in [
        binder.library_engine().counters(),
        binder.symbol_engine().counters(),
    ] {
        assert_eq!((counters.resolved, counters.failed), (1, 0));
    }
    assert_eq!(load_count(&binder, library), 1);
}

#[test]
fn concurrent_first_touches_of_different_symbols_load_their_library_once() {
    let path = fixture();
    let binder = Arc::new(NativeBinder::new());
    let library = defer(&binder, &path, 1);
    let add = binder
        .defer_symbol(library, "lb_fixture_add", decl("add", 2))
        .unwrap();
    let count = binder
        .defer_symbol(library, "lb_fixture_load_count", decl("count", 3))
        .unwrap();
    let n = threads();
    let shared = Arc::clone(&binder);
    within(Duration::from_secs(20), move || {
        let barrier = Arc::new(Barrier::new(n));
        let workers: Vec<_> = (0..n)
            .map(|i| {
                let binder = Arc::clone(&shared);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    match i % 3 {
                        0 => binder.symbol(add).map(drop),
                        1 => binder.symbol(count).map(drop),
                        _ => binder.library(library).map(drop),
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap().unwrap();
        }
    });
    let libraries = binder.library_engine().counters();
    assert_eq!((libraries.resolved, libraries.failed), (1, 0));
    let symbols = binder.symbol_engine().counters();
    assert_eq!((symbols.resolved, symbols.failed), (2, 0));
    let count = binder.symbol(count).unwrap();
    assert!(count
        .library()
        .ptr_eq(binder.symbol(add).unwrap().library()));
    // SAFETY: `lb_fixture_load_count` is `int (void)`; `binder` keeps the
    // library loaded.
    let count: CountFn = unsafe { std::mem::transmute(count.address()) };
    assert_eq!(count(), 1);
}

#[test]
fn missing_library_error_names_path_loader_message_and_both_sites() {
    let path = missing("no-such-library");
    let binder = NativeBinder::new();
    let library = defer(&binder, &path, 3);
    let add = binder
        .defer_symbol(library, "lb_fixture_add", decl("add", 4))
        .unwrap();

    let error = binder.symbol_at(add, &Site::new("app.py", 30)).unwrap_err();
    let Error::ResolverFailed {
        declaration,
        source,
        ..
    } = &error
    else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(declaration.name(), "add");
    let inner = source
        .as_engine_error()
        .expect("the library entry's own error is inside the symbol's");
    let Error::ResolverFailed { source, .. } = inner else {
        panic!("unexpected {inner:?}");
    };
    let Some(NativeError::LibraryLoad {
        path: failed,
        message,
    }) = source.downcast_ref::<NativeError>()
    else {
        panic!("unexpected {source:?}");
    };
    assert_eq!(failed, &path);
    assert!(!message.is_empty(), "the loader's message is kept");
    if cfg!(target_env = "gnu") {
        assert!(message.contains("No such file or directory"), "{message}");
    }
    let text = error.to_string();
    for part in [
        path.to_str().unwrap(),
        message.as_str(),
        "'fixture' (declared at test.py:3)",
        "'add' (declared at test.py:4)",
        "resolving at app.py:30",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }

    let direct = binder
        .library_at(library, &Site::new("app.py", 31))
        .unwrap_err()
        .to_string();
    assert!(direct.contains(message.as_str()), "{direct}");
    assert!(direct.contains("resolving at app.py:31"), "{direct}");
}

#[test]
fn missing_symbol_error_names_symbol_library_loader_message_and_both_sites() {
    let path = fixture();
    let binder = NativeBinder::new();
    let library = defer(&binder, &path, 5);
    let nope = binder
        .defer_symbol(library, "lb_fixture_nope", decl("nope", 6))
        .unwrap();

    let error = binder
        .symbol_at(nope, &Site::new("app.py", 40))
        .unwrap_err();
    let Error::ResolverFailed { source, .. } = &error else {
        panic!("unexpected {error:?}");
    };
    let Some(NativeError::SymbolLookup {
        library_path,
        symbol,
        message,
    }) = source.downcast_ref::<NativeError>()
    else {
        panic!("unexpected {source:?}");
    };
    assert_eq!(library_path, &path);
    assert_eq!(&**symbol, "lb_fixture_nope");
    assert!(!message.is_empty(), "the loader's message is kept");
    if cfg!(target_env = "gnu") {
        assert!(message.contains("undefined symbol"), "{message}");
    }
    let text = error.to_string();
    for part in [
        path.to_str().unwrap(),
        "'lb_fixture_nope'",
        message.as_str(),
        "'nope' (declared at test.py:6)",
        "resolving at app.py:40",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
    assert!(
        binder.library_engine().get(library.0).is_some(),
        "the library itself loaded"
    );
}

#[test]
fn failed_load_is_retried_once_the_library_exists() {
    let path = missing("appears-later");
    let binder = NativeBinder::new();
    let library = defer(&binder, &path, 7);
    assert!(binder.library(library).is_err());
    std::fs::copy(compiled_fixture(), &path).expect("copy the fixture library");
    let loaded = binder.library(library).unwrap();
    assert_eq!(loaded.path(), path);
    let counters = binder.library_engine().counters();
    assert_eq!((counters.resolved, counters.failed), (1, 1));
}

#[test]
fn engines_configured_by_the_runtime_apply_to_native_entries() {
    let binder = NativeBinder::from_engines(
        Engine::builder().sticky_failures(true).build(),
        Engine::builder().sticky_failures(true).build(),
    );
    let path = missing("sticky");
    let library = defer(&binder, &path, 8);
    let first = binder.library(library).unwrap_err().to_string();
    std::fs::copy(compiled_fixture(), &path).expect("copy the fixture library");
    let second = binder.library(library).unwrap_err().to_string();
    assert_eq!(first, second, "a sticky failure is not retried");
    assert!(!mapped(&path));
    let counters = binder.library_engine().counters();
    assert_eq!((counters.resolved, counters.failed), (0, 1));
}

#[test]
fn resolved_symbol_called_through_the_c_abi_returns_the_right_result() {
    let path = fixture();
    let binder = NativeBinder::new();
    let library = defer(&binder, &path, 1);
    let add = binder
        .defer_symbol(library, "lb_fixture_add", decl("add", 2))
        .unwrap();
    let add = binder.symbol(add).unwrap();
    // SAFETY: `lb_fixture_add` is `int (int, int)`; `binder` keeps the
    // library loaded while it runs.
    let add: AddFn = unsafe { std::mem::transmute(add.address()) };
    assert_eq!(add(2, 40), 42);
    assert_eq!(add(-5, 3), -2);
}

#[test]
fn a_held_symbol_keeps_its_library_loaded_after_the_binder_is_dropped() {
    let path = fixture();
    let binder = NativeBinder::new();
    let library = defer(&binder, &path, 1);
    let add = binder
        .defer_symbol(library, "lb_fixture_add", decl("add", 2))
        .unwrap();
    let held = binder.symbol(add).unwrap().clone();
    // The library entry, the symbol entry and `held`.
    assert_eq!(held.library().holders(), 3);

    drop(binder);
    assert_eq!(
        held.library().holders(),
        1,
        "the dropped binder released its references; only `held` keeps the library loaded"
    );
    assert!(mapped(&path));
    // SAFETY: `lb_fixture_add` is `int (int, int)`; `held` keeps the library
    // loaded while it runs.
    let add: AddFn = unsafe { std::mem::transmute(held.address()) };
    assert_eq!(add(20, 22), 42);
}

#[test]
fn handles_of_the_wrong_kind_or_binder_are_rejected() {
    let binder = NativeBinder::new();
    let other = NativeBinder::new();
    let library = defer(&binder, &missing("never-loaded"), 1);
    let symbol = binder
        .defer_symbol(library, "lb_fixture_add", decl("add", 2))
        .unwrap();
    assert!(matches!(
        binder.library(LibraryHandle(symbol.0)),
        Err(Error::StaleHandle { .. })
    ));
    assert!(matches!(
        binder.symbol(SymbolHandle(library.0)),
        Err(Error::StaleHandle { .. })
    ));
    assert!(matches!(
        other.library(library),
        Err(Error::StaleHandle { .. })
    ));
    for bad in [LibraryHandle(Handle::NULL), LibraryHandle(symbol.0)] {
        assert!(matches!(
            binder.defer_symbol(bad, "lb_fixture_add", decl("add", 3)),
            Err(Error::StaleHandle { .. })
        ));
    }
    let counters = binder.library_engine().counters();
    assert_eq!(
        (counters.resolved, counters.failed),
        (0, 0),
        "nothing was loaded"
    );
}
