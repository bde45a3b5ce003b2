#!/usr/bin/env bash
# Builds lazy_bind's static library and installs it, with its header and
# pkg-config file, into DEST, for a runtime that links it:
#
#   scripts/install-static-lib.sh DEST
#
# The library is built in target/cpython-adaptor (release), the directory
# and profile the CPython adaptor's setup.py uses, so in the test command
# it is built once for the adaptor, the CPython fork and Lua.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: scripts/install-static-lib.sh DEST" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
target=$root/target/cpython-adaptor
echo "building lazy_bind's static library" >&2
(cd "$root" && CARGO_TARGET_DIR=$target cargo build --release --lib --quiet)
"$root/scripts/install.sh" --no-build --from "$target/release" "$1" >&2
