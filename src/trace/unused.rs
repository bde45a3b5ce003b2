//! The entries nobody used: what deferring them saved.

use crate::{Engine, EntryInfo, EntryState};

/// The engine's live entries that have never been resolved (pending, or
/// failed for good with sticky failures), in table order, with their
/// declarations. Entries being resolved right now are not included.
///
/// Each of them is work that laziness saved, as long as nothing resolves it
/// later. Works whether or not a recorder is attached.
pub fn never_resolved<V>(engine: &Engine<V>) -> Vec<EntryInfo> {
    engine
        .snapshot()
        .into_iter()
        .filter(|entry| matches!(entry.state, EntryState::Pending | EntryState::Failed))
        .collect()
}
