#!/usr/bin/env bash
# Builds Lua 5.4.4 (Debian's source package lua5.4, pinned) with lazy_bind
# inside: `require` defers modules through include/lazy_bind.h and
# liblazy_bind.a only.
#
#   runtimes/lua/build.sh [--vanilla]
#
# Steps, each skipped when its result is already there and up to date:
#   1. download the Debian source package with scripts/debian-source.sh
#      (adds a deb-src entry for bookworm main to apt if there is none);
#   2. unpack it with scripts/debian-unpack.sh (Debian's patches applied) into
#      target/lua/src-vanilla;
#   3. make target/lua/src-lazy = src-vanilla/src + overlay/ (lazy_lua.c)
#      + loadlib.patch (the short hooks in loadlib.c), copying only files
#      whose content changed so that make stays incremental;
#   4. build lazy_bind's static library and install it with its pkg-config
#      file into target/lua/lazy_bind;
#   5. compile with Makefile.build (make -j1) into target/lua/build-lazy,
#      with the flags of `pkg-config --static lazy_bind`.
# With --vanilla it builds the unpatched source in build-vanilla instead
# (the eager baseline of the benchmarks). Prints the path of the built lua
# last. LAZY_BIND_LUA_DIR overrides target/lua.
set -euo pipefail

version=5.4.4-3+deb12u1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${LAZY_BIND_LUA_DIR:-$root/target/lua}
flavour=lazy
case "${1:-}" in
  "") ;;
  --vanilla) flavour=vanilla ;;
  *) echo "build.sh: unknown argument $1 (expected --vanilla or nothing)" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
log() { echo "lua: $*" >&2; }

install_build_deps() {
  local missing=() pkg
  # lua-penlight: the real program of the tests and benchmarks; its pl.path
  # needs lua-filesystem (a C module, lfs.so).
  for pkg in dpkg-dev gcc make pkg-config patch lua-penlight lua-filesystem; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

fetch_source() {
  "$root/scripts/debian-source.sh" bookworm lua5.4 "$version" "$work/download" >/dev/null
}

unpack_source() {
  "$root/scripts/debian-unpack.sh" "$work/download/lua5.4_$version.dsc" "$work/src-vanilla"
  # Debian's build generates this header (luaconf.h includes it).
  local header=$work/src-vanilla/src/lua5.4-deb-multiarch.h multiarch
  [ -f "$header" ] && return
  multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
  printf '#define DEB_HOST_MULTIARCH "%s"\n' "$multiarch" > "$header"
}

# Copies files of $1 over $2 where they differ, removing files $1 lacks.
sync_tree() {
  local from=$1 to=$2 f
  mkdir -p "$to"
  for f in "$from"/*; do
    cmp -s "$f" "$to/${f##*/}" || cp "$f" "$to/"
  done
  for f in "$to"/*; do
    [ -e "$from/${f##*/}" ] || rm -f "$f"
  done
}

prepare_lazy_source() {
  local stage=$work/stage
  rm -rf "$stage"
  cp -a "$work/src-vanilla/src" "$stage"
  cp "$here"/overlay/* "$stage/"
  patch -d "$stage" -p2 --batch --forward --no-backup-if-mismatch --quiet \
    < "$here/loadlib.patch"
  sync_tree "$stage" "$work/src-lazy"
  rm -rf "$stage"
}

install_lazy_bind() {
  "$root/scripts/install-static-lib.sh" "$work/lazy_bind"
}

build() {
  local src=$1 out=$2 cflags=$3 libs=$4
  mkdir -p "$out"
  log "make -j1 in $out"
  if ! make -C "$out" -j1 -s -f "$here/Makefile.build" SRC="$src" \
      LAZY_CFLAGS="$cflags" LAZY_LIBS="$libs" > "$out/make.log" 2>&1; then
    tail -n 40 "$out/make.log" >&2
    log "make failed; full log: $out/make.log"
    exit 1
  fi
}

install_build_deps
mkdir -p "$work"
fetch_source
unpack_source
if [ "$flavour" = vanilla ]; then
  build "$work/src-vanilla/src" "$work/build-vanilla" "" ""
  echo "$work/build-vanilla/lua"
else
  prepare_lazy_source
  install_lazy_bind
  pc=$work/lazy_bind/lib/pkgconfig
  cflags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags lazy_bind)
  libs=$(PKG_CONFIG_PATH=$pc pkg-config --libs --static \
    --define-variable=linkname=:liblazy_bind.a lazy_bind)
  # Every new line of ours compiles without a warning.
  build "$work/src-lazy" "$work/build-lazy" "$cflags" "$libs"
  echo "$work/build-lazy/lua"
fi
