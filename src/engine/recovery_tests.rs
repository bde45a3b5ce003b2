//! A panic at any point between marking an entry `Resolving` and publishing
//! its result (injected with [`fault`](super::fault)) must leave the entry
//! recoverable: a thread waiting on the attempt gets an error instead of
//! hanging, and the next access resolves the entry instead of reporting a
//! false cycle.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::fault::{self, Point};
use super::{Engine, Peek};
use crate::trace::Recorder;
use crate::{Declaration, Error, Hooks, Site};

/// Long enough for any healthy wait; a wait that outlives it counts as hung.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Hooks that report each thread about to block.
struct ReportBlocking(Mutex<mpsc::Sender<()>>);

impl Hooks for ReportBlocking {
    fn before_block(&self) {
        let _ = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(());
    }
}

/// Panics at `point` while a second thread waits on the attempt, then checks
/// that the waiter got an error and the entry resolves on the next access.
/// Returns how many times the resolver ran.
fn panic_at(point: Point) -> usize {
    let (blocked_tx, blocked_rx) = mpsc::channel();
    let engine = Arc::new(
        Engine::<u32>::builder()
            .hooks(Arc::new(ReportBlocking(Mutex::new(blocked_tx))))
            .recorder(Arc::new(Recorder::new(64)))
            .build(),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let handle = engine.create(Declaration::new("m", Site::new("m.py", 1)), move |_| {
        // Relaxed: read after the resolving threads are done.
        counted.fetch_add(1, Ordering::Relaxed);
        Ok(7)
    });

    let (waited_tx, waited_rx) = mpsc::channel();
    let waiter_engine = Arc::clone(&engine);
    fault::arm(point, move || {
        thread::spawn(move || {
            let _ = waited_tx.send(waiter_engine.resolve(handle).copied());
        });
        blocked_rx
            .recv_timeout(TIMEOUT)
            .expect("the second thread blocks on this attempt");
        panic!("injected at {point:?}");
    });
    let owner = panic::catch_unwind(AssertUnwindSafe(|| engine.resolve(handle).copied()));
    assert!(owner.is_err(), "the injected panic reaches the caller");

    let waited = waited_rx
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("after a panic at {point:?} the waiter still hangs"));
    assert!(
        matches!(&waited, Err(Error::ResolverPanicked { declaration, .. }) if declaration.name() == "m"),
        "after a panic at {point:?} the waiter got {waited:?}"
    );
    assert!(
        matches!(engine.peek(handle), Ok(Peek::Pending)),
        "after a panic at {point:?} the entry is pending again"
    );
    let again = engine.resolve(handle).copied();
    assert!(
        matches!(again, Ok(7)),
        "after a panic at {point:?} the next access got {again:?}"
    );
    // Relaxed: both resolving threads are done.
    calls.load(Ordering::Relaxed)
}

#[test]
fn a_panic_after_the_entry_is_marked_resolving_is_recovered() {
    assert_eq!(panic_at(Point::Marked), 1, "the resolver ran only on retry");
}

#[test]
fn a_panic_after_the_span_started_is_recovered() {
    assert_eq!(
        panic_at(Point::SpanStarted),
        1,
        "the resolver ran only on retry"
    );
}

#[test]
fn a_panic_after_the_stack_push_is_recovered() {
    assert_eq!(
        panic_at(Point::FramePushed),
        1,
        "the resolver ran only on retry"
    );
}

#[test]
fn a_panic_after_the_resolver_returned_is_recovered() {
    assert_eq!(
        panic_at(Point::ResolverReturned),
        2,
        "the first value was lost"
    );
}

#[test]
fn a_panic_after_the_stack_pop_is_recovered() {
    assert_eq!(panic_at(Point::FramePopped), 2, "the first value was lost");
}
