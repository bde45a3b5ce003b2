#!/usr/bin/env bash
# The lazy_bind demo: builds and installs the CPython adaptor (which links the
# crate through include/lazy_bind.h) into a venv under target/, then runs a
# program that imports much and uses little, first eagerly and then under
# `python -m lazy_bind --report`: what was deferred, what forced each
# resolution, what was never used, and the CPU time saved.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/demo-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q setuptools wheel
"$venv/bin/pip" install -q --no-build-isolation ./runtimes/cpython

echo "== eager: python runtimes/cpython/demo/app.py"
"$venv/bin/python" runtimes/cpython/demo/app.py
echo
echo "== lazy: python -m lazy_bind --report runtimes/cpython/demo/app.py"
"$venv/bin/python" -m lazy_bind --report runtimes/cpython/demo/app.py
