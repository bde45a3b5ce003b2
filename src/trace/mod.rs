//! Tracing and reports: the life of every deferral, and what it cost.
//!
//! Attach a [`Recorder`] to an engine and it records each deferral,
//! resolution start and end (thread, duration, declaration site, the access
//! that forced it), failure, cycle and deadlock, plus the decisions an import
//! policy reports. Recording is off unless a recorder is attached; a resolved
//! access never looks at it either way.
//!
//! From the events and the engine's table, three reports:
//! - [`never_resolved`]: the entries nobody used (what laziness saved);
//! - [`importtime_report`]: text in the shape of CPython's `-X importtime`;
//! - [`chrome_trace_json`] / [`write_chrome_trace`]: a Chrome trace-event
//!   file that Perfetto and `chrome://tracing` open, one track per thread.
//!
//! ```
//! use std::sync::Arc;
//! use lazy_bind::trace::{importtime_report, never_resolved, Recorder};
//! use lazy_bind::{Declaration, Engine, Site};
//!
//! let recorder = Arc::new(Recorder::new(10_000));
//! let engine: Engine<u32> = Engine::builder().recorder(Arc::clone(&recorder)).build();
//! let used = engine.create(Declaration::new("json", Site::new("main.py", 1)), |_| Ok(1));
//! engine.create(Declaration::new("csv", Site::new("main.py", 2)), |_| Ok(2));
//! engine.resolve_at(used, &Site::new("main.py", 9)).unwrap();
//!
//! let report = importtime_report(&recorder.events(), &never_resolved(&engine));
//! assert!(report.contains("json (lazy, declared at main.py:1, forced at main.py:9)"));
//! assert!(report.contains("csv (declared at main.py:2)"));
//! ```

mod chrome;
mod event;
mod importtime;
mod recorder;
mod unused;

use std::sync::Arc;
use std::time::Duration;

pub use chrome::{chrome_trace_json, write_chrome_trace};
pub use event::{Event, EventKind, ResolveOutcome};
pub use importtime::importtime_report;
pub use recorder::Recorder;
pub use unused::never_resolved;

use crate::{stack, Declaration, Error, Site};

/// One resolution being recorded, from the engine's point of view: started
/// when the resolver is about to run, ended with the attempt's result.
/// Without a recorder it does nothing.
pub(crate) struct Span(Option<OpenSpan>);

struct OpenSpan {
    recorder: Arc<Recorder>,
    span: u64,
    started: Duration,
    depth: u32,
    declaration: Arc<Declaration>,
    access: Option<Site>,
}

impl Span {
    /// Records the start of a resolution of `declaration` on this thread.
    /// Call before the resolution is pushed on the thread's stack.
    pub(crate) fn start(
        recorder: Option<Arc<Recorder>>,
        declaration: &Arc<Declaration>,
        access: Option<&Site>,
    ) -> Span {
        Span(recorder.map(|recorder| {
            let depth = u32::try_from(stack::depth()).unwrap_or(u32::MAX);
            let span = recorder.next_span();
            let started = recorder.now();
            recorder.record_at(
                started,
                EventKind::ResolveStart {
                    span,
                    declaration: Arc::clone(declaration),
                    access: access.cloned(),
                    depth,
                    parent: stack::innermost(),
                },
            );
            OpenSpan {
                recorder,
                span,
                started,
                depth,
                declaration: Arc::clone(declaration),
                access: access.cloned(),
            }
        }))
    }

    /// Records the end of the resolution (preceded by a failure event if the
    /// resolver failed or panicked), and passes `result` through.
    pub(crate) fn end<T>(self, result: Result<T, Error>) -> Result<T, Error> {
        let Some(open) = self.0 else {
            return result;
        };
        let outcome = match &result {
            Ok(_) => ResolveOutcome::Resolved,
            Err(Error::ResolverPanicked { .. }) => ResolveOutcome::Panicked,
            Err(Error::Discarded { .. }) => ResolveOutcome::Discarded,
            Err(_) => ResolveOutcome::Failed,
        };
        if let (Err(error), ResolveOutcome::Failed | ResolveOutcome::Panicked) = (&result, outcome)
        {
            open.recorder.record(EventKind::Failure {
                declaration: Arc::clone(&open.declaration),
                access: open.access.clone(),
                message: error.to_string(),
            });
        }
        let at = open.recorder.now();
        open.recorder.record_at(
            at,
            EventKind::ResolveEnd {
                span: open.span,
                declaration: open.declaration,
                access: open.access,
                depth: open.depth,
                duration: at.saturating_sub(open.started),
                outcome,
            },
        );
        result
    }
}

/// Records a cycle or deadlock error produced by the engine; other errors
/// are recorded by [`Span::end`].
pub(crate) fn record_error(recorder: Option<&Recorder>, error: &Error) {
    let Some(recorder) = recorder else {
        return;
    };
    let kind = match error {
        Error::Cycle { chain, access } => EventKind::Cycle {
            chain: chain.clone(),
            access: access.clone(),
        },
        Error::Deadlock { chain, access } => EventKind::Deadlock {
            chain: chain.clone(),
            access: access.clone(),
        },
        _ => return,
    };
    recorder.record(kind);
}
