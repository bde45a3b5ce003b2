#!/usr/bin/env bash
# Runs the adaptor's suite on the CPython builds of the test matrix besides
# the machine's own python3 (which `cargo test` covers): CPython 3.13 and
# free-threaded 3.13t, built from the upstream source in Debian's package by
# build-interpreter.sh (cached under target/interpreters). For each: the pytest suite and the
# conformance programs against the lazy model (LAZY_BIND_PYTHON=... cargo
# test), then the binary wheel installed and run with no toolchain on PATH
# (check-wheel.sh); the wheel check runs for python3 too.
#
#   runtimes/cpython/run-matrix.sh [3.13|3.13t ...]   # default: both
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

flavours=("$@")
((${#flavours[@]})) || flavours=(3.13 3.13t)
"$here/check-wheel.sh" python3 >/dev/null
for flavour in "${flavours[@]}"; do
  python=$("$here/build-interpreter.sh" "$flavour")
  echo "== adaptor on CPython $flavour ($python)"
  LAZY_BIND_PYTHON=$python cargo test --all-features --test cpython_adaptor --test conformance -- cpython
  "$here/check-wheel.sh" "$python" >/dev/null
done
