//! Resolved access with recording off and on, measured in one run: a
//! resolved access never reads the recorder, so the two must not differ.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use lazy_bind::trace::Recorder;
use lazy_bind::{Declaration, Engine, Site};

fn resolved_engine(recorder: Option<Arc<Recorder>>) -> (Engine<u64>, lazy_bind::Handle) {
    let engine: Engine<u64> = Engine::new();
    engine.set_recorder(recorder);
    let handle = engine.create(Declaration::new("json", Site::new("main.py", 1)), |_| Ok(7));
    engine.resolve(handle).expect("the resolver succeeds");
    (engine, handle)
}

fn resolved_access_recording(c: &mut Criterion) {
    let mut group = c.benchmark_group("resolved_access_recording");
    let (off, off_handle) = resolved_engine(None);
    group.bench_function("recording_off", |b| {
        b.iter(|| *off.resolve(black_box(off_handle)).unwrap())
    });
    let (on, on_handle) = resolved_engine(Some(Arc::new(Recorder::new(1024))));
    group.bench_function("recording_on", |b| {
        b.iter(|| *on.resolve(black_box(on_handle)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, resolved_access_recording);
criterion_main!(benches);
