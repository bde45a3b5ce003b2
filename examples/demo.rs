//! The lazy_bind demo: defer some "imports", resolve them from several
//! threads at once (each resolver runs exactly once), and show the error a
//! cycle produces instead of a hang or a RecursionError.
//!
//! Run with `cargo run --example demo`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use lazy_bind::trace::{importtime_report, never_resolved, Recorder};
use lazy_bind::{Declaration, Engine, Handle, Site};

/// A "module": its name and how long its body takes to run.
const MODULES: [(&str, u64); 4] = [
    ("numpy", 30),
    ("pandas", 50),
    ("torch", 80),
    ("matplotlib", 40),
];

fn main() {
    let recorder = Arc::new(Recorder::new(10_000));
    let engine: Arc<Engine<String>> =
        Arc::new(Engine::builder().recorder(recorder.clone()).build());
    let bodies_run = Arc::new(AtomicUsize::new(0));

    println!("== deferring {} imports (nothing runs yet)", MODULES.len());
    let started = Instant::now();
    let handles: Vec<(&str, Handle)> = MODULES
        .iter()
        .enumerate()
        .map(|(line, &(name, millis))| {
            let runs = Arc::clone(&bodies_run);
            let declaration = Declaration::new(name, Site::new("train.py", line as u32 + 1));
            let handle = engine.create(declaration, move |_| {
                runs.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(millis)); // the module body
                Ok(format!("<module '{name}'>"))
            });
            (name, handle)
        })
        .collect();
    println!(
        "   deferred in {:?}; module bodies run so far: {}",
        started.elapsed(),
        bodies_run.load(Ordering::SeqCst)
    );

    println!("== 8 threads touch 'numpy' and 'pandas' at the same moment");
    let barrier = Arc::new(Barrier::new(8));
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let (engine, barrier) = (Arc::clone(&engine), Arc::clone(&barrier));
            let (_, handle) = handles[i % 2];
            thread::spawn(move || {
                barrier.wait();
                engine
                    .resolve_at(handle, &Site::new("train.py", 40))
                    .unwrap()
                    .clone()
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join().unwrap();
    }
    println!(
        "   every thread got its module; module bodies run: {} (one per module)",
        bodies_run.load(Ordering::SeqCst)
    );
    println!(
        "   a resolved access is now one atomic load: {}",
        engine.resolve(handles[0].1).unwrap()
    );

    println!("== a cycle: 'a' needs 'b' needs 'a'");
    let cycle: Arc<OnceLock<(Handle, Handle)>> = Arc::default();
    let make = |name: &'static str, line: u32, needs_b: bool| {
        let cycle = Arc::clone(&cycle);
        engine.create(
            Declaration::new(name, Site::new(format!("{name}.py"), line)),
            move |cx| {
                let (a, b) = *cycle.get().unwrap();
                let access = Site::new(format!("{name}.py"), line + 1);
                let other = cx
                    .engine()
                    .resolve_at(if needs_b { b } else { a }, &access)?;
                Ok(format!("{name} using {other}"))
            },
        )
    };
    let a = make("a", 1, true);
    let b = make("b", 3, false);
    cycle.set((a, b)).unwrap();
    match engine.resolve_at(a, &Site::new("main.py", 7)) {
        Ok(value) => println!("   unexpected value {value}"),
        Err(error) => println!("   error: {error}"),
    }

    println!("== what laziness saved and what it cost");
    let counters = engine.counters();
    println!(
        "   deferred {}, resolved {}, failed attempts {}, still pending {}",
        counters.deferred, counters.resolved, counters.failed, counters.pending
    );
    print!(
        "{}",
        importtime_report(&recorder.events(), &never_resolved(&engine))
    );
}
