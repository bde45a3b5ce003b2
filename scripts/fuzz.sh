#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 60), from
# the seed corpus committed in fuzz/corpus/<target>/. New inputs go to
# fuzz/target/corpus/<target>/ (not committed); a crash stops the script
# with the failing input in fuzz/artifacts/<target>/ (turn it into a
# regression test under tests/). Installs cargo-fuzz if it is missing.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi

cd fuzz
cargo +nightly fuzz build
for target in $(cargo +nightly fuzz list); do
  work="target/corpus/$target"
  mkdir -p "$work"
  log="target/fuzz-$target.log"
  echo "== fuzz $target (${seconds}s)"
  if ! cargo +nightly fuzz run "$target" "$work" "corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz $target: FAILED (full log: fuzz/$log; inputs in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  echo "fuzz $target: ok, ${runs:-?} runs, ${coverage:-cov: ?}, no crash"
done
