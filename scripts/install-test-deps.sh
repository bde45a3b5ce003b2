#!/usr/bin/env bash
# Installs what the test suite needs beyond a Rust toolchain, only where it is
# missing: a C/C++ compiler with ASan/UBSan, valgrind and pkg-config (Debian
# packages), Python 3 with venv, headless Chromium (Debian's chromium package,
# for the CPython adaptor's HTML report test), rustfmt and clippy, and Miri on
# nightly.
set -euo pipefail

missing=()
command -v cc >/dev/null || missing+=(gcc)
command -v c++ >/dev/null || missing+=(g++)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v chromium >/dev/null || missing+=(chromium)
# The CPython adaptor's tests build a C extension in a venv: Python >= 3.11
# with venv, ensurepip and its headers.
if ! python3 - <<'PY' 2>/dev/null; then
import os, sys, sysconfig, venv, ensurepip
assert sys.version_info >= (3, 11)
assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
PY
    missing+=(python3 python3-venv python3-dev)
fi
# The Lua runtime's real program: Debian's lua-penlight (pure Lua) and the
# C module its pl.path needs (lua-filesystem's lfs.so).
dpkg -s lua-penlight >/dev/null 2>&1 || missing+=(lua-penlight)
dpkg -s lua-filesystem >/dev/null 2>&1 || missing+=(lua-filesystem)
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}"
fi

rustup component add rustfmt clippy >/dev/null
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    rustup component add --toolchain nightly miri rust-src
fi
cargo +nightly miri setup >/dev/null
