//! A Chrome trace-event JSON file, the format Perfetto and `chrome://tracing`
//! open.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write;
use std::io;
use std::path::Path;
use std::time::Duration;

use super::{Event, EventKind};
use crate::{Declaration, Site};

/// Formats `events` as a Chrome trace-event JSON object.
///
/// - One track per thread: an `"M"` (metadata) `thread_name` event names
///   each thread's track `thread N`, `N` being its
///   [`ThreadKey`](crate::ThreadKey), which is also the events' `"tid"`.
/// - Each finished resolution is an `"X"` (complete) event named after the
///   entry, with `"ts"` and `"dur"` in microseconds and the declaration
///   site, access site, outcome and depth in `"args"`. A resolution forced
///   by another one's resolver lies inside it on the same track, so viewers
///   draw it nested. A resolution still running (started, not ended) is a
///   `"B"` (begin) event without an end.
/// - Deferrals, failures, cycles, deadlocks and policy decisions are
///   thread-scoped `"i"` (instant) events.
/// - `dropped` (see [`Recorder::dropped`](super::Recorder::dropped)) is
///   written to `"otherData"`, so a reader knows whether the trace is
///   complete.
///
/// Every event has `"ph"`, `"ts"`, `"pid"` (this process's id) and `"tid"`.
pub fn chrome_trace_json(events: &[Event], dropped: u64) -> String {
    let pid = std::process::id();
    let ended: HashSet<u64> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ResolveEnd { span, .. } => Some(*span),
            _ => None,
        })
        .collect();
    let threads: BTreeSet<u64> = events.iter().map(|e| e.thread.as_u64()).collect();

    let mut records = Vec::with_capacity(events.len() + threads.len());
    for tid in &threads {
        records.push(format!(
            r#"{{"name":"thread_name","ph":"M","ts":0,"pid":{pid},"tid":{tid},"args":{{"name":"thread {tid}"}}}}"#
        ));
    }
    for event in events {
        let tid = event.thread.as_u64();
        let common = format!(r#""pid":{pid},"tid":{tid}"#);
        let record = match &event.kind {
            EventKind::ResolveEnd {
                declaration,
                access,
                depth,
                duration,
                outcome,
                ..
            } => {
                let mut args = site_args(declaration, access.as_ref());
                let _ = write!(args, r#","outcome":"{}","depth":{depth}"#, outcome.as_str());
                format!(
                    r#"{{"name":{},"cat":"resolve","ph":"X","ts":{},"dur":{},{common},"args":{{{args}}}}}"#,
                    string(declaration.name()),
                    micros(event.at.saturating_sub(*duration)),
                    micros(*duration),
                )
            }
            EventKind::ResolveStart {
                span,
                declaration,
                access,
                depth,
                ..
            } => {
                if ended.contains(span) {
                    continue;
                }
                let mut args = site_args(declaration, access.as_ref());
                let _ = write!(args, r#","depth":{depth}"#);
                format!(
                    r#"{{"name":{},"cat":"resolve","ph":"B","ts":{},{common},"args":{{{args}}}}}"#,
                    string(declaration.name()),
                    micros(event.at),
                )
            }
            EventKind::Deferred { declaration } => instant(
                "defer",
                &format!("defer {}", declaration.name()),
                event.at,
                &common,
                &site_args(declaration, None),
            ),
            EventKind::Failure {
                declaration,
                access,
                message,
            } => {
                let mut args = site_args(declaration, access.as_ref());
                let _ = write!(args, r#","message":{}"#, string(message));
                instant(
                    "failure",
                    &format!("failed {}", declaration.name()),
                    event.at,
                    &common,
                    &args,
                )
            }
            EventKind::Cycle { chain, access } | EventKind::Deadlock { chain, access } => {
                let what = if matches!(event.kind, EventKind::Cycle { .. }) {
                    "cycle"
                } else {
                    "deadlock"
                };
                let mut args = format!(r#""chain":{}"#, string(&chain.to_string()));
                if let Some(access) = access {
                    let _ = write!(args, r#","access":{}"#, string(&access.to_string()));
                }
                instant(what, what, event.at, &common, &args)
            }
            EventKind::PolicyDecision {
                importer,
                target,
                decision,
                reason,
            } => instant(
                "policy",
                &format!("policy {target}: {decision}"),
                event.at,
                &common,
                &format!(
                    r#""importer":{},"target":{},"decision":{},"reason":{}"#,
                    string(importer),
                    string(target),
                    string(decision),
                    string(reason)
                ),
            ),
        };
        records.push(record);
    }
    format!(
        "{{\"displayTimeUnit\":\"ms\",\"otherData\":{{\"dropped_events\":{dropped}}},\"traceEvents\":[\n{}\n]}}\n",
        records.join(",\n")
    )
}

/// Writes [`chrome_trace_json`]`(events, dropped)` to the file at `path`,
/// replacing it if it exists.
///
/// # Errors
/// Any error creating or writing the file.
pub fn write_chrome_trace(
    path: impl AsRef<Path>,
    events: &[Event],
    dropped: u64,
) -> io::Result<()> {
    std::fs::write(path, chrome_trace_json(events, dropped))
}

/// A thread-scoped instant event.
fn instant(category: &str, name: &str, at: Duration, common: &str, args: &str) -> String {
    format!(
        r#"{{"name":{},"cat":"{category}","ph":"i","s":"t","ts":{},{common},"args":{{{args}}}}}"#,
        string(name),
        micros(at),
    )
}

/// `"declared_at":...` and, if known, `"forced_at":...` (no braces).
fn site_args(declaration: &Declaration, access: Option<&Site>) -> String {
    let mut args = format!(
        r#""declared_at":{}"#,
        string(&declaration.site().to_string())
    );
    if let Some(access) = access {
        let _ = write!(args, r#","forced_at":{}"#, string(&access.to_string()));
    }
    args
}

/// A duration in microseconds with nanosecond precision (`12.345`), exact
/// so that nested spans stay nested.
fn micros(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    format!("{}.{:03}", nanos / 1000, nanos % 1000)
}

/// `text` as a JSON string literal.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_for_json() {
        assert_eq!(string("a\"b\\c\nd\u{1}é"), r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn microseconds_keep_nanoseconds() {
        assert_eq!(micros(Duration::from_nanos(12_345_067)), "12345.067");
        assert_eq!(micros(Duration::ZERO), "0.000");
    }
}
