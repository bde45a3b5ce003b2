#!/usr/bin/env bash
# Runs the adaptor's suite on the CPython builds of the test matrix besides
# the machine's own python3 (which `cargo test` covers): CPython 3.13 (and,
# when asked, free-threaded 3.13t), built from Debian's source by build-interpreter.sh
# (cached under target/interpreters). For each: the pytest suite and the
# conformance programs against the lazy model (LAZY_BIND_PYTHON=... cargo
# test), then the binary wheel installed and run with no toolchain on PATH
# (check-wheel.sh); the wheel check runs for python3 too.
#
#   runtimes/cpython/run-matrix.sh [3.13|3.13t ...]   # default: 3.13
#
# 3.13t is not in the default yet: it builds, but Debian's site.py patch
# looks for a venv's packages in lib/python3.13/site-packages while the
# free-threaded build installs them into lib/python3.13t/, so its venvs
# have no pip (see runtimes/cpython/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

flavours=("$@")
((${#flavours[@]})) || flavours=(3.13)
"$here/check-wheel.sh" python3 >/dev/null
for flavour in "${flavours[@]}"; do
  python=$("$here/build-interpreter.sh" "$flavour")
  echo "== adaptor on CPython $flavour ($python)"
  LAZY_BIND_PYTHON=$python cargo test --all-features --test cpython_adaptor --test conformance -- cpython
  "$here/check-wheel.sh" "$python" >/dev/null
done
