#!/usr/bin/env bash
# Builds a stock CPython for the adaptor's test matrix from the upstream
# tarball in Debian's source package (pinned), and prints its python:
#
#   runtimes/cpython/build-interpreter.sh 3.13     # trixie's python3.13 source
#   runtimes/cpython/build-interpreter.sh 3.13t    # the same, --disable-gil
#
# Debian's patches are not applied: they fit CPython to Debian's layout
# (dist-packages, a site.py that looks for a venv's packages under
# lib/python3.13/ even in the free-threaded build, whose venvs use
# lib/python3.13t/, so they get no pip), and users of python.org, pyenv, uv
# and conda run upstream CPython. Steps, each skipped when its result is
# already there: fetch the source package (scripts/debian-source.sh), unpack
# its .orig tarball (scripts/debian-unpack.sh --upstream) into
# target/interpreters/src-VERSION-upstream, configure out of
# tree without PGO/LTO in target/interpreters/build-FLAVOUR, make -j2, make
# install into target/interpreters/FLAVOUR. The tests make virtual
# environments from the installed interpreter; their pip comes from the
# tarball's bundled wheel (ensurepip), so no network is needed for it.
# LAZY_BIND_INTERPRETERS_DIR overrides target/interpreters.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${LAZY_BIND_INTERPRETERS_DIR:-$root/target/interpreters}

case "${1:-}" in
  3.13) flavour=3.13 configure_args=() ;;
  3.13t) flavour=3.13t configure_args=(--disable-gil) ;;
  *) echo "build-interpreter.sh: expected 3.13 or 3.13t, got '${1:-}'" >&2; exit 2 ;;
esac
suite=trixie package=python3.13 version=3.13.5-2+deb13u5 series=3.13
src=$work/src-${version%%-*}-upstream build=$work/build-$flavour prefix=$work/$flavour
python=$prefix/bin/python$series
[ "$flavour" = 3.13t ] && python=${python}t
built_from="$version upstream, no test modules"
log() { echo "build-interpreter $flavour: $*" >&2; }

if [ -x "$python" ] && [ "$(cat "$prefix/.built-from" 2>/dev/null)" = "$built_from" ]; then
  echo "$python"
  exit 0
fi

"$root/scripts/cpython-build-deps.sh"
dsc=$("$root/scripts/debian-source.sh" "$suite" "$package" "$version" "$work/download")

"$root/scripts/debian-unpack.sh" --upstream "$dsc" "$src"

mkdir -p "$build"
log "configuring $build"
# No test modules: CPython's own test suite and its _test* extensions are not
# used here, and installing (and byte-compiling) Lib/test is a large part of
# `make install`.
(cd "$build" && "$src/configure" --quiet --prefix="$prefix" --without-ensurepip \
   --disable-test-modules \
   "${configure_args[@]}" \
   > configure.log 2>&1) || { tail -n 30 "$build/configure.log" >&2; exit 1; }
log "make -j2 in $build"
if ! make -C "$build" -j2 > "$build/make.log" 2>&1; then
  grep -n -B2 -A8 -E 'error|Error' "$build/make.log" | tail -n 60 >&2
  log "make failed; full log: $build/make.log"
  exit 1
fi
log "make install into $prefix"
rm -rf "$prefix"
make -C "$build" install > "$build/install.log" 2>&1 ||
  { tail -n 30 "$build/install.log" >&2; exit 1; }
"$python" -c 'import _ssl, _ctypes, _sqlite3, zlib, lzma, bz2, readline, _decimal' ||
  { log "the installed interpreter lacks a standard extension module"; exit 1; }
printf '%s' "$built_from" > "$prefix/.built-from"
echo "$python"
