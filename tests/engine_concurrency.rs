//! Real threads: exactly-once under barrier-started first touches, shared
//! errors, a runtime with a global lock, and cross-thread deadlocks reported
//! instead of hanging (each deadlock case runs under a timeout).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use common::{decl, threads, within};
use lazy_bind::wait::{ExternalWait, RuntimeLock};
use lazy_bind::{Declaration, Engine, Error, Handle, Hooks, LinkKind, ResolveError, Site};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn resolver_runs_once_per_entry_under_concurrent_first_touches() {
    within(LIMIT, || {
        let entries = if cfg!(miri) { 4 } else { 200 };
        let engine: Arc<Engine<usize>> = Arc::new(Engine::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let handles: Arc<Vec<Handle>> = Arc::new(
            (0..entries)
                .map(|i| {
                    let runs = Arc::clone(&runs);
                    engine.create(decl("m", i as u32), move |_| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        thread::yield_now();
                        Ok(i * 10)
                    })
                })
                .collect(),
        );
        let barrier = Arc::new(Barrier::new(threads()));
        let workers: Vec<_> = (0..threads())
            .map(|t| {
                let (engine, handles, barrier) = (
                    Arc::clone(&engine),
                    Arc::clone(&handles),
                    Arc::clone(&barrier),
                );
                thread::spawn(move || {
                    barrier.wait();
                    // Threads walk the entries in different orders.
                    for k in 0..handles.len() {
                        let i = (k * (t + 1)) % handles.len();
                        assert_eq!(*engine.resolve(handles[i]).unwrap(), i * 10);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), entries, "one run per entry");
        assert_eq!(engine.counters().resolved, entries as u64);
    });
}

#[test]
fn every_waiter_gets_the_error_of_the_attempt_it_waited_for() {
    within(LIMIT, || {
        let engine: Arc<Engine<u32>> = Arc::new(Engine::new());
        let attempts = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(Barrier::new(2));
        let (counter, gate) = (Arc::clone(&attempts), Arc::clone(&started));
        let h = engine.create(decl("failing", 1), move |_| {
            let attempt = counter.fetch_add(1, Ordering::SeqCst);
            if attempt == 0 {
                gate.wait(); // the owner is resolving: let the others pile up
                thread::sleep(Duration::from_millis(50));
            }
            Err(ResolveError::msg(format!("attempt {attempt} failed")))
        });
        let owner = {
            let engine = Arc::clone(&engine);
            thread::spawn(move || engine.resolve(h).unwrap_err().to_string())
        };
        started.wait();
        let waiters: Vec<_> = (0..threads())
            .map(|_| {
                let engine = Arc::clone(&engine);
                thread::spawn(move || engine.resolve(h).unwrap_err().to_string())
            })
            .collect();
        let owner_error = owner.join().unwrap();
        assert!(owner_error.ends_with("attempt 0 failed"), "{owner_error}");
        let mut retried = 0;
        for waiter in waiters {
            let error = waiter.join().unwrap();
            // A waiter that arrived after attempt 0 ended ran its own attempt.
            if !error.ends_with("attempt 0 failed") {
                retried += 1;
            }
        }
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            1 + retried,
            "one run per attempt"
        );
    });
}

/// A global interpreter lock whose holder is tracked explicitly, so that
/// hooks can release and retake it.
#[derive(Default)]
struct Gil {
    held: Mutex<bool>,
    free: Condvar,
}

impl Gil {
    fn acquire(&self) {
        let mut held = self.held.lock().unwrap();
        while *held {
            held = self.free.wait(held).unwrap();
        }
        *held = true;
    }

    fn release(&self) {
        *self.held.lock().unwrap() = false;
        self.free.notify_one();
    }
}

impl Hooks for Gil {
    fn before_block(&self) {
        self.release();
    }

    fn after_wake(&self) {
        self.acquire();
    }
}

#[test]
fn a_runtime_with_a_global_lock_does_not_deadlock_when_two_threads_race() {
    within(LIMIT, || {
        for _ in 0..if cfg!(miri) { 2 } else { 50 } {
            let gil = Arc::new(Gil::default());
            let engine: Arc<Engine<u32>> = Arc::new(Engine::builder().hooks(gil.clone()).build());
            let resolver_gil = Arc::clone(&gil);
            let h = engine.create(decl("numpy", 1), move |_| {
                // Module code runs with the GIL held but drops it now and then
                // (I/O, periodic switches); the other thread gets in then.
                resolver_gil.release();
                thread::sleep(Duration::from_millis(2));
                resolver_gil.acquire();
                Ok(7)
            });
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    let (engine, gil) = (Arc::clone(&engine), Arc::clone(&gil));
                    thread::spawn(move || {
                        gil.acquire();
                        let value = *engine.resolve(h).unwrap();
                        gil.release();
                        value
                    })
                })
                .collect();
            for racer in racers {
                assert_eq!(racer.join().unwrap(), 7);
            }
        }
    });
}

/// Two entries whose resolvers each need the other, resolved by two threads
/// that both own their entry before touching the other one.
fn two_thread_deadlock() -> (Error, Error) {
    let engine: Arc<Engine<u32>> = Arc::new(Engine::new());
    let handles: Arc<OnceLock<(Handle, Handle)>> = Arc::default();
    let both_own = Arc::new(Barrier::new(2));
    let make = |name: &'static str, line: u32, other_is_b: bool| {
        let (handles, both_own) = (Arc::clone(&handles), Arc::clone(&both_own));
        engine.create(decl(name, line), move |cx| {
            both_own.wait();
            let (a, b) = *handles.get().unwrap();
            let other = if other_is_b { b } else { a };
            Ok(*cx.engine().resolve(other)? + 1)
        })
    };
    let a = make("a", 1, true);
    let b = make("b", 2, false);
    handles.set((a, b)).unwrap();
    let spawn = |h: Handle| {
        let engine = Arc::clone(&engine);
        thread::spawn(move || engine.resolve(h).unwrap_err())
    };
    let (ta, tb) = (spawn(a), spawn(b));
    (ta.join().unwrap(), tb.join().unwrap())
}

#[test]
fn a_two_thread_deadlock_is_reported_with_its_chain() {
    let trials = if cfg!(miri) { 2 } else { 100 };
    within(LIMIT, move || {
        for _ in 0..trials {
            let (error_a, error_b) = two_thread_deadlock();
            // The thread that closed the cycle gets the deadlock; the other
            // gets it too, passed up through the failed resolution it waited
            // for. Both name the whole chain.
            for error in [&error_a, &error_b] {
                let Error::Deadlock { chain, .. } = error else {
                    panic!("expected a deadlock, got {error}");
                };
                let names = chain.names();
                assert_eq!(names.len(), 3, "{error}");
                assert_eq!(names.first(), names.last(), "{error}");
                assert!(names.contains(&"a") && names.contains(&"b"), "{error}");
                assert!(
                    error.to_string().contains("declared at test.py:"),
                    "{error}"
                );
            }
        }
    });
}

#[test]
fn a_three_thread_ring_is_reported_not_hung() {
    within(LIMIT, || {
        let engine: Arc<Engine<u32>> = Arc::new(Engine::new());
        let handles: Arc<OnceLock<Vec<Handle>>> = Arc::default();
        let all_own = Arc::new(Barrier::new(3));
        let ring: Vec<Handle> = (0..3)
            .map(|i| {
                let (handles, all_own) = (Arc::clone(&handles), Arc::clone(&all_own));
                engine.create(decl(["x", "y", "z"][i], i as u32 + 1), move |cx| {
                    all_own.wait();
                    let next = handles.get().unwrap()[(i + 1) % 3];
                    Ok(*cx.engine().resolve(next)?)
                })
            })
            .collect();
        handles.set(ring.clone()).unwrap();
        let results: Vec<Error> = ring
            .iter()
            .map(|&h| {
                let engine = Arc::clone(&engine);
                thread::spawn(move || engine.resolve(h).unwrap_err())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        for error in &results {
            let Error::Deadlock { chain, .. } = error else {
                panic!("expected a deadlock, got {error}");
            };
            assert_eq!(chain.links().len(), 4, "{error}");
        }
    });
}

#[test]
fn a_cycle_through_a_runtime_lock_is_reported() {
    within(LIMIT, || {
        // T1 resolves entry A, whose resolver needs runtime lock M.
        // T2 holds M and accesses A. Whichever waits second is told.
        let engine: Arc<Engine<u32>> = Arc::new(Engine::new());
        let module_lock = Arc::new(Mutex::new(()));
        let what = Declaration::new("module lock of 'm'", Site::new("<runtime>", 0));
        let graph_lock = RuntimeLock::new(what);
        let (t1_owns_a, t2_holds_m) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let a = {
            let (module_lock, graph_lock) = (Arc::clone(&module_lock), Arc::clone(&graph_lock));
            let (t1_owns_a, t2_holds_m) = (Arc::clone(&t1_owns_a), Arc::clone(&t2_holds_m));
            engine.create(decl("a", 1), move |_| {
                t1_owns_a.wait();
                t2_holds_m.wait();
                let wait = ExternalWait::begin(&graph_lock, None)?;
                let guard = module_lock.lock().unwrap();
                graph_lock.acquired();
                drop(wait);
                graph_lock.released();
                drop(guard);
                Ok(1)
            })
        };
        let t2 = {
            let (engine, module_lock, graph_lock) = (
                Arc::clone(&engine),
                Arc::clone(&module_lock),
                Arc::clone(&graph_lock),
            );
            let (t1_owns_a, t2_holds_m) = (Arc::clone(&t1_owns_a), Arc::clone(&t2_holds_m));
            thread::spawn(move || {
                t1_owns_a.wait();
                let guard = module_lock.lock().unwrap();
                graph_lock.acquired();
                t2_holds_m.wait();
                let result = engine.resolve(a).copied();
                graph_lock.released();
                drop(guard);
                result
            })
        };
        let t1 = engine.resolve(a).copied();
        let t2 = t2.join().unwrap();
        let deadlocks = [&t1, &t2]
            .iter()
            .filter(|r| matches!(r, Err(Error::Deadlock { .. })))
            .count();
        assert!(deadlocks >= 1, "t1: {t1:?}, t2: {t2:?}");
        let text = [&t1, &t2]
            .iter()
            .find_map(|r| r.as_ref().err())
            .unwrap()
            .to_string();
        assert!(
            text.contains("module lock of 'm'") && text.contains("'a'"),
            "{text}"
        );
        // Each link says whether it is the lock or the entry.
        let error = [&t1, &t2].iter().find_map(|r| r.as_ref().err()).unwrap();
        for link in error.chain().unwrap().links() {
            let expected = if link.declaration.name() == "a" {
                LinkKind::Entry
            } else {
                LinkKind::RuntimeLock
            };
            assert_eq!(link.kind, expected, "{text}");
        }
    });
}

/// Counts threads that are about to block on another thread's resolution.
#[derive(Default)]
struct BlockSignal(std::sync::atomic::AtomicUsize);

impl Hooks for BlockSignal {
    fn before_block(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_runtime_lock_released_before_its_holder_waits_is_no_deadlock() {
    within(LIMIT, || {
        // T1 resolves A and waits for lock M, held by T2. T2 releases M and
        // only then waits for A: T1's wait record still names M, but M has
        // no holder now, so T2 waits (and T1 gets M and finishes) instead of
        // a deadlock being reported.
        let blocked = Arc::new(BlockSignal::default());
        let engine: Arc<Engine<u32>> = Arc::new(Engine::builder().hooks(blocked.clone()).build());
        let what = Declaration::new("module lock of 'm'", Site::new("<runtime>", 0));
        let lock = RuntimeLock::new(what);
        let (t2_holds_m, t1_waits_for_m) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let a = {
            let (lock, blocked) = (Arc::clone(&lock), Arc::clone(&blocked));
            let (t2_holds_m, t1_waits_for_m) =
                (Arc::clone(&t2_holds_m), Arc::clone(&t1_waits_for_m));
            engine.create(decl("a", 1), move |_| {
                t2_holds_m.wait();
                let wait = ExternalWait::begin(&lock, None)?;
                t1_waits_for_m.wait();
                // "Asleep" on M until T2 has released it and blocked on A.
                while blocked.0.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    thread::sleep(Duration::from_millis(1));
                }
                lock.acquired();
                drop(wait);
                lock.released();
                Ok(7)
            })
        };
        let t2 = {
            let (engine, lock) = (Arc::clone(&engine), Arc::clone(&lock));
            thread::spawn(move || {
                lock.acquired();
                t2_holds_m.wait();
                t1_waits_for_m.wait();
                lock.released();
                engine.resolve(a).copied()
            })
        };
        let t1 = engine.resolve(a).copied();
        assert_eq!(t1.unwrap(), 7);
        assert_eq!(t2.join().unwrap().unwrap(), 7);
    });
}

#[test]
fn entries_on_different_threads_resolve_in_parallel() {
    if cfg!(miri) {
        return; // timing is meaningless under Miri
    }
    within(LIMIT, || {
        let engine: Arc<Engine<u32>> = Arc::new(Engine::new());
        let rendezvous = Arc::new(Barrier::new(2));
        // Each resolver waits for the other one to be running: this only
        // finishes if the two resolutions overlap in time.
        let make = |name: &'static str| {
            let rendezvous = Arc::clone(&rendezvous);
            engine.create(decl(name, 1), move |_| {
                rendezvous.wait();
                Ok(1)
            })
        };
        let (a, b) = (make("a"), make("b"));
        let spawn = |h| {
            let engine = Arc::clone(&engine);
            thread::spawn(move || *engine.resolve(h).unwrap())
        };
        let (ta, tb) = (spawn(a), spawn(b));
        assert_eq!(ta.join().unwrap() + tb.join().unwrap(), 2);
    });
}

/// Hooks for [`a_record_naming_a_finished_attempt_closes_no_cycle`]: the
/// second thread, once recorded as waiting, stays in `before_block` (its
/// record in the wait-for graph) until the first thread is about to block.
struct HoldSecondWaiter {
    second: OnceLock<lazy_bind::ThreadKey>,
    recorded: Mutex<mpsc::Sender<()>>,
    go: (Mutex<mpsc::Sender<()>>, Mutex<mpsc::Receiver<()>>),
}

impl Hooks for HoldSecondWaiter {
    fn before_block(&self) {
        if self.second.get() == Some(&lazy_bind::ThreadKey::current()) {
            let _ = self.recorded.lock().unwrap().send(());
            // Bounded, so a false deadlock for T1 fails the test rather
            // than hanging it.
            let _ = self.go.1.lock().unwrap().recv_timeout(LIMIT / 4);
        } else {
            let _ = self.go.0.lock().unwrap().send(());
        }
    }
}

/// T1 resolves `a`; T2 resolves `b`, whose resolver waits for `a`. Once T2 is
/// recorded as waiting for `a`, T1 finishes `a`, so T2's record names a
/// finished attempt until T2 wakes. T1 then waits for `b`: the walk
/// `b -> T2 -> a -> T1` comes back to T1 only through that finished
/// attempt, which must not count as a deadlock.
#[test]
fn a_record_naming_a_finished_attempt_closes_no_cycle() {
    let (first, second) = within(LIMIT, || {
        let (recorded, recorded_rx) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        let hooks = Arc::new(HoldSecondWaiter {
            second: OnceLock::new(),
            recorded: Mutex::new(recorded),
            go: (Mutex::new(go), Mutex::new(go_rx)),
        });
        let engine: Arc<Engine<u32>> = Arc::new(Engine::builder().hooks(hooks.clone()).build());
        let a = engine.create(decl("a", 1), move |_| {
            recorded_rx
                .recv_timeout(LIMIT)
                .map_err(|_| ResolveError::msg("T2 never waited for a"))?;
            Ok(1)
        });
        let b = engine.create(decl("b", 2), move |cx| Ok(cx.engine().resolve(a)? + 1));

        let t2 = {
            let engine = Arc::clone(&engine);
            thread::spawn(move || {
                let _ = hooks.second.set(lazy_bind::ThreadKey::current());
                while !matches!(engine.peek(a), Ok(lazy_bind::Peek::Resolving { .. })) {
                    thread::yield_now();
                }
                engine.resolve(b).copied()
            })
        };
        assert_eq!(engine.resolve(a).copied().ok(), Some(1));
        let first = engine.resolve(b).copied();
        (first, t2.join().unwrap())
    });
    assert!(
        matches!(first, Ok(2)),
        "T1 waited for b and got its value, not a false deadlock: {first:?}"
    );
    assert!(matches!(second, Ok(2)), "{second:?}");
}

/// The wait-for graph is process-wide: `a` in one engine needs `b` in
/// another and the other way round, each resolved by its own thread, and
/// the deadlock is reported as within one engine.
#[test]
fn a_deadlock_across_two_engines_is_reported() {
    let (error_a, error_b) = within(LIMIT, || {
        let first: Arc<Engine<u32>> = Arc::new(Engine::new());
        let second: Arc<Engine<u32>> = Arc::new(Engine::new());
        let handles: Arc<OnceLock<(Handle, Handle)>> = Arc::default();
        let both_own = Arc::new(Barrier::new(2));
        let make = |engine: &Engine<u32>, other: &Arc<Engine<u32>>, name, needs_b: bool| {
            let (other, handles, both_own) = (
                Arc::clone(other),
                Arc::clone(&handles),
                Arc::clone(&both_own),
            );
            engine.create(decl(name, 1), move |_| {
                both_own.wait();
                let (a, b) = *handles.get().unwrap();
                Ok(*other.resolve(if needs_b { b } else { a })? + 1)
            })
        };
        let a = make(&first, &second, "a", true);
        let b = make(&second, &first, "b", false);
        handles.set((a, b)).unwrap();
        let spawn = |engine: &Arc<Engine<u32>>, h: Handle| {
            let engine = Arc::clone(engine);
            thread::spawn(move || engine.resolve(h).unwrap_err())
        };
        let (ta, tb) = (spawn(&first, a), spawn(&second, b));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    for error in [&error_a, &error_b] {
        let Error::Deadlock { chain, .. } = error else {
            panic!("expected a deadlock, got {error}");
        };
        let names = chain.names();
        assert!(names.contains(&"a") && names.contains(&"b"), "{error}");
    }
}
