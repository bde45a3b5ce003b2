#!/usr/bin/env python3
"""Bisects the compatibility cases whose opt-outs were found by hand, and
prints what ``python -m lazy_bind bisect`` finds next to them.

    python3 benches/bisect_compat.py [--case NAME ...] [--out DIR]

The cases are the lazy-only failures of CPython's regression suite whose
``remedy`` in ``benches/compat_expectations.toml`` is an opt-out rule, and
pytest's import-hook rules of ``lazy_bind::policy::BUILTIN_RULES`` (with
hypothesis' rule, since the smoke suite uses hypothesis), rediscovered on
the fork with the built-in rules off (``PYTHON_LAZY_IMPORTS_DEFAULTS=0``).
Each runs ``bisect`` from the adaptor's venv (``target/tmp/cpython-venv``,
made by ``cargo test --test cpython_adaptor``), with ``--python`` the
adaptor's interpreter or the fork (``target/cpython-fork/build-lazy/python``,
made by ``runtimes/cpython-fork/build.sh``); the fork's pytest case needs
``target/cpython-fork/site-pytest`` (made by
``runtimes/cpython-fork/run-tests.sh``). The policies go to ``--out``
(default ``target/bisect-compat``). Not part of the test command: the
cases take from seconds to a few minutes each on two shared cores.

The exit status is 1 if a case ends without a verified policy.
"""

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADAPTOR = os.path.join(ROOT, "target", "tmp", "cpython-venv", "bin", "python")
FORK = os.path.join(ROOT, "target", "cpython-fork", "build-lazy", "python")
SMOKE = os.path.join(ROOT, "runtimes", "cpython-common", "tests", "pytest_smoke")
SITE = os.path.join(ROOT, "target", "cpython-fork", "site-pytest")

# name: (interpreter, program, environment, options, the rules found by hand)
CASES = {
    "adaptor-test_heapq": (ADAPTOR, ["-m", "test", "test_heapq"], {}, [],
                           ["eager-target heapq"]),
    "adaptor-test_pkg": (ADAPTOR, ["-m", "test", "test_pkg"], {}, [], ["eager-importer t5"]),
    "fork-test_json": (FORK, ["-m", "test", "test_json"], {}, [], ["eager-importer json.*"]),
    "fork-test_zoneinfo": (FORK, ["-m", "test", "test_zoneinfo"], {}, [],
                           ["eager-importer zoneinfo.*"]),
    "fork-test_clinic": (FORK, ["-m", "test", "test_clinic"], {}, [],
                         ["eager-importer clinic"]),
    "fork-pytest": (FORK, ["-m", "pytest", "-q", "-p", "no:cacheprovider"],
                    {"PYTHONPATH": SITE, "PYTHON_LAZY_IMPORTS_DEFAULTS": "0"}, [],
                    ["eager-importer hypothesis.*", "eager-importer _pytest.assertion.rewrite",
                     "eager-importer _pytest.pathlib"]),
    "fork-pytest-fewest-rules": (FORK, ["-m", "pytest", "-q", "-p", "no:cacheprovider"],
                                 {"PYTHONPATH": SITE, "PYTHON_LAZY_IMPORTS_DEFAULTS": "0"},
                                 ["--fewest-rules"],
                                 ["eager-importer hypothesis.*",
                                  "eager-importer _pytest.assertion.rewrite",
                                  "eager-importer _pytest.pathlib"]),
}


def run_case(name, out):
    """Bisects case ``name``; returns (exit status, rules found, seconds)."""
    python, program, extra, options, _ = CASES[name]
    policy = os.path.join(out, f"{name}.policy")
    env = dict(os.environ, **extra)
    cwd = SMOKE if "pytest" in name else out
    started = time.monotonic()
    result = subprocess.run([ADAPTOR, "-m", "lazy_bind", "bisect", "--python", python, *options,
                             "--out", policy, "--", *program],
                            cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.monotonic() - started
    found = []
    if os.path.exists(policy):
        with open(policy, encoding="utf-8") as file:
            found = [line.strip() for line in file if line.strip() and not line.startswith("#")]
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
    return result.returncode, found, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES),
                        help="run only this case (repeatable)")
    parser.add_argument("--out", default=os.path.join(ROOT, "target", "bisect-compat"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    failed = False
    for name in args.case or CASES:
        status, found, seconds = run_case(name, args.out)
        failed |= status != 0
        print(f"{name}: exit {status}, {seconds:.0f} s")
        print(f"  by hand: {'; '.join(CASES[name][4])}")
        print(f"  bisect:  {'; '.join(found) or '-'}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
