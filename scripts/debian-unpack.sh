#!/usr/bin/env bash
# Unpacks a Debian source package into a directory, once:
#
#   scripts/debian-unpack.sh DSC DIR              # dpkg-source -x: Debian's patches applied
#   scripts/debian-unpack.sh --upstream DSC DIR   # only its .orig tarball: upstream's source
#
# Does nothing when DIR holds a finished unpacking (its .unpacked marker);
# otherwise unpacks into DIR.tmp and renames it, so an interrupted run never
# leaves a half-unpacked DIR behind. The CPython fork and the Lua runtime
# unpack their sources (fetched by scripts/debian-source.sh) through it, the
# adaptor's CPython 3.13 builds with --upstream.
set -euo pipefail

upstream=false
if [ "${1:-}" = --upstream ]; then
  upstream=true
  shift
fi
if [ $# -ne 2 ]; then
  echo "usage: scripts/debian-unpack.sh [--upstream] DSC DIR" >&2
  exit 2
fi
dsc=$1 dir=$2
[ -f "$dir/.unpacked" ] && exit 0
[ -f "$dsc" ] || { echo "debian-unpack: no such file: $dsc" >&2; exit 1; }

rm -rf "$dir" "$dir.tmp"
mkdir -p "$(dirname "$dir")"
if $upstream; then
  # The .dsc lists its files; the upstream tarball is the *.orig.tar.* one.
  orig=$(awk '/^Files:/ { f = 1; next } /^[^ ]/ { f = 0 } f && $3 ~ /\.orig\.tar\.[a-z0-9]+$/ { print $3; exit }' "$dsc")
  [ -n "$orig" ] || { echo "debian-unpack: $dsc lists no .orig tarball" >&2; exit 1; }
  echo "debian-unpack: unpacking $orig (upstream, no Debian patches)" >&2
  mkdir -p "$dir.tmp"
  tar -xf "$(dirname "$dsc")/$orig" -C "$dir.tmp" --strip-components=1
else
  echo "debian-unpack: unpacking $(basename "$dsc") with dpkg-source -x" >&2
  log=$dir.dpkg-source.log
  # Without Debian's keyring dpkg-source cannot check the signature and says
  # so; apt already checked the files against the signed Sources index.
  dpkg-source -q -x "$dsc" "$dir.tmp" > "$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
touch "$dir.tmp/.unpacked"
mv "$dir.tmp" "$dir"
