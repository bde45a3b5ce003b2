//! A text report in the shape of CPython's `-X importtime`.

use std::collections::HashMap;
use std::fmt::Write;
use std::time::Duration;

use super::{Event, EventKind, ResolveOutcome};
use crate::{EntryInfo, ThreadKey};

/// Formats the resolutions in `events` like CPython's `-X importtime`
/// output, then lists `never_resolved` (see
/// [`never_resolved`](super::never_resolved)).
///
/// The first line is `import time: self [us] | cumulative | imported
/// package`. Then one line per finished resolution, in the order they
/// finished (a resolution forced by another one's resolver comes before it,
/// as CPython lists a module's imports before the module), with the name
/// indented by two spaces per nesting level:
///
/// ```text
/// import time:       250 |        400 |   b (lazy, declared at a.py:2, forced at a.py:7)
/// ```
///
/// `cumulative` is the resolution's duration; `self` is that minus the
/// cumulative time of the resolutions it forced on the same thread. Every
/// line is marked `lazy`, with the declaration site, the access site that
/// forced it when known, and the outcome when it was not `resolved`. Lines
/// of different threads are interleaved in completion order.
///
/// Then a section of the never-resolved entries with their declaration
/// sites:
///
/// ```text
/// lazy entries never resolved: 1
///   csv (declared at main.py:2)
/// ```
pub fn importtime_report(events: &[Event], never_resolved: &[EntryInfo]) -> String {
    let mut out = String::from("import time: self [us] | cumulative | imported package\n");
    // Per thread, per nesting depth: cumulative time of the finished
    // resolutions whose parent has not finished yet.
    let mut children: HashMap<ThreadKey, Vec<Duration>> = HashMap::new();
    for event in events {
        let EventKind::ResolveEnd {
            declaration,
            access,
            depth,
            duration,
            outcome,
            ..
        } = &event.kind
        else {
            continue;
        };
        let depth = *depth as usize;
        let sums = children.entry(event.thread).or_default();
        sums.resize(sums.len().max(depth + 2), Duration::ZERO);
        let nested: Duration = sums[depth + 1..].iter().sum();
        sums.truncate(depth + 1);
        sums[depth] += *duration;
        let self_time = duration.saturating_sub(nested);
        let indent = depth * 2;
        let _ = write!(
            out,
            "import time: {:>9} | {:>10} | {:indent$}{} (lazy, ",
            self_time.as_micros(),
            duration.as_micros(),
            "",
            declaration.name(),
        );
        if *outcome != ResolveOutcome::Resolved {
            let _ = write!(out, "{}, ", outcome.as_str());
        }
        let _ = write!(out, "declared at {}", declaration.site());
        if let Some(access) = access {
            let _ = write!(out, ", forced at {access}");
        }
        out.push_str(")\n");
    }
    let _ = writeln!(out, "lazy entries never resolved: {}", never_resolved.len());
    for entry in never_resolved {
        let _ = writeln!(
            out,
            "  {} (declared at {})",
            entry.declaration.name(),
            entry.declaration.site()
        );
    }
    out
}
