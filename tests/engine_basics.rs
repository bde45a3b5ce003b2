//! The entry lifecycle through the Rust API: create, resolve, peek, discard,
//! errors, retries, sticky failures and re-entrant resolvers.

mod common;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Weak};
use std::time::Duration;

use common::decl;
use lazy_bind::{Engine, EntryState, Error, Handle, Peek, ResolveError, Site};

#[test]
fn resolves_once_and_then_reads_the_stored_value() {
    let engine: Engine<String> = Engine::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let h = engine.create(decl("json", 1), move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok("json-module".to_owned())
    });
    assert!(engine.get(h).is_none());
    assert!(matches!(engine.peek(h).unwrap(), Peek::Pending));
    assert_eq!(runs.load(Ordering::SeqCst), 0, "creating must not resolve");
    assert_eq!(engine.resolve(h).unwrap(), "json-module");
    assert_eq!(engine.resolve(h).unwrap(), "json-module");
    assert_eq!(engine.get(h).map(String::as_str), Some("json-module"));
    assert!(matches!(engine.peek(h).unwrap(), Peek::Resolved(v) if v == "json-module"));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let counters = engine.counters();
    assert_eq!(
        (counters.deferred, counters.resolved, counters.pending),
        (1, 1, 0)
    );
}

#[test]
fn failures_carry_both_sites_and_are_retried_by_default() {
    let engine: Engine<u32> = Engine::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let h = engine.create(decl("flaky", 7), move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(ResolveError::msg("No module named 'flaky'"))
        } else {
            Ok(42)
        }
    });
    let error = engine.resolve_at(h, &Site::new("main.py", 20)).unwrap_err();
    let Error::ResolverFailed {
        declaration,
        access,
        source,
    } = &error
    else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(declaration.name(), "flaky");
    assert_eq!(declaration.site().line(), 7);
    assert_eq!(access.as_ref().unwrap().line(), 20);
    assert_eq!(source.to_string(), "No module named 'flaky'");
    assert_eq!(
        error.to_string(),
        "lazy binding of 'flaky' (declared at test.py:7) failed while resolving at main.py:20: \
         No module named 'flaky'"
    );
    assert!(matches!(engine.peek(h).unwrap(), Peek::Pending));
    assert_eq!(*engine.resolve(h).unwrap(), 42, "the next access retries");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(engine.counters().failed, 1);
}

#[test]
fn sticky_failures_never_rerun_the_resolver() {
    let engine: Engine<u32> = Engine::builder().sticky_failures(true).build();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let h = engine.create(decl("broken", 1), move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Err(ResolveError::msg("boom"))
    });
    let first = engine.resolve(h).unwrap_err().to_string();
    let second = engine.resolve(h).unwrap_err().to_string();
    assert_eq!(first, second);
    assert!(matches!(engine.peek(h).unwrap(), Peek::Failed(_)));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn typed_resolver_errors_come_back_unchanged() {
    #[derive(Debug, PartialEq)]
    struct ModuleNotFound(&'static str);
    impl std::fmt::Display for ModuleNotFound {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "no module {}", self.0)
        }
    }
    impl std::error::Error for ModuleNotFound {}

    let engine: Engine<()> = Engine::new();
    let h = engine.create(decl("x", 1), |_| {
        Err(ResolveError::new(ModuleNotFound("x")))
    });
    let Error::ResolverFailed { source, .. } = engine.resolve(h).unwrap_err() else {
        panic!("expected a resolver failure");
    };
    assert_eq!(
        source.downcast_ref::<ModuleNotFound>(),
        Some(&ModuleNotFound("x"))
    );
}

#[test]
fn stale_discarded_and_foreign_handles_are_errors() {
    let engine: Engine<u32> = Engine::new();
    let other: Engine<u32> = Engine::new();
    let h = engine.create(decl("a", 1), |_| Ok(1));
    let foreign = other.create(decl("b", 1), |_| Ok(2));
    assert!(matches!(
        engine.resolve(foreign),
        Err(Error::StaleHandle { .. })
    ));
    assert!(matches!(
        engine.resolve(Handle::NULL),
        Err(Error::StaleHandle { .. })
    ));
    let beyond = Handle {
        stamp: h.stamp,
        index: 1_000_000,
    };
    assert!(matches!(
        engine.resolve(beyond),
        Err(Error::StaleHandle { .. })
    ));
    assert_eq!(*engine.resolve(h).unwrap(), 1);
    engine.discard(h).unwrap();
    assert!(engine.get(h).is_none());
    assert!(matches!(engine.resolve(h), Err(Error::StaleHandle { .. })));
    assert!(matches!(engine.discard(h), Err(Error::StaleHandle { .. })));
    // A resolved value may still be referenced: its slot is not reused...
    let fresh = engine.create(decl("c", 1), |_| Ok(3));
    assert_ne!(fresh.index, h.index);
    // ...until `reclaim` proves no reference remains.
    let mut engine = engine;
    assert_eq!(engine.reclaim(), 1);
    let reused = engine.create(decl("d", 1), |_| Ok(4));
    assert_eq!(reused.index, h.index);
    assert!(matches!(engine.peek(h), Err(Error::StaleHandle { .. })));
    assert_eq!(*engine.resolve(reused).unwrap(), 4);
    // An unresolved entry's slot is reused at once.
    let pending = engine.create(decl("e", 1), |_| Ok(5));
    engine.discard(pending).unwrap();
    let next = engine.create(decl("f", 1), |_| Ok(6));
    assert_eq!(next.index, pending.index);
    assert!(matches!(
        engine.resolve(pending),
        Err(Error::StaleHandle { .. })
    ));
    assert_eq!(*engine.resolve(next).unwrap(), 6);
}

/// A cached `Entry` (what a runtime keeps in its placeholder) resolves,
/// reads, reports its handle, and goes stale with its entry, also when a new
/// entry takes over its slot.
#[test]
fn cached_entries_resolve_and_go_stale_with_their_entry() {
    let engine: Engine<u32> = Engine::new();
    let h = engine.create(decl("a", 1), |_| Ok(7));
    let entry = engine.entry(h).unwrap();
    assert_eq!(entry.handle(), h);
    assert!(entry.get().is_none(), "pending: nothing to read yet");
    assert_eq!(*entry.resolve_at(&Site::new("main.py", 3)).unwrap(), 7);
    assert_eq!(entry.get(), Some(&7));
    assert_eq!(engine.get(h), Some(&7));

    let pending = engine.create(decl("b", 1), |_| Ok(8));
    let stale = engine.entry(pending).unwrap();
    engine.discard(pending).unwrap();
    // The discarded entry's slot is reused at once by the next entry.
    let next = engine.create(decl("c", 1), |_| Ok(9));
    assert_eq!(next.index, pending.index);
    let fresh = engine.entry(next).unwrap();
    assert_eq!(*fresh.resolve().unwrap(), 9);
    assert!(stale.get().is_none(), "the slot's value is another entry's");
    assert!(matches!(stale.resolve(), Err(Error::StaleHandle { handle, .. }) if handle == pending));
    assert!(matches!(
        engine.entry(pending),
        Err(Error::StaleHandle { .. })
    ));
}

#[test]
fn resolvers_can_create_and_resolve_other_entries() {
    let engine: Engine<String> = Engine::new();
    let outer = engine.create(decl("pkg", 1), |cx| {
        let engine = cx.engine();
        let inner = engine.create(decl("pkg.sub", 2), |_| Ok("sub".to_owned()));
        let sub = engine.resolve(inner)?;
        Ok(format!("pkg with {sub}"))
    });
    assert_eq!(engine.resolve(outer).unwrap(), "pkg with sub");
    assert_eq!(engine.counters().resolved, 2);
}

#[test]
fn same_thread_cycles_name_the_whole_chain() {
    let engine: Arc<Engine<u32>> = Arc::new(Engine::new());
    let handles: Arc<std::sync::OnceLock<[lazy_bind::Handle; 3]>> = Default::default();
    let mk = |name: &'static str, line: u32, next: usize| {
        let handles = Arc::clone(&handles);
        engine.create(decl(name, line), move |cx| {
            let next = handles.get().unwrap()[next];
            Ok(*cx.engine().resolve(next)? + 1)
        })
    };
    let a = mk("a", 1, 1);
    let b = mk("b", 2, 2);
    let c = mk("c", 3, 0);
    handles.set([a, b, c]).unwrap();
    let error = engine.resolve_at(a, &Site::new("main.py", 9)).unwrap_err();
    let Error::Cycle { chain, .. } = &error else {
        panic!("expected a cycle, got {error}");
    };
    assert_eq!(chain.names(), ["a", "b", "c", "a"]);
    assert!(error.to_string().contains("'a' (declared at test.py:1)"));
    assert!(error.to_string().contains("-> 'c' (declared at test.py:3)"));
    // Nothing is left half-resolved: all three are pending again.
    for h in [a, b, c] {
        assert!(matches!(engine.peek(h).unwrap(), Peek::Pending));
    }
}

#[test]
fn panicking_resolver_leaves_the_entry_pending() {
    let engine: Engine<u32> = Engine::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let h = engine.create(decl("p", 1), move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("resolver exploded");
        }
        Ok(5)
    });
    let panicked =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.resolve(h).copied()));
    assert!(panicked.is_err());
    assert!(matches!(engine.peek(h).unwrap(), Peek::Pending));
    assert_eq!(*engine.resolve(h).unwrap(), 5);
}

#[test]
fn provide_resolves_without_running_the_resolver() {
    let engine: Engine<u32> = Engine::new();
    let h = engine.create(decl("loaded", 1), |_| panic!("must not run"));
    assert!(engine.provide(h, 9).unwrap());
    assert!(!engine.provide(h, 10).unwrap());
    assert_eq!(*engine.resolve(h).unwrap(), 9);
    let ready = engine.create_resolved(decl("ready", 2), 11);
    assert_eq!(engine.get(ready), Some(&11));
}

#[test]
fn snapshot_and_resolve_all_pending_report_every_failure() {
    let engine: Engine<u32> = Engine::new();
    let ok = engine.create(decl("ok", 1), |_| Ok(1));
    engine.create(decl("bad1", 2), |_| Err(ResolveError::msg("one")));
    engine.create(decl("bad2", 3), |_| Err(ResolveError::msg("two")));
    let states: Vec<_> = engine.snapshot().iter().map(|e| e.state).collect();
    assert_eq!(states, [EntryState::Pending; 3]);
    let failures = engine.resolve_all_pending();
    let mut names: Vec<_> = failures
        .iter()
        .map(|e| e.declaration().unwrap().name().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["bad1", "bad2"]);
    assert_eq!(engine.get(ok), Some(&1));
}

#[test]
fn values_are_released_exactly_once() {
    let live = Arc::new(AtomicUsize::new(0));
    struct Tracked(Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    {
        let mut engine: Engine<Tracked> = Engine::new();
        for i in 0..10 {
            let live = Arc::clone(&live);
            let h = engine.create(decl("t", i), move |_| {
                live.fetch_add(1, Ordering::SeqCst);
                Ok(Tracked(Arc::clone(&live)))
            });
            engine.resolve(h).unwrap();
            if i % 2 == 0 {
                engine.discard(h).unwrap();
            }
        }
        assert_eq!(
            live.load(Ordering::SeqCst),
            10,
            "discarded values wait for reclaim"
        );
        assert_eq!(engine.reclaim(), 5);
        assert_eq!(live.load(Ordering::SeqCst), 5);
    }
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

/// A runtime error object whose release calls back into the engine that
/// holds it, as a C runtime's `release` hook may.
struct CallsBackOnRelease {
    engine: Weak<Engine<u32>>,
    handle: Handle,
    seen: mpsc::Sender<(bool, Option<u32>)>,
}

impl fmt::Debug for CallsBackOnRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallsBackOnRelease")
    }
}

impl fmt::Display for CallsBackOnRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("runtime error")
    }
}

impl std::error::Error for CallsBackOnRelease {}

impl Drop for CallsBackOnRelease {
    fn drop(&mut self) {
        let Some(engine) = self.engine.upgrade() else {
            return;
        };
        // The entry holding this error, then a fresh one: each takes a slot
        // lock, so neither may be held while this runs.
        let stale = matches!(engine.peek(self.handle), Err(Error::StaleHandle { .. }));
        let fresh = engine.create(decl("made during release", 9), |_| Ok(5));
        let value = engine.resolve(fresh).ok().copied();
        let _ = engine.discard(fresh);
        let _ = self.seen.send((stale, value));
    }
}

#[test]
fn discarding_a_sticky_failure_releases_its_error_outside_the_slot_lock() {
    let seen = common::within(Duration::from_secs(10), || {
        let engine = Arc::new(Engine::<u32>::builder().sticky_failures(true).build());
        let (seen, released) = mpsc::channel();
        let weak = Arc::downgrade(&engine);
        let handle = engine.create(decl("fails", 1), move |cx| {
            Err(ResolveError::new(CallsBackOnRelease {
                engine: weak.clone(),
                handle: cx.handle(),
                seen: seen.clone(),
            }))
        });
        assert!(engine.resolve(handle).is_err());
        // Drops the attempt, the last holder of the runtime error.
        engine.discard(handle).unwrap();
        released.try_recv()
    });
    assert_eq!(
        seen,
        Ok((true, Some(5))),
        "the release ran during discard and could use the engine"
    );
}
