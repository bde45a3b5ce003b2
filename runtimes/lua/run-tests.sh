#!/usr/bin/env bash
# Builds the Lua runtime (runtimes/lua/build.sh, incremental) and runs its
# tests: the semantic tests in Lua (each in a fresh process, under a
# timeout), the environment variables (LUA_LAZY, LAZY_BIND_POLICY,
# LUA_LAZY_REPORT, LUA_LAZY_TRACE), a C module, and penlight eager vs lazy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
lua=$("$here/build.sh" | tail -n 1)
tests=$here/tests
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0
fail() { echo "FAIL: $*" >&2; failed=$((failed + 1)); }
run() { # run NAME ENV... -- ARGS: one test process under a 60 s timeout
  local name=$1; shift
  if ! (cd "$tests" && env LUA_PATH="$tests/?.lua;;" "$@"); then fail "$name"; fi
}

# C modules for test_cmodule.lua, against the headers of the source built.
cc -shared -fPIC -O2 -Wall -Werror -I"$root/target/lua/src-vanilla/src" \
  "$tests/cmod/lazyc.c" -o "$scratch/lazyc.so"
cp "$scratch/lazyc.so" "$scratch/lazyc_nosym.so"

for t in "$tests"/test_*.lua; do
  run "${t##*/}" LUA_LAZY=all LAZYC_DIR="$scratch" timeout 60 "$lua" "${t##*/}"
done

expect() { # expect NAME PATTERN FILE: FILE contains PATTERN (fixed string)
  if grep -qF -- "$2" "$3"; then echo "ok $1"; else fail "$1: no '$2' in:"; cat "$3" >&2; fi
}

# LUA_LAZY must be a mode; LAZY_BIND_POLICY is parsed strictly (line, column).
if LUA_LAZY=sometimes timeout 10 "$lua" -e 'print(1)' > "$scratch/out" 2>&1; then
  fail "LUA_LAZY=sometimes accepted"
fi
expect "LUA_LAZY rejects an unknown mode" "LUA_LAZY=sometimes: expected all, normal or none" "$scratch/out"
if LAZY_BIND_POLICY='mode all; eager-target' timeout 10 "$lua" -e 'print(1)' > "$scratch/out" 2>&1; then
  fail "a bad LAZY_BIND_POLICY accepted"
fi
expect "LAZY_BIND_POLICY syntax error" "bad LAZY_BIND_POLICY" "$scratch/out"
expect "LAZY_BIND_POLICY syntax error names the line" "line 1" "$scratch/out"
printf 'mode all\neager-target helper\n' > "$scratch/policy"
LAZY_BIND_POLICY="@$scratch/policy" timeout 10 "$lua" -e '
  print(package.lazy.mode(), select(2, package.lazy.explain("helper")), select(2, package.lazy.explain("other")))' \
  > "$scratch/out" 2>&1 || fail "policy file"
expect "a policy file sets the mode" "all" "$scratch/out"
expect "a policy file's rule, explained" "eager-target helper" "$scratch/out"
LUA_LAZY=none LAZY_BIND_POLICY='mode all' timeout 10 "$lua" -e 'print(package.lazy.mode())' \
  > "$scratch/out" 2>&1 || fail "LUA_LAZY over the policy"
expect "LUA_LAZY overrides the policy's mode" "none" "$scratch/out"
timeout 10 "$lua" -e 'print(package.lazy.mode())' > "$scratch/out" 2>&1 || fail "default mode"
expect "the default mode is normal" "normal" "$scratch/out"

# The report at exit (also after os.exit without closing the state).
for how in close exit; do
  LUA_LAZY=all LUA_LAZY_REPORT=1 timeout 10 "$lua" "$tests/report_prog.lua" $how \
    > "$scratch/out" 2> "$scratch/err" || fail "report ($how)"
  expect "report ($how): program output" "value	1" "$scratch/out"
  expect "report ($how): importtime header" "import time: self [us] | cumulative | imported package" "$scratch/err"
  expect "report ($how): the used module" "rep_used" "$scratch/err"
  expect "report ($how): never-used count" "lazy entries never resolved: 2" "$scratch/err"
  expect "report ($how): never used, with its site" "rep_unused1 (declared at $tests/report_prog.lua:7)" "$scratch/err"
done
LUA_LAZY=all timeout 10 "$lua" "$tests/report_prog.lua" > "$scratch/out" 2> "$scratch/err" || fail "no report"
if [ -s "$scratch/err" ]; then fail "output on stderr without LUA_LAZY_REPORT"; cat "$scratch/err" >&2; fi

# The Chrome trace.
LUA_LAZY=all LUA_LAZY_TRACE="$scratch/trace.json" timeout 10 "$lua" "$tests/report_prog.lua" \
  > /dev/null 2>&1 || fail "trace"
if python3 - "$scratch/trace.json" <<'PY'; then echo "ok LUA_LAZY_TRACE writes a Chrome trace"; else fail "trace contents"; fi
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
names = [e.get("name", "") for e in events]
assert any("rep_used" in n for n in names), names
assert any(e.get("ph") in ("X", "B") for e in events), events
PY

# Penlight (Debian's lua-penlight), eager vs lazy: same output, fewer
# modules lazily; 3 timed rounds (benches/lua_startup.py --runs 30 for the
# README's numbers).
python3 "$root/benches/lua_startup.py" --smoke || fail "penlight eager vs lazy"

# lua_resolved_access, short (the README's numbers use the defaults).
LUA_LAZY=all timeout 120 "$lua" "$root/benches/lua/resolved_access.lua" 2000000 3 \
  || fail "lua_resolved_access"

# The conformance kit: 200 flat programs as Lua modules, eager and lazy,
# and under stock Lua eagerly, against the reference model. The variables
# make the tests fail, not skip, if an interpreter is missing.
stock=$("$here/build.sh" --vanilla | tail -n 1)
(cd "$root" && LAZY_BIND_LUA="$lua" LAZY_BIND_STOCK_LUA="$stock" \
  timeout 1200 cargo test --all-features --test conformance lua) || fail "conformance (Lua)"

if ((failed)); then
  echo "lua: $failed failure(s)" >&2
  exit 1
fi
echo "lua: all tests passed"
