//! Fault injection for tests: runs a test's action (usually a panic) at a
//! chosen point of the resolution slow path, to show that a panic there
//! leaves the entry recoverable. Outside `cfg(test)` every [`hit`] is an
//! empty inline function: release builds pay nothing.

/// A point between marking an entry `Resolving` and publishing its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Point {
    /// The entry was just marked `Resolving`; the span is not started yet.
    Marked,
    /// The trace span started; the resolution is not on the stack yet.
    SpanStarted,
    /// The resolution is on this thread's stack; the resolver has not run.
    FramePushed,
    /// The resolver returned; the resolution is still on the stack.
    ResolverReturned,
    /// The resolution left the stack; the result is not published yet.
    FramePopped,
}

#[cfg(test)]
pub(crate) use armed::{arm, hit};

#[cfg(not(test))]
/// Does nothing outside tests.
#[inline(always)]
pub(crate) fn hit(_point: Point) {}

#[cfg(test)]
mod armed {
    use std::cell::RefCell;

    use super::Point;

    type Action = Box<dyn FnOnce()>;

    thread_local! {
        static ARMED: RefCell<Option<(Point, Action)>> = const { RefCell::new(None) };
    }

    /// Runs `action` the next time this thread reaches `point` (once).
    pub(crate) fn arm(point: Point, action: impl FnOnce() + 'static) {
        ARMED.with(|armed| *armed.borrow_mut() = Some((point, Box::new(action))));
    }

    /// Runs the action armed for `point` on this thread, if any.
    pub(crate) fn hit(point: Point) {
        let action = ARMED.with(|armed| {
            let mut armed = armed.borrow_mut();
            match &*armed {
                Some((armed_point, _)) if *armed_point == point => armed.take(),
                _ => None,
            }
        });
        if let Some((_, action)) = action {
            action();
        }
    }
}
