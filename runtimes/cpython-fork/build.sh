#!/usr/bin/env bash
# Builds CPython 3.11.2 (Debian's source, pinned) with lazy_bind inside: the
# fork whose lazy imports are lazy_bind entries.
#
#   runtimes/cpython-fork/build.sh [--vanilla]
#
# Steps, each skipped when its result is already there and up to date:
#   1. download the Debian source package with scripts/debian-source.sh
#      (adds a deb-src entry for bookworm main to apt if there is none; needs
#      root or sudo, like the build deps);
#   2. unpack it with scripts/debian-unpack.sh (Debian's patches applied) into
#      target/cpython-fork/src-vanilla;
#   3. make target/cpython-fork/src-lazy = src-vanilla + overlay/ (our new
#      files) + runtimes/cpython-common/lazy_bind_cpython.h (the glue shared
#      with the stock adaptor) + cpython.patch (short hooks in CPython's
#      files), copying only files whose content changed so that make stays
#      incremental;
#   4. build lazy_bind's static library and install it with its pkg-config
#      file into target/cpython-fork/lazy_bind;
#   5. configure (no PGO/LTO) out of tree in target/cpython-fork/build-lazy
#      with CPPFLAGS/LIBS from `pkg-config --static lazy_bind`, then make -j2.
# With --vanilla it builds the unpatched source in build-vanilla instead
# (the benchmark's baseline). Prints the path of the built python last.
# LAZY_BIND_FORK_DIR overrides target/cpython-fork.
set -euo pipefail

version=3.11.2-6+deb12u8
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${LAZY_BIND_FORK_DIR:-$root/target/cpython-fork}
flavour=lazy
case "${1:-}" in
  "") ;;
  --vanilla) flavour=vanilla ;;
  *) echo "build.sh: unknown argument $1 (expected --vanilla or nothing)" >&2; exit 2 ;;
esac

log() { echo "cpython-fork: $*" >&2; }

fetch_source() {
  "$root/scripts/debian-source.sh" bookworm python3.11 "$version" "$work/download" >/dev/null
}

unpack_source() {
  "$root/scripts/debian-unpack.sh" "$work/download/python3.11_$version.dsc" "$work/src-vanilla"
}

prepare_lazy_source() {
  local stage=$work/stage
  rm -rf "$stage"
  cp -a "$work/src-vanilla" "$stage"
  if [ -d "$here/overlay" ]; then
    cp -r "$here/overlay/." "$stage/"
  fi
  # The CPython glue shared with the stock adaptor (runtimes/cpython).
  cp "$root/runtimes/cpython-common/lazy_bind_cpython.h" "$stage/Include/internal/"
  if [ -f "$here/cpython.patch" ]; then
    patch -d "$stage" -p1 --batch --forward --no-backup-if-mismatch --quiet \
      < "$here/cpython.patch"
  fi
  python3 "$here/sync_tree.py" "$stage" "$work/src-lazy" >&2
  rm -rf "$stage"
}

install_lazy_bind() {
  "$root/scripts/install-static-lib.sh" "$work/lazy_bind"
}

configure_and_make() {
  local src=$1 build=$2
  shift 2
  local args=("$@")
  mkdir -p "$build"
  local wanted
  wanted=$(printf '%s\n' "$src" "${args[@]}")
  if [ ! -f "$build/Makefile" ] || [ "$(cat "$build/.configure-args" 2>/dev/null)" != "$wanted" ]; then
    log "configuring $build"
    (cd "$build" && "$src/configure" --quiet "${args[@]}" > configure.log 2>&1) ||
      { tail -n 30 "$build/configure.log" >&2; exit 1; }
    printf '%s' "$wanted" > "$build/.configure-args"
  fi
  # Debian's fix for CVE-2026-4224 includes pycore_ceval.h in pyexpat.c,
  # which needs Py_BUILD_CORE_MODULE outside Debian's own build. setup.py
  # reads the module flags from the Makefile itself (through sysconfig), not
  # from make's command line, so the flag goes into the generated Makefile,
  # after make has regenerated that from a changed Makefile.pre.in.
  make -C "$build" Makefile > "$build/make.log" 2>&1 ||
    { tail -n 30 "$build/make.log" >&2; exit 1; }
  if ! grep -q '^MODULE_PYEXPAT_CFLAGS=.*-DPy_BUILD_CORE_MODULE' "$build/Makefile"; then
    sed -i 's|^MODULE_PYEXPAT_CFLAGS=.*|& -DPy_BUILD_CORE_MODULE|' "$build/Makefile"
  fi
  log "make -j2 in $build"
  if ! make -C "$build" -j2 > "$build/make.log" 2>&1; then
    grep -n -B2 -A8 -E 'error|Error' "$build/make.log" | tail -n 60 >&2
    log "make failed; full log: $build/make.log"
    exit 1
  fi
  # setup.py reports extension modules that failed to compile but exits 0.
  if grep -q 'Failed to build these modules' "$build/make.log"; then
    grep -A4 'Failed to build these modules' "$build/make.log" >&2
    log "extension modules failed to build; full log: $build/make.log"
    exit 1
  fi
}

"$root/scripts/cpython-build-deps.sh"
mkdir -p "$work"
fetch_source
unpack_source
if [ "$flavour" = vanilla ]; then
  configure_and_make "$work/src-vanilla" "$work/build-vanilla"
  echo "$work/build-vanilla/python"
else
  prepare_lazy_source
  install_lazy_bind
  pc=$work/lazy_bind/lib/pkgconfig
  cflags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags lazy_bind)
  libs=$(PKG_CONFIG_PATH=$pc pkg-config --libs --static \
    --define-variable=linkname=:liblazy_bind.a lazy_bind)
  configure_and_make "$work/src-lazy" "$work/build-lazy" "CPPFLAGS=$cflags" "LIBS=$libs"
  echo "$work/build-lazy/python"
fi
