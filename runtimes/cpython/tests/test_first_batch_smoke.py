"""Time-to-first-batch smoke test, run on every interpreter of the matrix:
a script that imports a dozen standard-library packages at module level and
uses one gives the same output eagerly and lazily, and the lazy run loads
fewer modules. The start-up times of both runs are printed (pytest -s), not
asserted: benches/cpython_ttfb.py measures them on real packages."""

import json

SCRIPT = """
import sys, time
started = time.perf_counter()
import argparse
import asyncio
import email.mime.multipart
import http.server
import json
import logging.handlers
import unittest
import xml.dom.minidom
import zipfile
import tarfile
import decimal
import statistics
first_batch = json.dumps({"mean": str(statistics.mean([1, 2, 4]))})
elapsed = time.perf_counter() - started
print(first_batch)
print("MODULES", len(sys.modules), "MS", round(elapsed * 1000, 2), file=sys.stderr)
"""


def measure(result):
    fields = result.stderr.split("MODULES", 1)[1].split()
    return int(fields[0]), float(fields[2])


def test_a_first_batch_needs_fewer_modules_and_the_output_is_unchanged(run, run_plain):
    eager = run_plain(SCRIPT)
    lazy = run(SCRIPT)
    assert json.loads(eager.stdout) == {"mean": "2.3333333333333335"}
    assert lazy.stdout == eager.stdout
    eager_modules, eager_ms = measure(eager)
    lazy_modules, lazy_ms = measure(lazy)
    assert lazy_modules < eager_modules, (lazy_modules, eager_modules)
    print(f"first batch: eager {eager_modules} modules {eager_ms} ms, "
          f"lazy {lazy_modules} modules {lazy_ms} ms")
