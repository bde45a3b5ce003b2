//! Engine hot paths against std baselines measured in the same run.
//!
//! - `resolved_access`: `Entry::resolve` (a cached entry, as a runtime's
//!   placeholder holds it) and `Engine::resolve` (through the handle) on a
//!   resolved entry vs `OnceLock::get` on an initialised cell (target for
//!   `lazy_bind`: <= 1.25x).
//! - `first_resolution`: create + resolve with a trivial resolver vs
//!   `OnceLock::new` + `get_or_init`.
//! - `parallel_resolution`: entries whose resolvers spin ~50 us, resolved by
//!   one thread vs split over two threads (target: >= 1.8x throughput).

use std::hint::black_box;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use lazy_bind::{Declaration, Engine, Handle, Site};

fn declaration() -> Declaration {
    Declaration::new("json", Site::new("bench.py", 1))
}

fn resolved_access(c: &mut Criterion) {
    let mut group = c.benchmark_group("resolved_access");
    let engine: Engine<u64> = Engine::new();
    let handle = engine.create(declaration(), |_| Ok(42));
    engine.resolve(handle).unwrap();
    // The runtime's path: its placeholder caches an `Entry`, which stays in
    // registers across the loop just as the cell's address does below; the
    // state word is loaded (acquire) on every iteration in both.
    let entry = black_box(engine.entry(handle).unwrap());
    group.bench_function("lazy_bind", |b| b.iter(|| *entry.resolve().unwrap()));
    // Through the handle alone: adds the table lookup.
    group.bench_function("lazy_bind_handle", |b| {
        b.iter(|| *engine.resolve(black_box(handle)).unwrap())
    });
    let cell = OnceLock::new();
    cell.get_or_init(|| 42u64);
    let cell = black_box(&cell);
    group.bench_function("oncelock", |b| b.iter(|| *cell.get().unwrap()));
    group.finish();
}

fn first_resolution(c: &mut Criterion) {
    let mut group = c.benchmark_group("first_resolution");
    group.bench_function("lazy_bind", |b| {
        // Runtimes intern names: the declaration is cloned, not built.
        let declaration = declaration();
        b.iter_custom(|iters| {
            let engine: Engine<u64> = Engine::new();
            let start = Instant::now();
            for i in 0..iters {
                let handle = engine.create(declaration.clone(), move |_| Ok(i));
                black_box(engine.resolve(handle).unwrap());
            }
            let elapsed = start.elapsed();
            drop(engine);
            elapsed
        })
    });
    group.bench_function("oncelock", |b| {
        b.iter(|| {
            let cell = OnceLock::new();
            *black_box(&cell).get_or_init(|| black_box(42u64))
        })
    });
    group.finish();
}

/// Busy-waits for `duration` (a resolver that does ~50 us of work).
fn spin(duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        std::hint::spin_loop();
    }
}

const WORK: Duration = Duration::from_micros(50);

fn spinning_entries(engine: &Engine<u64>, count: u64) -> Vec<Handle> {
    (0..count)
        .map(|i| {
            engine.create(declaration(), move |_| {
                spin(WORK);
                Ok(i)
            })
        })
        .collect()
}

fn parallel_resolution(c: &mut Criterion) {
    let mut group = c.benchmark_group("parallel_resolution");
    // Each iteration resolves two entries.
    group.bench_function("one_thread", |b| {
        b.iter_custom(|iters| {
            let engine: Engine<u64> = Engine::new();
            let handles = spinning_entries(&engine, 2 * iters);
            let start = Instant::now();
            for &handle in &handles {
                black_box(engine.resolve(handle).unwrap());
            }
            start.elapsed()
        })
    });
    group.bench_function("two_threads", |b| {
        b.iter_custom(|iters| {
            let engine: Engine<u64> = Engine::new();
            let handles = spinning_entries(&engine, 2 * iters);
            let (first, second) = handles.split_at(iters as usize);
            let start = Instant::now();
            thread::scope(|scope| {
                for half in [first, second] {
                    let engine = &engine;
                    scope.spawn(move || {
                        for &handle in half {
                            black_box(engine.resolve(handle).unwrap());
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    resolved_access,
    first_resolution,
    parallel_resolution
);
criterion_main!(benches);
