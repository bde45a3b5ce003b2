//! What a [`Recorder`](super::Recorder) records: one [`Event`] per step in the
//! life of a deferral.

use std::sync::Arc;
use std::time::Duration;

use crate::{Chain, Declaration, Site, ThreadKey};

/// One recorded event: when, on which thread, and what happened.
#[derive(Clone, Debug)]
pub struct Event {
    /// When it happened, as time since the recorder was created.
    pub at: Duration,
    /// The thread it happened on.
    pub thread: ThreadKey,
    /// What happened.
    pub kind: EventKind,
}

/// What happened, with the entry's declaration and the access site where the
/// engine knows them.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum EventKind {
    /// A pending entry was created: a binding was deferred.
    Deferred {
        /// What the entry stands for and where it was declared.
        declaration: Arc<Declaration>,
    },
    /// This thread started running an entry's resolver.
    ResolveStart {
        /// Names this resolution; the matching [`EventKind::ResolveEnd`]
        /// carries the same number. Unique per recorder.
        span: u64,
        /// The entry being resolved.
        declaration: Arc<Declaration>,
        /// The access that forced the resolution, if the runtime gave it.
        access: Option<Site>,
        /// How many resolutions were already in progress on this thread
        /// (`0` for a resolution forced by ordinary code, `1` for one forced
        /// by a resolver, ...).
        depth: u32,
        /// The resolution in progress on this thread that forced this one.
        parent: Option<Arc<Declaration>>,
    },
    /// This thread's resolver run ended.
    ResolveEnd {
        /// The number of the matching [`EventKind::ResolveStart`].
        span: u64,
        /// The entry that was resolved.
        declaration: Arc<Declaration>,
        /// The access that forced the resolution, if the runtime gave it.
        access: Option<Site>,
        /// As in the matching [`EventKind::ResolveStart`].
        depth: u32,
        /// How long the resolution took (its start is `at - duration`).
        duration: Duration,
        /// How it ended.
        outcome: ResolveOutcome,
    },
    /// A resolution attempt failed; recorded just before its
    /// [`EventKind::ResolveEnd`].
    Failure {
        /// The entry whose resolution failed.
        declaration: Arc<Declaration>,
        /// The access that forced the resolution, if the runtime gave it.
        access: Option<Site>,
        /// The error's message, as [`Error`](crate::Error) displays it.
        message: String,
    },
    /// An access on this thread needed an entry this thread is resolving.
    Cycle {
        /// From the first resolution of the entry to its re-entry.
        chain: Chain,
        /// The re-entering access, if the runtime gave it.
        access: Option<Site>,
    },
    /// A wait on this thread would never have ended.
    Deadlock {
        /// The waits, from this thread's to the one leading back to it.
        chain: Chain,
        /// The access that would have blocked, if the runtime gave it.
        access: Option<Site>,
    },
    /// An import policy decided whether an import is deferred, recorded with
    /// [`Recorder::record_policy_decision`](super::Recorder::record_policy_decision).
    PolicyDecision {
        /// The module whose code runs the import.
        importer: String,
        /// The module being imported.
        target: String,
        /// What was decided (for example `lazy` or `eager`).
        decision: String,
        /// The rule that decided it.
        reason: String,
    },
}

/// How a resolution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveOutcome {
    /// The entry now holds its value.
    Resolved,
    /// The resolver returned an error (or passed up a cycle or deadlock).
    Failed,
    /// The resolver panicked.
    Panicked,
    /// The entry was discarded while it was being resolved.
    Discarded,
}

impl ResolveOutcome {
    /// A lower-case word for reports: `resolved`, `failed`, `panicked` or
    /// `discarded`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResolveOutcome::Resolved => "resolved",
            ResolveOutcome::Failed => "failed",
            ResolveOutcome::Panicked => "panicked",
            ResolveOutcome::Discarded => "discarded",
        }
    }
}
