#!/usr/bin/env bash
# Writes cpython.patch from an edited source tree: the way to change the
# fork's hooks in CPython's own files.
#
#   runtimes/cpython-fork/make-patch.sh [TREE]
#
# Edit CPython's files in TREE (default target/cpython-fork/src-lazy, the
# tree build.sh assembles), then run this: every file of TREE that differs
# from the unpacked Debian source (target/cpython-fork/src-vanilla) becomes a
# hunk with one line of context, except the overlay's own files and
# __pycache__. Files only in TREE are ignored (new files belong in
# overlay/). build.sh then applies the patch to a fresh copy; nothing else
# changes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=${LAZY_BIND_FORK_DIR:-$here/../../target/cpython-fork}
vanilla=$work/src-vanilla
tree=${1:-$work/src-lazy}
[ -d "$vanilla" ] || { echo "make-patch.sh: $vanilla is missing; run build.sh first" >&2; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
changed=0
while IFS= read -r file; do
  [ -e "$here/overlay/$file" ] && continue
  diff -U1 --label "a/$file" --label "b/$file" "$vanilla/$file" "$tree/$file" >> "$out" || true
  changed=$((changed + 1))
done < <(diff -rq -x __pycache__ "$vanilla" "$tree" | sed -n "s|^Files $vanilla/\(.*\) and $tree/.* differ$|\1|p" | sort)
mv "$out" "$here/cpython.patch"
trap - EXIT
echo "make-patch.sh: cpython.patch covers $changed files"
