//! A proptest state-machine test: random sequences of create / resolve
//! (succeeding, failing, re-entering other entries, cycling) / peek / discard,
//! issued by several caller threads, checked after every step against a
//! trivially sequential model of the resolution semantics.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use common::decl;
use lazy_bind::{Counters, Engine, Error, Handle, Peek, ResolveError};
use proptest::prelude::*;

const CALLERS: usize = 3;

/// What an entry's resolver does on attempt `n` (1-based).
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Fails the first `fail_first` attempts, then returns its own value.
    Plain { fail_first: u32 },
    /// Resolves entry `on` (an index into all entries created so far, taken
    /// modulo their number at resolution time) and adds its own value; fails
    /// the first `fail_first` attempts that get that far.
    Dependent { on: usize, fail_first: u32 },
}

#[derive(Clone, Debug)]
enum Op {
    Create(Kind),
    Resolve { entry: usize, caller: usize },
    Peek { entry: usize, caller: usize },
    Discard { entry: usize, caller: usize },
}

/// What the model and the engine are compared on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Value(u64),
    Pending,
    Stale,
    Cycle,
    Failed,
    Done,
}

fn own_value(i: usize) -> u64 {
    i as u64 * 1000 + 7
}

// ---------------------------------------------------------------- the model

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Pending,
    Resolved(u64),
    /// Sticky failure: every access returns this same error kind.
    FailedForGood(Seen),
    Discarded,
}

struct ModelEntry {
    kind: Kind,
    state: State,
    runs: u32,
}

struct Model {
    sticky: bool,
    entries: Vec<ModelEntry>,
    counters: Counters,
}

impl Model {
    fn resolve(&mut self, i: usize, resolving: &mut Vec<usize>) -> Seen {
        match self.entries[i].state {
            State::Discarded => return Seen::Stale,
            State::Resolved(v) => return Seen::Value(v),
            State::FailedForGood(error) => return error,
            State::Pending if resolving.contains(&i) => return Seen::Cycle,
            State::Pending => {}
        }
        self.entries[i].runs += 1;
        let attempt = self.entries[i].runs;
        resolving.push(i);
        let outcome = match self.entries[i].kind {
            Kind::Plain { fail_first } if attempt <= fail_first => Seen::Failed,
            Kind::Plain { .. } => Seen::Value(own_value(i)),
            Kind::Dependent { on, fail_first } => {
                let on = on % self.entries.len();
                match self.resolve(on, resolving) {
                    Seen::Cycle => Seen::Cycle,
                    Seen::Value(_) if attempt <= fail_first => Seen::Failed,
                    Seen::Value(v) => Seen::Value(v + own_value(i)),
                    _ => Seen::Failed,
                }
            }
        };
        resolving.pop();
        match outcome {
            Seen::Value(v) => {
                self.entries[i].state = State::Resolved(v);
                self.counters.resolved += 1;
                self.counters.pending -= 1;
            }
            _ => {
                self.counters.failed += 1;
                if self.sticky {
                    self.entries[i].state = State::FailedForGood(outcome);
                }
            }
        }
        outcome
    }

    fn apply(&mut self, op: &Op) -> Seen {
        match *op {
            Op::Create(kind) => {
                self.entries.push(ModelEntry {
                    kind,
                    state: State::Pending,
                    runs: 0,
                });
                self.counters.deferred += 1;
                self.counters.pending += 1;
                Seen::Done
            }
            Op::Resolve { entry, .. } => self.resolve(entry, &mut Vec::new()),
            Op::Peek { entry, .. } => match self.entries[entry].state {
                State::Pending => Seen::Pending,
                State::Resolved(v) => Seen::Value(v),
                State::FailedForGood(error) => error,
                State::Discarded => Seen::Stale,
            },
            Op::Discard { entry, .. } => {
                let state = &mut self.entries[entry].state;
                match *state {
                    State::Discarded => return Seen::Stale,
                    State::Resolved(_) => {}
                    State::Pending | State::FailedForGood(_) => self.counters.pending -= 1,
                }
                *state = State::Discarded;
                Seen::Done
            }
        }
    }
}

// --------------------------------------------------------------- the engine

struct Real {
    engine: Arc<Engine<u64>>,
    handles: Arc<Mutex<Vec<Handle>>>,
    runs: Vec<Arc<AtomicU32>>,
}

fn classify(result: Result<u64, Error>) -> Seen {
    match result {
        Ok(v) => Seen::Value(v),
        Err(Error::StaleHandle { .. }) => Seen::Stale,
        Err(Error::Cycle { .. }) => Seen::Cycle,
        Err(Error::ResolverFailed { .. }) => Seen::Failed,
        Err(other) => panic!("unexpected error {other}"),
    }
}

impl Real {
    fn create(&mut self, kind: Kind) {
        let index = self.runs.len();
        let runs = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&runs);
        let handles = Arc::clone(&self.handles);
        let handle = self.engine.create(decl("m", index as u32), move |cx| {
            let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let failure = || ResolveError::msg(format!("attempt {attempt} of entry {index}"));
            match kind {
                Kind::Plain { fail_first } if attempt <= fail_first => Err(failure()),
                Kind::Plain { .. } => Ok(own_value(index)),
                Kind::Dependent { on, fail_first } => {
                    let other = {
                        let handles = handles.lock().unwrap();
                        handles[on % handles.len()]
                    };
                    let v = *cx.engine().resolve(other)?;
                    if attempt <= fail_first {
                        Err(failure())
                    } else {
                        Ok(v + own_value(index))
                    }
                }
            }
        });
        self.handles.lock().unwrap().push(handle);
        self.runs.push(runs);
    }

    fn handle(&self, entry: usize) -> Handle {
        self.handles.lock().unwrap()[entry]
    }
}

fn run(sticky: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut model = Model {
        sticky,
        entries: Vec::new(),
        counters: Counters::default(),
    };
    let mut real = Real {
        engine: Arc::new(Engine::builder().sticky_failures(sticky).build()),
        handles: Arc::default(),
        runs: Vec::new(),
    };
    // One thread per caller; each step runs on its caller's thread.
    type Job = Box<dyn FnOnce() -> Seen + Send>;
    let (workers, replies): (Vec<mpsc::Sender<Job>>, Vec<mpsc::Receiver<Seen>>) = (0..CALLERS)
        .map(|_| {
            let (job_tx, job_rx) = mpsc::channel::<Job>();
            let (reply_tx, reply_rx) = mpsc::channel();
            thread::spawn(move || {
                for job in job_rx {
                    if reply_tx.send(job()).is_err() {
                        break;
                    }
                }
            });
            (job_tx, reply_rx)
        })
        .unzip();

    for (step, op) in ops.iter().enumerate() {
        // Entry indices are drawn before knowing how many exist: map them.
        let op = match op.clone() {
            Op::Create(kind) => Op::Create(kind),
            _ if model.entries.is_empty() => continue,
            Op::Resolve { entry, caller } => Op::Resolve {
                entry: entry % model.entries.len(),
                caller,
            },
            Op::Peek { entry, caller } => Op::Peek {
                entry: entry % model.entries.len(),
                caller,
            },
            Op::Discard { entry, caller } => Op::Discard {
                entry: entry % model.entries.len(),
                caller,
            },
        };
        let expected = model.apply(&op);
        let seen = match op {
            Op::Create(kind) => {
                real.create(kind);
                Seen::Done
            }
            Op::Resolve { entry, caller }
            | Op::Peek { entry, caller }
            | Op::Discard { entry, caller } => {
                let (engine, handle) = (Arc::clone(&real.engine), real.handle(entry));
                let job: Job = match op {
                    Op::Resolve { .. } => {
                        Box::new(move || classify(engine.resolve(handle).copied()))
                    }
                    Op::Peek { .. } => Box::new(move || match engine.peek(handle) {
                        Ok(Peek::Pending) => Seen::Pending,
                        Ok(Peek::Resolved(v)) => Seen::Value(*v),
                        Ok(Peek::Failed(error)) => classify(Err(error)),
                        Ok(Peek::Resolving { .. }) => panic!("nothing resolves between steps"),
                        Err(error) => classify(Err(error)),
                    }),
                    _ => Box::new(move || match engine.discard(handle) {
                        Ok(()) => Seen::Done,
                        Err(error) => classify(Err(error)),
                    }),
                };
                workers[caller].send(job).unwrap();
                replies[caller].recv().unwrap()
            }
        };
        prop_assert_eq!(seen, expected, "step {} ({:?})", step, op);
        prop_assert_eq!(
            real.engine.counters(),
            model.counters,
            "counters after step {}",
            step
        );
        for (i, runs) in real.runs.iter().enumerate() {
            prop_assert_eq!(
                runs.load(Ordering::SeqCst),
                model.entries[i].runs,
                "runs of entry {}",
                i
            );
        }
    }
    Ok(())
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        (0..3u32).prop_map(|fail_first| Kind::Plain { fail_first }),
        (0..8usize, 0..2u32).prop_map(|(on, fail_first)| Kind::Dependent { on, fail_first }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let entry = 0..8usize;
    let caller = 0..CALLERS;
    prop_oneof![
        2 => kind().prop_map(Op::Create),
        4 => (entry.clone(), caller.clone()).prop_map(|(entry, caller)| Op::Resolve { entry, caller }),
        1 => (entry.clone(), caller.clone()).prop_map(|(entry, caller)| Op::Peek { entry, caller }),
        1 => (entry, caller).prop_map(|(entry, caller)| Op::Discard { entry, caller }),
    ]
}

proptest! {
    // Under Miri: few cases, and no failure file (Miri isolates the file system).
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 10_000 },
        failure_persistence: if cfg!(miri) { None } else { ProptestConfig::default().failure_persistence },
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_matches_the_sequential_model(
        sticky in any::<bool>(),
        ops in prop::collection::vec(op(), 1..if cfg!(miri) { 12 } else { 24 }),
    ) {
        run(sticky, ops)?;
    }
}
