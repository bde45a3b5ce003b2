//! After `fork()`, entries that a vanished thread was resolving become
//! pending again in the child. Not run under Miri, which cannot fork.
#![cfg(all(unix, not(miri)))]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{decl, within};
use lazy_bind::{Engine, ForkReport, Peek};

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
}

#[test]
fn a_forked_child_resets_entries_owned_by_vanished_threads() {
    within(Duration::from_secs(20), || {
        let parent = std::process::id();
        let engine: Arc<Engine<u32>> = Arc::new(Engine::new());
        let resolving = Arc::new(Barrier::new(2));
        let release = Arc::new(AtomicBool::new(false));
        let (gate, stop) = (Arc::clone(&resolving), Arc::clone(&release));
        let h = engine.create(decl("torch", 1), move |_| {
            if std::process::id() != parent {
                return Ok(2); // the child's own attempt
            }
            gate.wait();
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(1));
            }
            Ok(1)
        });
        let owner = {
            let engine = Arc::clone(&engine);
            thread::spawn(move || *engine.resolve(h).unwrap())
        };
        resolving.wait(); // the other thread now owns the attempt
        assert!(matches!(engine.peek(h).unwrap(), Peek::Resolving { .. }));

        // SAFETY: the child only calls async-signal-tolerant engine code on
        // its single thread and leaves with `_exit`.
        let pid = unsafe { fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: we are the only thread of the freshly forked child.
            let report = unsafe { engine.after_fork_child() };
            let expected = ForkReport {
                reset: 1,
                lost: 0,
                allocation_lost: false,
            };
            let ok = report == expected && matches!(engine.resolve(h), Ok(2));
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { _exit(if ok { 0 } else { 1 }) }
        }
        let mut status = 0;
        // SAFETY: waits for the child we just forked.
        let waited = unsafe { waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid);
        assert_eq!(status, 0, "child failed (wait status {status})");

        release.store(true, Ordering::SeqCst);
        assert_eq!(owner.join().unwrap(), 1, "the parent is unaffected");
    });
}
