//! What the engine records: every step in the life of a deferral, on the
//! right thread, with nothing lost under concurrency and memory bounded.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::Duration;

use common::{decl, threads, within};
use lazy_bind::trace::{never_resolved, Event, EventKind, Recorder, ResolveOutcome};
use lazy_bind::{Engine, Error, Handle, ResolveError, Site, ThreadKey};

fn recording<V>(capacity: usize) -> (Arc<Recorder>, Engine<V>) {
    let recorder = Arc::new(Recorder::new(capacity));
    let engine = Engine::builder().recorder(Arc::clone(&recorder)).build();
    (recorder, engine)
}

/// A short, comparable description of an event.
fn describe(event: &Event) -> String {
    match &event.kind {
        EventKind::Deferred { declaration } => format!("deferred {}", declaration.name()),
        EventKind::ResolveStart {
            declaration,
            access,
            depth,
            parent,
            ..
        } => format!(
            "start {} depth {depth} parent {:?} access {:?}",
            declaration.name(),
            parent.as_ref().map(|p| p.name().to_owned()),
            access.as_ref().map(Site::to_string),
        ),
        EventKind::ResolveEnd {
            declaration,
            depth,
            outcome,
            ..
        } => format!(
            "end {} depth {depth} {}",
            declaration.name(),
            outcome.as_str()
        ),
        EventKind::Failure {
            declaration,
            message,
            ..
        } => format!("failure {}: {message}", declaration.name()),
        EventKind::Cycle { chain, .. } => format!("cycle {}", chain.names().join(" -> ")),
        EventKind::Deadlock { chain, .. } => format!("deadlock {}", chain.names().join(" -> ")),
        EventKind::PolicyDecision {
            importer,
            target,
            decision,
            reason,
        } => format!("policy {importer} -> {target}: {decision} ({reason})"),
        other => format!("{other:?}"),
    }
}

#[test]
fn records_deferral_nested_resolution_and_failure_in_order() {
    let (recorder, engine): (_, Engine<u32>) = recording(100);
    let pkg = engine.create(decl("pkg", 1), |cx| {
        let sub = cx.engine().create(decl("pkg.sub", 2), |_| Ok(1));
        Ok(*cx.engine().resolve_at(sub, &Site::new("pkg.py", 3))? + 1)
    });
    let bad = engine.create(decl("bad", 4), |_| Err(ResolveError::msg("no module")));
    engine.create_resolved(decl("eager", 5), 9);
    assert_eq!(
        *engine.resolve_at(pkg, &Site::new("main.py", 10)).unwrap(),
        2
    );
    engine.resolve(bad).unwrap_err();
    // A resolved access records nothing.
    engine.resolve(pkg).unwrap();

    let events = recorder.events();
    let described: Vec<String> = events.iter().map(describe).collect();
    assert_eq!(
        described,
        [
            "deferred pkg",
            "deferred bad",
            "start pkg depth 0 parent None access Some(\"main.py:10\")",
            "deferred pkg.sub",
            "start pkg.sub depth 1 parent Some(\"pkg\") access Some(\"pkg.py:3\")",
            "end pkg.sub depth 1 resolved",
            "end pkg depth 0 resolved",
            "start bad depth 0 parent None access None",
            "failure bad: lazy binding of 'bad' (declared at test.py:4) failed while \
             resolving at <unknown access site>: no module",
            "end bad depth 0 failed",
        ]
    );
    let me = ThreadKey::current();
    assert!(events.iter().all(|e| e.thread == me));
    assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
    // Start and end of one resolution share a span number; durations nest.
    let spans: Vec<(u64, Duration)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ResolveEnd { span, duration, .. } => Some((*span, *duration)),
            _ => None,
        })
        .collect();
    let starts: Vec<u64> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ResolveStart { span, .. } => Some(*span),
            _ => None,
        })
        .collect();
    assert_eq!(starts, [spans[1].0, spans[0].0, spans[2].0]);
    assert!(spans[0].1 <= spans[1].1, "pkg.sub lies inside pkg");
    assert_eq!(recorder.dropped(), 0);
}

#[test]
fn records_panics_and_cycles() {
    let (recorder, engine): (_, Arc<Engine<u32>>) = {
        let (recorder, engine) = recording(100);
        (recorder, Arc::new(engine))
    };
    let handles: Arc<OnceLock<[Handle; 2]>> = Default::default();
    let mk = |name: &'static str, line: u32, next: usize| {
        let handles = Arc::clone(&handles);
        engine.create(decl(name, line), move |cx| {
            Ok(*cx.engine().resolve(handles.get().unwrap()[next])? + 1)
        })
    };
    let a = mk("a", 1, 1);
    let b = mk("b", 2, 0);
    handles.set([a, b]).unwrap();
    let error = engine.resolve(a).unwrap_err();
    assert!(matches!(error, Error::Cycle { .. }));
    let panics = engine.create(decl("panics", 3), |_| panic!("boom"));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = engine.resolve(panics);
    }));
    assert!(caught.is_err());

    let described: Vec<String> = recorder.events().iter().map(describe).collect();
    let tail: Vec<&str> = described[2..].iter().map(String::as_str).collect();
    assert_eq!(
        tail[..3],
        [
            "start a depth 0 parent None access None",
            "start b depth 1 parent Some(\"a\") access None",
            "cycle a -> b -> a"
        ]
    );
    assert!(
        tail[3].starts_with("failure b: lazy binding cycle"),
        "{}",
        tail[3]
    );
    assert_eq!(tail[4], "end b depth 1 failed");
    assert!(
        tail[5].starts_with("failure a: lazy binding cycle"),
        "{}",
        tail[5]
    );
    assert_eq!(tail[6..], [
        "end a depth 0 failed",
        "deferred panics",
        "start panics depth 0 parent None access None",
        "failure panics: resolver of 'panics' (declared at test.py:3) panicked while resolving at <unknown access site>: boom",
        "end panics depth 0 panicked",
    ]);
}

#[test]
fn records_a_cross_thread_deadlock_on_the_thread_that_detects_it() {
    within(Duration::from_secs(20), || {
        let (recorder, engine): (_, Engine<u32>) = recording(100);
        let engine = Arc::new(engine);
        let barrier = Arc::new(Barrier::new(2));
        let handles: Arc<OnceLock<[Handle; 2]>> = Default::default();
        let mk = |name: &'static str, line: u32, other: usize| {
            let (barrier, handles) = (Arc::clone(&barrier), Arc::clone(&handles));
            engine.create(decl(name, line), move |cx| {
                barrier.wait();
                Ok(*cx.engine().resolve(handles.get().unwrap()[other])? + 1)
            })
        };
        let a = mk("a", 1, 1);
        let b = mk("b", 2, 0);
        handles.set([a, b]).unwrap();
        let other = {
            let engine = Arc::clone(&engine);
            thread::spawn(move || engine.resolve(b).copied())
        };
        let here = engine.resolve(a).copied();
        let there = other.join().unwrap();
        assert!(here.is_err() && there.is_err(), "{here:?} {there:?}");

        let events = recorder.events();
        let deadlocks: Vec<&Event> = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Deadlock { .. }))
            .collect();
        assert_eq!(
            deadlocks.len(),
            1,
            "{:?}",
            events.iter().map(describe).collect::<Vec<_>>()
        );
        let EventKind::Deadlock { chain, .. } = &deadlocks[0].kind else {
            unreachable!()
        };
        let names = chain.names();
        assert!(
            names == ["a", "b", "a"] || names == ["b", "a", "b"],
            "{names:?}"
        );
        // The detecting thread owns the chain's first entry.
        assert_eq!(chain.links()[0].owner, Some(deadlocks[0].thread));
    });
}

#[test]
fn policy_decisions_are_recorded_with_their_rule() {
    let recorder = Recorder::new(10);
    recorder.record_policy_decision("app.main", "numpy", "eager", "target opt-out numpy.*");
    let described: Vec<String> = recorder.events().iter().map(describe).collect();
    assert_eq!(
        described,
        ["policy app.main -> numpy: eager (target opt-out numpy.*)"]
    );
}

#[test]
fn recording_starts_and_stops_at_run_time() {
    let engine: Engine<u32> = Engine::new();
    assert!(engine.recorder().is_none());
    engine.create(decl("before", 1), |_| Ok(1));
    let recorder = Arc::new(Recorder::new(10));
    engine.set_recorder(Some(Arc::clone(&recorder)));
    assert!(Arc::ptr_eq(&engine.recorder().unwrap(), &recorder));
    let during = engine.create(decl("during", 2), |_| Ok(2));
    engine.set_recorder(None);
    engine.resolve(during).unwrap();
    let described: Vec<String> = recorder.events().iter().map(describe).collect();
    assert_eq!(described, ["deferred during"]);
}

#[test]
fn a_resolution_keeps_the_recorder_it_started_with() {
    let (recorder, engine): (_, Engine<u32>) = recording(10);
    let h = engine.create(decl("switches", 1), |cx| {
        cx.engine().set_recorder(None);
        Ok(1)
    });
    engine.resolve(h).unwrap();
    let described: Vec<String> = recorder.events().iter().map(describe).collect();
    assert_eq!(
        described,
        [
            "deferred switches",
            "start switches depth 0 parent None access None",
            "end switches depth 0 resolved",
        ]
    );
}

#[test]
fn never_resolved_lists_pending_and_failed_entries_only() {
    let engine: Engine<u32> = Engine::new();
    let used = engine.create(decl("used", 1), |_| Ok(1));
    engine.create(decl("unused", 2), |_| Ok(2));
    let fails = engine.create(decl("fails", 3), |_| Err(ResolveError::msg("x")));
    engine.create_resolved(decl("eager", 4), 4);
    engine.resolve(used).unwrap();
    engine.resolve(fails).unwrap_err();
    let names: Vec<String> = never_resolved(&engine)
        .iter()
        .map(|e| e.declaration.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "'unused' (declared at test.py:2)",
            "'fails' (declared at test.py:3)"
        ]
    );
}

/// Each thread creates and resolves `per_thread` entries: three events each.
fn record_concurrently(capacity: usize, per_thread: usize) -> (Arc<Recorder>, usize) {
    let (recorder, engine): (_, Engine<usize>) = recording(capacity);
    let engine = Arc::new(engine);
    let n = threads();
    let barrier = Arc::new(Barrier::new(n));
    let workers: Vec<_> = (0..n)
        .map(|t| {
            let (engine, barrier) = (Arc::clone(&engine), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                for i in 0..per_thread {
                    let h = engine.create(decl("e", i as u32), move |_| Ok(t * i));
                    assert_eq!(*engine.resolve(h).unwrap(), t * i);
                }
                ThreadKey::current()
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    (recorder, n * per_thread * 3)
}

#[test]
fn concurrent_recording_loses_no_events() {
    let per_thread = if cfg!(miri) { 5 } else { 200 };
    let (recorder, total) = record_concurrently(usize::MAX, per_thread);
    let events = recorder.events();
    assert_eq!(events.len(), total);
    assert_eq!(recorder.dropped(), 0);
    let mut per_thread_events: HashMap<ThreadKey, Vec<&Event>> = HashMap::new();
    for event in &events {
        per_thread_events
            .entry(event.thread)
            .or_default()
            .push(event);
    }
    assert_eq!(per_thread_events.len(), threads());
    for track in per_thread_events.values() {
        assert_eq!(track.len(), per_thread * 3);
        // Each thread's events are in its own order: defer, start, end.
        for step in track.chunks(3) {
            assert!(matches!(step[0].kind, EventKind::Deferred { .. }));
            assert!(matches!(step[1].kind, EventKind::ResolveStart { .. }));
            assert!(matches!(
                step[2].kind,
                EventKind::ResolveEnd {
                    outcome: ResolveOutcome::Resolved,
                    ..
                }
            ));
        }
    }
}

#[test]
fn a_full_recorder_counts_what_it_drops() {
    let per_thread = if cfg!(miri) { 5 } else { 200 };
    let capacity = 100;
    let (recorder, total) = record_concurrently(capacity, per_thread);
    assert!(total > capacity);
    assert_eq!(recorder.events().len(), capacity);
    assert_eq!(recorder.event_count(), capacity);
    assert_eq!(
        recorder.events().len() as u64 + recorder.dropped(),
        total as u64
    );
    // Taking the events frees the room; the drop count stays.
    assert_eq!(recorder.take_events().len(), capacity);
    assert!(recorder.events().is_empty());
    assert_eq!(recorder.event_count(), 0);
    recorder.record_policy_decision("a", "b", "lazy", "default");
    assert_eq!(recorder.events().len(), 1);
    assert_eq!(recorder.event_count(), 1);
    assert_eq!(recorder.dropped(), (total - capacity) as u64);
}
