//! The reports built from recorded events: the `-X importtime` text report
//! (golden tests on fixed events) and the Chrome trace JSON (parsed back).

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::decl;
use lazy_bind::trace::{
    chrome_trace_json, importtime_report, never_resolved, write_chrome_trace, Event, EventKind,
    Recorder, ResolveOutcome,
};
use lazy_bind::{Declaration, Engine, EntryInfo, EntryState, Handle, Site, ThreadKey};
use serde_json::Value;

fn end(
    thread: ThreadKey,
    at_us: u64,
    (name, line): (&str, u32),
    access: Option<Site>,
    depth: u32,
    duration_us: u64,
    outcome: ResolveOutcome,
) -> Event {
    Event {
        at: Duration::from_micros(at_us),
        thread,
        kind: EventKind::ResolveEnd {
            span: at_us,
            declaration: Arc::new(decl(name, line)),
            access,
            depth,
            duration: Duration::from_micros(duration_us),
            outcome,
        },
    }
}

fn pending(name: &str, file: &str, line: u32) -> EntryInfo {
    EntryInfo {
        handle: Handle::NULL,
        declaration: Arc::new(Declaration::new(name, Site::new(file, line))),
        state: EntryState::Pending,
    }
}

#[test]
fn importtime_report_nests_children_and_subtracts_their_time() {
    let t = ThreadKey::current();
    let events = [
        end(
            t,
            200,
            ("pkg.b", 2),
            Some(Site::new("pkg/__init__.py", 5)),
            1,
            150,
            ResolveOutcome::Resolved,
        ),
        end(
            t,
            260,
            ("pkg.c.d", 4),
            None,
            2,
            30,
            ResolveOutcome::Resolved,
        ),
        end(
            t,
            300,
            ("pkg.c", 3),
            Some(Site::new("pkg/__init__.py", 6)),
            1,
            100,
            ResolveOutcome::Resolved,
        ),
        end(
            t,
            400,
            ("pkg", 1),
            Some(Site::new("main.py", 10)),
            0,
            400,
            ResolveOutcome::Resolved,
        ),
        end(
            t,
            500,
            ("broken", 7),
            Some(Site::new("main.py", 11)),
            0,
            20,
            ResolveOutcome::Failed,
        ),
    ];
    let unused = [
        pending("csv", "main.py", 2),
        pending("xml.dom", "main.py", 3),
    ];
    let expected = "\
import time: self [us] | cumulative | imported package
import time:       150 |        150 |   pkg.b (lazy, declared at test.py:2, forced at pkg/__init__.py:5)
import time:        30 |         30 |     pkg.c.d (lazy, declared at test.py:4)
import time:        70 |        100 |   pkg.c (lazy, declared at test.py:3, forced at pkg/__init__.py:6)
import time:       150 |        400 | pkg (lazy, declared at test.py:1, forced at main.py:10)
import time:        20 |         20 | broken (lazy, failed, declared at test.py:7, forced at main.py:11)
lazy entries never resolved: 2
  csv (declared at main.py:2)
  xml.dom (declared at main.py:3)
";
    assert_eq!(importtime_report(&events, &unused), expected);
}

#[test]
fn importtime_report_keeps_threads_apart_and_ignores_other_events() {
    let t1 = ThreadKey::current();
    let t2 = thread::spawn(ThreadKey::current).join().unwrap();
    let deferred = Event {
        at: Duration::ZERO,
        thread: t1,
        kind: EventKind::Deferred {
            declaration: Arc::new(decl("a", 1)),
        },
    };
    let events = [
        deferred,
        end(
            t1,
            100,
            ("a.child", 2),
            None,
            1,
            40,
            ResolveOutcome::Resolved,
        ),
        // Another thread's top-level resolution finishes in between: it is
        // not a child of anything on thread 1.
        end(t2, 120, ("b", 3), None, 0, 90, ResolveOutcome::Panicked),
        end(t1, 150, ("a", 1), None, 0, 100, ResolveOutcome::Resolved),
    ];
    let expected = "\
import time: self [us] | cumulative | imported package
import time:        40 |         40 |   a.child (lazy, declared at test.py:2)
import time:        90 |         90 | b (lazy, panicked, declared at test.py:3)
import time:        60 |        100 | a (lazy, declared at test.py:1)
lazy entries never resolved: 0
";
    assert_eq!(importtime_report(&events, &[]), expected);
}

#[test]
fn importtime_report_from_a_real_engine_lists_children_first() {
    let recorder = Arc::new(Recorder::new(1000));
    let engine: Engine<u32> = Engine::builder().recorder(Arc::clone(&recorder)).build();
    let outer = engine.create(decl("outer", 1), |cx| {
        let inner = cx.engine().create(decl("inner", 2), |_| Ok(1));
        Ok(*cx.engine().resolve_at(inner, &Site::new("outer.py", 4))? + 1)
    });
    engine.create(decl("unused", 3), |_| Ok(0));
    engine.resolve_at(outer, &Site::new("main.py", 8)).unwrap();
    let report = importtime_report(&recorder.events(), &never_resolved(&engine));
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 5, "{report}");
    let columns = |line: &str| -> (u128, u128, String) {
        let parts: Vec<&str> = line.split('|').collect();
        let self_us = parts[0]
            .trim_start_matches("import time:")
            .trim()
            .parse()
            .unwrap();
        (
            self_us,
            parts[1].trim().parse().unwrap(),
            parts[2].to_owned(),
        )
    };
    let (inner_self, inner_cumulative, inner) = columns(lines[1]);
    let (outer_self, outer_cumulative, outer) = columns(lines[2]);
    assert_eq!(
        inner,
        "   inner (lazy, declared at test.py:2, forced at outer.py:4)"
    );
    assert_eq!(
        outer,
        " outer (lazy, declared at test.py:1, forced at main.py:8)"
    );
    assert_eq!(inner_self, inner_cumulative);
    assert!(outer_cumulative >= inner_cumulative);
    // Whole microseconds are truncated separately, so allow one of rounding.
    assert!(outer_self + inner_cumulative <= outer_cumulative + 1);
    assert_eq!(lines[3], "lazy entries never resolved: 1");
    assert_eq!(lines[4], "  unused (declared at test.py:3)");
}

/// A timestamp in whole nanoseconds (the writer prints microseconds with
/// three decimals, so this is exact).
fn nanos(value: &Value) -> i64 {
    (value.as_f64().expect("a number") * 1000.0).round() as i64
}

/// Engine with nested resolutions on several threads, a failure and a
/// never-resolved entry, recorded.
fn traced_run() -> (Arc<Recorder>, usize) {
    let recorder = Arc::new(Recorder::new(10_000));
    let engine: Arc<Engine<u32>> =
        Arc::new(Engine::builder().recorder(Arc::clone(&recorder)).build());
    let threads: usize = 3;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let engine = Arc::clone(&engine);
            thread::spawn(move || {
                let top = engine.create(decl("top \"quoted\"\n", t as u32), |cx| {
                    let mid = cx.engine().create(decl("mid", 10), |cx| {
                        let leaf = cx.engine().create(decl("leaf\\x", 20), |_| Ok(1));
                        Ok(*cx.engine().resolve(leaf)? + 1)
                    });
                    let bad = cx
                        .engine()
                        .create(decl("bad", 30), |_| Err(lazy_bind::ResolveError::msg("no")));
                    assert!(cx.engine().resolve(bad).is_err());
                    Ok(*cx.engine().resolve_at(mid, &Site::new("top.py", 2))? + 1)
                });
                engine.create(decl("never", 40), |_| Ok(0));
                assert_eq!(*engine.resolve(top).unwrap(), 3);
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    recorder.record_policy_decision("main", "json", "lazy", "mode all");
    (recorder, threads)
}

#[test]
fn chrome_trace_parses_back_with_nested_spans_on_one_track_per_thread() {
    let (recorder, threads) = traced_run();
    let json = chrome_trace_json(&recorder.events(), recorder.dropped());
    let trace: Value = serde_json::from_str(&json).expect("the trace is valid JSON");
    assert_eq!(trace["otherData"]["dropped_events"], 0);
    let events = trace["traceEvents"].as_array().unwrap();

    for event in events {
        for key in ["ph", "ts", "pid", "tid", "name"] {
            assert!(event.get(key).is_some(), "{key} missing in {event}");
        }
    }
    let tids_of = |ph: &str| -> Vec<u64> {
        events
            .iter()
            .filter(|e| e["ph"] == ph)
            .map(|e| e["tid"].as_u64().unwrap())
            .collect()
    };
    // One named track per thread that recorded anything: the workers and
    // this thread (the policy decision).
    let named = tids_of("M");
    let named_set: HashSet<u64> = named.iter().copied().collect();
    assert_eq!(named.len(), named_set.len(), "one thread_name per tid");
    assert_eq!(named.len(), threads + 1);
    let used: HashSet<u64> = events.iter().map(|e| e["tid"].as_u64().unwrap()).collect();
    assert_eq!(used, named_set);
    for meta in events.iter().filter(|e| e["ph"] == "M") {
        assert_eq!(meta["name"], "thread_name");
        assert_eq!(meta["args"]["name"], format!("thread {}", meta["tid"]));
    }

    // Every worker resolved top > {bad, mid > leaf}: 4 spans, nested.
    let spans: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(spans.len(), threads * 4);
    let mut by_tid: HashMap<u64, Vec<&Value>> = HashMap::new();
    for span in &spans {
        by_tid
            .entry(span["tid"].as_u64().unwrap())
            .or_default()
            .push(span);
    }
    assert_eq!(by_tid.len(), threads);
    for track in by_tid.values() {
        for child in track
            .iter()
            .filter(|s| s["args"]["depth"].as_u64().unwrap() > 0)
        {
            let depth = child["args"]["depth"].as_u64().unwrap();
            let (start, stop) = (
                nanos(&child["ts"]),
                nanos(&child["ts"]) + nanos(&child["dur"]),
            );
            let parents = track
                .iter()
                .filter(|p| p["args"]["depth"].as_u64().unwrap() == depth - 1)
                .filter(|p| nanos(&p["ts"]) <= start && stop <= nanos(&p["ts"]) + nanos(&p["dur"]))
                .count();
            assert_eq!(
                parents, 1,
                "{child} lies in exactly one parent on its track"
            );
        }
        let names: HashSet<&str> = track.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            HashSet::from(["top \"quoted\"\n", "mid", "leaf\\x", "bad"])
        );
        let outcome = |name: &str| {
            track.iter().find(|s| s["name"] == name).unwrap()["args"]["outcome"].clone()
        };
        assert_eq!(outcome("bad"), "failed");
        assert_eq!(outcome("mid"), "resolved");
        let mid = track.iter().find(|s| s["name"] == "mid").unwrap();
        assert_eq!(mid["args"]["forced_at"], "top.py:2");
        assert_eq!(mid["args"]["declared_at"], "test.py:10");
    }

    let instants = |cat: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == "i" && e["cat"] == cat)
            .count()
    };
    assert_eq!(instants("defer"), threads * 5);
    assert_eq!(instants("failure"), threads);
    assert_eq!(instants("policy"), 1);
    let policy = events.iter().find(|e| e["cat"] == "policy").unwrap();
    assert_eq!(policy["args"]["reason"], "mode all");
    assert_eq!(policy["s"], "t");
}

#[test]
fn a_resolution_still_running_is_an_open_begin_event() {
    let recorder = Arc::new(Recorder::new(100));
    let engine: Engine<String> = Engine::builder().recorder(Arc::clone(&recorder)).build();
    let inside = Arc::clone(&recorder);
    let h = engine.create(decl("slow", 1), move |_| {
        Ok(chrome_trace_json(&inside.events(), inside.dropped()))
    });
    let json = engine.resolve(h).unwrap();
    let trace: Value = serde_json::from_str(json).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let open: Vec<&Value> = events.iter().filter(|e| e["ph"] == "B").collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["name"], "slow");
    assert!(events.iter().all(|e| e["ph"] != "X"));
    // Once finished, the same span is a complete event and nothing is open.
    let trace: Value = serde_json::from_str(&chrome_trace_json(&recorder.events(), 0)).unwrap();
    let phases: Vec<&str> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ph"].as_str().unwrap())
        .collect();
    assert!(
        phases.contains(&"X") && !phases.contains(&"B"),
        "{phases:?}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri's isolation forbids file system access")]
fn chrome_trace_is_written_to_a_file() {
    let (recorder, _) = traced_run();
    let path = std::env::temp_dir().join(format!("lazy_bind_trace_{}.json", std::process::id()));
    write_chrome_trace(&path, &recorder.events(), 7).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let trace: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(trace["otherData"]["dropped_events"], 7);
    assert!(!trace["traceEvents"].as_array().unwrap().is_empty());
}
