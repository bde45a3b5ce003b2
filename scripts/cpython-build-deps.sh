#!/usr/bin/env bash
# Installs, where missing, the Debian packages that building CPython from
# Debian's source needs (no PGO/LTO, the stdlib's extension modules but
# tkinter and gdbm). Used by the CPython fork's build and by the adaptor's
# interpreter builds (runtimes/cpython/build-interpreter.sh). Needs root or
# sudo when something is missing.
set -euo pipefail

missing=()
for pkg in dpkg-dev gcc make pkg-config patch libssl-dev zlib1g-dev libffi-dev \
    libbz2-dev liblzma-dev libsqlite3-dev libreadline-dev libncurses-dev uuid-dev \
    libexpat1-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "cpython-build-deps: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
