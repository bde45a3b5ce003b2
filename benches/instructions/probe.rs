//! Instruction-count probe for `scripts/bench-instructions.sh`: runs one
//! case `N` times (`instructions CASE N`); the script counts the whole
//! process's instructions under callgrind at `N` and `2N`, so the setup
//! cancels out, and subtracts the `empty` loop.
//!
//! Each case mirrors its criterion benchmark (`benches/engine.rs`,
//! `benches/policy.rs`): the cached `Entry` and the cell's address stay in
//! registers across the loop, the handle and each query go through
//! `black_box` on every iteration, and every result is consumed through
//! `black_box`, so no load or call can be hoisted or dropped.

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::OnceLock;

use lazy_bind::policy::{ActivePolicy, Policy};
use lazy_bind::{Declaration, Engine, Site};

/// The value of a resolved access, or an abort (never taken): the same
/// consumption in every case.
#[inline(always)]
fn consume<T>(value: Option<&T>) {
    match value {
        Some(value) => {
            black_box(value);
        }
        None => std::process::abort(),
    }
}

/// A resolved entry of a fresh engine.
fn resolved_engine() -> (Engine<u64>, lazy_bind::Handle) {
    let engine = Engine::new();
    let handle = engine.create(Declaration::new("json", Site::new("bench.py", 1)), |_| {
        Ok(42)
    });
    engine.resolve(handle).expect("the resolver succeeds");
    (engine, handle)
}

#[path = "../policy_workload.rs"]
mod policy_workload;

use policy_workload::{queries, rules_10000, RULES_10};

/// Decides every query `n` times (8 decisions per iteration).
fn decide_all(policy: &str, n: u64) {
    let policy = ActivePolicy::new(Policy::parse(policy).expect("the bench policy parses"));
    let queries = queries();
    for _ in 0..n {
        for query in &queries {
            black_box(policy.decide(black_box(query)));
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(case), Some(Ok(n))) = (args.get(1), args.get(2).map(|n| n.parse::<u64>())) else {
        eprintln!("usage: instructions CASE N (CASE: empty, oncelock, entry, handle, get, policy_empty, policy_10, policy_10000)");
        return ExitCode::FAILURE;
    };
    match case.as_str() {
        "empty" => {
            let value = 42u64;
            for _ in 0..n {
                consume(Some(&value));
            }
        }
        "oncelock" => {
            let cell = OnceLock::new();
            cell.get_or_init(|| 42u64);
            let cell = black_box(&cell);
            for _ in 0..n {
                consume(cell.get());
            }
        }
        "entry" => {
            let (engine, handle) = resolved_engine();
            let entry = black_box(engine.entry(handle).expect("the handle is live"));
            for _ in 0..n {
                consume(entry.resolve().ok());
            }
        }
        "handle" => {
            let (engine, handle) = resolved_engine();
            for _ in 0..n {
                consume(engine.resolve(black_box(handle)).ok());
            }
        }
        "get" => {
            let (engine, handle) = resolved_engine();
            for _ in 0..n {
                consume(engine.get(black_box(handle)));
            }
        }
        "policy_empty" => {
            let queries = queries();
            for _ in 0..n {
                for query in &queries {
                    black_box(black_box(query));
                }
            }
        }
        "policy_10" => decide_all(RULES_10, n),
        "policy_10000" => decide_all(&rules_10000(), n),
        other => {
            eprintln!("unknown case {other:?}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
