#!/usr/bin/env bash
# Builds the adaptor's binary wheel for one interpreter and proves it works
# where there is no Rust toolchain and no C compiler:
#
#   runtimes/cpython/check-wheel.sh PYTHON
#
# 1. `pip wheel ./runtimes/cpython` in a build venv (setuptools and wheel
#    from the package registry; the build runs cargo and the C compiler and
#    links liblazy_bind.a into lazy_bind._native) into target/wheels/;
# 2. a fresh venv with nothing but pip, where `pip install --no-index` of
#    that wheel runs with a PATH that holds no cargo, rustc, cc or gcc (so
#    pip could not build anything even if it tried);
# 3. with that same PATH: `python -m lazy_bind --version`, and the demo
#    program eagerly and lazily, whose results must agree and whose lazy run
#    must report imports it deferred and never resolved.
# Prints the wheel's path last.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: runtimes/cpython/check-wheel.sh PYTHON" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=$1
tag=$("$python" -c 'import sys, sysconfig
print(sys.implementation.cache_tag + (sysconfig.get_config_var("ABIFLAGS") or ""))')
work=$root/target/wheels/$tag
log() { echo "check-wheel $tag: $*" >&2; }

rm -rf "$work"
mkdir -p "$work"
log "building the wheel"
"$python" -m venv "$work/build-venv"
"$work/build-venv/bin/python" -m pip install -q setuptools wheel
LAZY_BIND_REPO=$root "$work/build-venv/bin/python" -m pip wheel -q --no-deps \
  --no-build-isolation -w "$work/dist" "$root/runtimes/cpython"
wheel=$(ls "$work"/dist/lazy_bind-*.whl)

# A PATH with only what the checks below run: no toolchain in it.
bare=$work/bare-path
mkdir -p "$bare"
for tool in env head; do
  ln -s "$(command -v "$tool")" "$bare/$tool"
done
"$python" -m venv "$work/venv"
venv_python=$work/venv/bin/python
run_bare() { env -i HOME="$HOME" PATH="$work/venv/bin:$bare" "$@"; }

log "installing $(basename "$wheel") with no toolchain on PATH"
run_bare "$venv_python" -c 'import shutil, sys
found = [t for t in ("cargo", "rustc", "cc", "gcc", "c++") if shutil.which(t)]
sys.exit(f"toolchain still on PATH: {found}" if found else 0)'
run_bare "$venv_python" -m pip install -q --no-index --no-deps "$wheel"

log "running the demo from the installed wheel"
run_bare "$venv_python" -m lazy_bind --version >&2
cd "$work"
# Its first line is its result; the second, CPU time and pid, differs.
eager=$(run_bare "$venv_python" "$here/demo/app.py" | head -n 1)
lazy=$(run_bare "$venv_python" -m lazy_bind --report "$here/demo/app.py" 2> "$work/report.txt" |
  head -n 1)
if [ -z "$eager" ] || [ "$eager" != "$lazy" ]; then
  log "the demo's output differs eagerly and lazily"
  diff <(echo "$eager") <(echo "$lazy") >&2 || true
  exit 1
fi
grep -q "lazy entries never resolved: [1-9]" "$work/report.txt" ||
  { cat "$work/report.txt" >&2; log "the lazy run reported no deferred imports"; exit 1; }
# The installed extension is the wheel's, not a build tree's.
run_bare "$venv_python" -c 'import lazy_bind._native as n, sys
sys.exit(0 if n.__file__.startswith(sys.prefix) else f"imported from {n.__file__}")'
echo "$wheel"
