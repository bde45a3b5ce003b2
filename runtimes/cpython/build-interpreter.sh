#!/usr/bin/env bash
# Builds a stock CPython from Debian's source package (pinned, Debian's
# patches applied) for the adaptor's test matrix, and prints its python:
#
#   runtimes/cpython/build-interpreter.sh 3.13     # trixie's python3.13
#   runtimes/cpython/build-interpreter.sh 3.13t    # the same, --disable-gil
#
# Steps, each skipped when its result is already there: fetch the source
# (scripts/debian-source.sh), unpack it with dpkg-source -x into
# target/interpreters/src-VERSION, configure out of tree without PGO/LTO in
# target/interpreters/build-FLAVOUR, make -j2, make install into
# target/interpreters/FLAVOUR. The installed interpreter is what the tests
# make virtual environments from (Debian's ensurepip works inside a venv).
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
src=$work/src-$series build=$work/build-$flavour prefix=$work/$flavour
python=$prefix/bin/python$series
[ "$flavour" = 3.13t ] && python=${python}t
log() { echo "build-interpreter $flavour: $*" >&2; }

if [ -x "$python" ] && [ "$(cat "$prefix/.built-from" 2>/dev/null)" = "$version" ]; then
  echo "$python"
  exit 0
fi

"$root/scripts/cpython-build-deps.sh"
dsc=$("$root/scripts/debian-source.sh" "$suite" "$package" "$version" "$work/download")

if [ ! -f "$src/.unpacked" ]; then
  log "unpacking with dpkg-source -x"
  rm -rf "$src" "$src.tmp"
  # Without Debian's keyring dpkg-source cannot check the signature and says
  # so; apt already checked the files against the signed Sources index.
  dpkg-source -q -x "$dsc" "$src.tmp" > "$work/dpkg-source.log" 2>&1 ||
    { cat "$work/dpkg-source.log" >&2; exit 1; }
  touch "$src.tmp/.unpacked"
  mv "$src.tmp" "$src"
fi

mkdir -p "$build"
log "configuring $build"
(cd "$build" && "$src/configure" --quiet --prefix="$prefix" --without-ensurepip \
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
printf '%s' "$version" > "$prefix/.built-from"
echo "$python"
