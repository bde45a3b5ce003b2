#!/usr/bin/env bash
# Builds the CPython fork (incrementally, through build.sh) and runs its
# tests:
#   1. the fork's semantic tests (tests/test_lazy_*.py, unittest);
#   2. pytest with hypothesis on a small suite, in mode all
#      (../cpython-common/tests/pytest_smoke/, which the adaptor runs too);
#   3. the stdlib sweep: every standard-library module that imports eagerly
#      imports and works lazily in mode all (stdlib_sweep.py);
#   4. CPython's own import-related regression tests with lazy imports off
#      (PYTHON_LAZY_IMPORTS=none), two worker processes;
#   5. the tools (python -m lazy_bind bisect/check/report --python FORK),
#      run by the stock adaptor's venv that `cargo test --test
#      cpython_adaptor` makes (target/tmp/cpython-venv; test-all.sh runs
#      cargo test first).
# Part of scripts/test-all.sh (the README's test command).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
python=$("$here/build.sh" | tail -n 1)

# CPython's tests expect neither of these (test_embed, test_sys, ...).
unset PYTHONUNBUFFERED PYTHONDONTWRITEBYTECODE

echo "== CPython fork: semantic tests"
(cd "$here/tests" && "$python" -m unittest)

echo "== CPython fork: pytest with hypothesis (mode all, default policy)"
# Pure-Python packages, installed once with stock python3's pip into the
# fork's work directory and put on its path.
smoke=$here/../cpython-common/tests/pytest_smoke
site=${LAZY_BIND_FORK_DIR:-$here/../../target/cpython-fork}/site-pytest
if [ ! -f "$site/.ready" ] || ! cmp -s "$smoke/requirements.txt" "$site/.ready"; then
  rm -rf "$site"
  python3 -m pip install --quiet --disable-pip-version-check --target "$site" \
    -r "$smoke/requirements.txt"
  cp "$smoke/requirements.txt" "$site/.ready"
fi
(cd "$smoke" &&
  PYTHONPATH="$site" timeout 300 "$python" -X lazy_imports=all -m pytest -q -p no:cacheprovider)

echo "== CPython fork: stdlib sweep (mode all)"
"$python" "$here/stdlib_sweep.py" -j 2

echo "== CPython fork: CPython's regression tests, lazy imports off"
PYTHON_LAZY_IMPORTS=none "$python" -m test -j2 --timeout 600 \
  test_import test_importlib test_pkg test_pkgutil test_runpy test_zipimport \
  test_module test_opcache test_scope test_builtin test_sys test_threading \
  test_dict test_dis test_embed test_traceback test_exceptions \
  test_zipimport_support test_modulefinder

echo "== CPython fork: the tools (bisect, check, report) driving the fork"
root=$(cd "$here/../.." && pwd)
adaptor=$root/target/tmp/cpython-venv/bin/python
if ! "$adaptor" -c "import lazy_bind._bisect" 2>/dev/null; then
  echo "run-tests.sh: no adaptor venv with the tools at $adaptor;" \
    "run cargo test --test cpython_adaptor first" >&2
  exit 1
fi
(cd "$root/runtimes/cpython" &&
  LAZY_BIND_FORK_PYTHON="$python" timeout 600 "$adaptor" -m pytest -q -p no:cacheprovider \
    tests/test_fork_tools.py)
