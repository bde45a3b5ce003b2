#!/bin/sh
# Installs the lazy_bind C library: include/lazy_bind.h, liblazy_bind.a,
# liblazy_bind.so and lib/pkgconfig/lazy_bind.pc.
#
#   scripts/install.sh [--no-build] [--from DIR] [PREFIX]
#
# PREFIX defaults to /usr/local. Without --no-build it runs
# `cargo build --release --lib` first and installs from target/release;
# --from DIR installs the libraries found in DIR instead (with --no-build,
# for a library that is already built).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=1
from="$root/target/release"
prefix=/usr/local
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --from) shift; from=$1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    *) prefix=$1 ;;
  esac
  shift
done

case "$prefix" in
  /*) ;;
  *) prefix="$(pwd)/$prefix" ;; # the .pc file needs an absolute prefix
esac

if [ "$build" = 1 ]; then
  (cd "$root" && cargo build --release --lib)
fi
for lib in liblazy_bind.a liblazy_bind.so; do
  if [ ! -f "$from/$lib" ]; then
    echo "install.sh: $from/$lib is missing; build it first (cargo build --release --lib)" >&2
    exit 1
  fi
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
# install -C leaves a file that is already identical untouched, so builds
# that depend on the installed files do not redo work for nothing.
install -C -m 644 "$root/include/lazy_bind.h" "$prefix/include/lazy_bind.h"
install -C -m 644 "$from/liblazy_bind.a" "$prefix/lib/liblazy_bind.a"
install -C -m 755 "$from/liblazy_bind.so" "$prefix/lib/liblazy_bind.so"
pc=$(mktemp)
trap 'rm -f "$pc"' EXIT
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" "$root/lazy_bind.pc.in" > "$pc"
install -C -m 644 "$pc" "$prefix/lib/pkgconfig/lazy_bind.pc"
echo "installed lazy_bind $version into $prefix"
