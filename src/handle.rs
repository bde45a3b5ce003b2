//! Handles: the small `Copy` values a runtime stores in place of a value.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A reference to one entry of an [`Engine`](crate::Engine).
///
/// A handle is an index into the engine's table plus a stamp. Stamps come from
/// one process-wide counter, so a handle is never valid for two entries: a
/// handle whose entry was discarded (stale) or that came from another engine
/// (foreign) is reported as [`Error::StaleHandle`](crate::Error::StaleHandle).
///
/// The layout is `#[repr(C)]` and part of the stable C ABI.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle {
    /// Process-wide unique stamp of the entry; never `0` for a live handle.
    pub stamp: u64,
    /// Index of the entry's slot in its engine's table.
    pub index: u32,
}

impl Handle {
    /// A handle that never refers to any entry.
    ///
    /// cbindgen:ignore
    pub const NULL: Handle = Handle { stamp: 0, index: 0 };
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle(#{}@{})", self.index, self.stamp)
    }
}

/// Returns a stamp that no entry in this process has had before.
pub(crate) fn next_stamp() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // Relaxed: the counter only has to hand out distinct numbers; the stamp is
    // published to other threads together with the slot, under its lock.
    let stamp = NEXT.fetch_add(1, Ordering::Relaxed);
    // Slots keep two flag bits above the stamp; 2^62 stamps is centuries of
    // creations at any plausible rate.
    assert!(stamp < 1 << 62, "lazy_bind stamp counter exhausted");
    stamp
}
