#!/usr/bin/env bash
# Unpacks a Debian source package with `dpkg-source -x` (Debian's patches
# applied) into a directory, once:
#
#   scripts/debian-unpack.sh DSC DIR
#
# Does nothing when DIR holds a finished unpacking (its .unpacked marker);
# otherwise unpacks into DIR.tmp and renames it, so an interrupted run never
# leaves a half-unpacked DIR behind. The CPython fork and the Lua runtime
# unpack their sources (fetched by scripts/debian-source.sh) through it.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: scripts/debian-unpack.sh DSC DIR" >&2
  exit 2
fi
dsc=$1 dir=$2
[ -f "$dir/.unpacked" ] && exit 0
[ -f "$dsc" ] || { echo "debian-unpack: no such file: $dsc" >&2; exit 1; }

echo "debian-unpack: unpacking $(basename "$dsc") with dpkg-source -x" >&2
rm -rf "$dir" "$dir.tmp"
mkdir -p "$(dirname "$dir")"
log=$dir.dpkg-source.log
# Without Debian's keyring dpkg-source cannot check the signature and says
# so; apt already checked the files against the signed Sources index.
dpkg-source -q -x "$dsc" "$dir.tmp" > "$log" 2>&1 || { cat "$log" >&2; exit 1; }
touch "$dir.tmp/.unpacked"
mv "$dir.tmp" "$dir"
