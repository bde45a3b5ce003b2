#!/usr/bin/env bash
# Runs every test of lazy_bind: formatting, lints, the Rust, C, C++ and
# CPython adaptor tests (all driven by `cargo test`), the instruction-count
# ceilings, the fuzz targets (20 s each; `scripts/fuzz.sh 600` for a long
# run), the adaptor on CPython 3.13 and 3.13t (built from source), the
# CPython fork's tests (it builds the fork), the Lua runtime, real programs under both runtimes (CPython's
# regression suite and PyPI projects' suites eager vs lazy, a Jupyter
# kernel, a PyTorch training entry point), then Miri on the engine's unsafe
# core. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's start prints the time since the run began, so a slow step shows
# in CI's log (the budget is 45 minutes from scratch).
started=$SECONDS
step() { echo "== [$((SECONDS - started)) s] $*"; }

step "install test dependencies"
scripts/install-test-deps.sh

# Jobs that run beside the steps (stopped, with every process they started,
# if the run ends early). `background LOG CMD...` starts one and sets $job;
# `finish PID LOG` waits for it and fails the run, showing its log, if it
# failed.
jobs_started=()
kill_tree() {
  local child
  for child in $(pgrep -P "$1"); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
stop_background() {
  local pid
  for pid in "${jobs_started[@]}"; do kill_tree "$pid"; done
}
trap stop_background EXIT
background() {
  local log=$1
  shift
  "$@" > "$log" 2>&1 &
  job=$!
  jobs_started+=("$job")
}
finish() {
  local status=0 pid left=()
  wait "$1" || status=$?
  # A reaped pid may be reused: stop_background must not see it again.
  for pid in "${jobs_started[@]}"; do [ "$pid" = "$1" ] || left+=("$pid"); done
  jobs_started=("${left[@]}")
  if [ "$status" -ne 0 ]; then
    cat "$2" >&2
    echo "background job failed (status $status); log: $2" >&2
    exit 1
  fi
}

# The ML smoke test's packages (about 6 GB from the registry) install in the
# background while the steps up to it build and test: the download needs the
# network and the disk, those steps the CPUs. A whole run uses about 12 GB
# under target/, 6 of them these packages: with less than 16 GB free at the
# start the ML smoke test is skipped.
mkdir -p target
free_gb=$(df -Pk target | awk 'NR == 2 { print int($4 / 1048576) }')
ml_install=""
if [ "$free_gb" -ge 16 ]; then
  step "ML smoke test's packages: installing in the background (log: target/ml-install.log)"
  background target/ml-install.log python3 benches/ml_ttfb.py --install-site
  ml_install=$job
fi

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --all-targets --all-features -- -D warnings
step "cargo test"
cargo test --workspace --all-features
# The instruction counts and the fuzzers mostly keep one core busy: CPython
# 3.13 and 3.13t build beside them (niced), for the adaptor's matrix below.
step "CPython 3.13 and 3.13t: building in the background (log: target/interpreters-build.log)"
background target/interpreters-build.log nice -n 10 sh -c \
  'runtimes/cpython/build-interpreter.sh 3.13 && runtimes/cpython/build-interpreter.sh 3.13t'
interpreters=$job
step "instruction counts (callgrind; deterministic, so checked)"
scripts/bench-instructions.sh --check
step "fuzz (cargo-fuzz, AddressSanitizer; 20 s per target)"
scripts/fuzz.sh 20
step "CPython adaptor on CPython 3.13 and free-threaded 3.13t and its wheels without a toolchain"
finish "$interpreters" target/interpreters-build.log
runtimes/cpython/run-matrix.sh
step "CPython fork (builds CPython 3.11.2 with lazy_bind; incremental)"
runtimes/cpython-fork/run-tests.sh
step "Lua 5.4 runtime (builds Lua 5.4.4 from Debian's source with lazy_bind; semantic tests, penlight eager vs lazy, benchmark smoke, conformance)"
runtimes/lua/run-tests.sh
step "real programs: CPython's regression suite, eager vs lazy (benches/compat.py, CI subsets)"
python3 benches/compat.py fork --subset ci --fail-stale
python3 benches/compat.py adaptor --subset ci --fail-stale
step "real programs: PyPI projects' pytest + hypothesis suites, eager vs lazy (benches/compat_pypi.py)"
python3 benches/compat_pypi.py fork --fail-stale
python3 benches/compat_pypi.py adaptor --fail-stale
step "real programs: a Jupyter kernel (benches/kernel_startup.py --smoke)"
python3 benches/kernel_startup.py --smoke
step "real programs: a PyTorch + transformers training entry point (benches/ml_ttfb.py --smoke)"
if [ -n "$ml_install" ]; then
  finish "$ml_install" target/ml-install.log
  python3 benches/ml_ttfb.py --smoke
else
  echo "SKIPPED: only ${free_gb} GB free under target/ at the start, the ML smoke test needs 16" >&2
fi
step "cargo miri test (engine core; scaled down with cfg!(miri))"
# Not under Miri: the C/C++ and CPython tests (other processes and foreign
# code), the fork test (Miri cannot fork), the native tests (dlopen), the
# header check, the allocation-counting memory test, and the safe-code
# policy, import and trace tests. Of the
# concurrency tests only the concurrent first-touch test runs here (about a
# minute); the whole file takes over ten minutes under Miri:
#   cargo +nightly miri test --test engine_concurrency
cargo +nightly miri test --lib --test engine_basics --test engine_model
cargo +nightly miri test --test engine_concurrency -- resolver_runs_once_per_entry
step "done"
