//! Small process-unique numbers for threads.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

/// A number that names one thread for the life of the process.
///
/// Unlike `std::thread::ThreadId` it converts to an integer, so the C ABI and
/// trace files can carry it. Keys are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadKey(NonZeroU64);

impl ThreadKey {
    /// The key of the calling thread.
    pub fn current() -> ThreadKey {
        thread_local! {
            static KEY: ThreadKey = ThreadKey::fresh();
        }
        KEY.with(|key| *key)
    }

    /// The key as an integer (never `0`).
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }

    /// The key whose integer is `key` (as `as_u64` gave it), or `None` for 0.
    pub(crate) fn from_u64(key: u64) -> Option<ThreadKey> {
        NonZeroU64::new(key).map(ThreadKey)
    }

    fn fresh() -> ThreadKey {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Relaxed: keys only need to be distinct.
        let key = NEXT.fetch_add(1, Ordering::Relaxed);
        ThreadKey(NonZeroU64::new(key).expect("thread key counter overflowed"))
    }
}

impl fmt::Display for ThreadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread {}", self.0)
    }
}
