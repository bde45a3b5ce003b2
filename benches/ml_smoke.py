#!/usr/bin/env python3
"""A PyTorch + transformers training entry point under both runtimes.

Usage (from the repository root):

    python3 benches/ml_smoke.py [--runs N] [--no-install] [--only NAME ...]

Runs benches/ml_train.py (torch, transformers and the usual companions of a
training script; one batch's forward, backward and optimiser step) with
DataLoader `num_workers` 0 and 2 (Linux's default start method, fork) in
four configurations, rounds interleaved:

* stock eager: `venv/python ml_train.py`
* adaptor:     `venv/python -m lazy_bind ml_train.py`
* fork eager:  `fork/python -X lazy_imports=none ml_train.py`
* fork lazy:   `fork/python -X lazy_imports=all ml_train.py`

The default policy only: no LAZY_BIND_POLICY or PYTHON_LAZY_IMPORTS reaches
a run. A run passes if it exits 0 within its timeout, prints no traceback,
and its first-batch loss and gradient norm are exactly stock eager's. It
prints the median wall time and CPU time (the whole process tree: the
DataLoader workers too) of each; exit status 1 if any run fails.

Set-up, done by the script unless --no-install: `target/ml/site`, the pinned
packages of benches/ml-requirements.txt installed by stock python3's
`pip install --target` (about 6 GB; skipped when the file is unchanged since
the last install) and put on PYTHONPATH for both interpreters (both are
CPython 3.11, so the same wheels serve both); `target/ml/venv`, a venv of
stock python3 with the adaptor (`pip install --no-build-isolation
./runtimes/cpython`). The fork is runtimes/cpython-fork/build.sh's build,
which this script does not start.
"""

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "benches" / "ml_train.py"
REQUIREMENTS = REPO / "benches" / "ml-requirements.txt"
SITE = REPO / "target" / "ml" / "site"
SITE_STAMP = SITE / ".requirements-sha256"
VENV = REPO / "target" / "ml" / "venv"
VENV_PYTHON = VENV / "bin" / "python"
FORK_PYTHON = REPO / "target" / "cpython-fork" / "build-lazy" / "python"

RUN_TIMEOUT = 300.0  # seconds per run
WORKERS = (0, 2)
# Variables that would change a run's policy or where it finds packages.
POLICY_VARIABLES = ("LAZY_BIND_POLICY", "LAZY_BIND_SUBPROCESS", "LAZY_BIND_SUBPROCESS_TRACE",
                    "PYTHON_LAZY_IMPORTS", "PYTHON_LAZY_IMPORTS_DEFAULTS", "PYTHONPATH")


def configurations():
    """(name, argv prefix) of each configuration."""
    return [
        ("stock eager", [str(VENV_PYTHON)]),
        ("adaptor", [str(VENV_PYTHON), "-m", "lazy_bind"]),
        ("fork eager", [str(FORK_PYTHON), "-X", "lazy_imports=none"]),
        ("fork lazy", [str(FORK_PYTHON), "-X", "lazy_imports=all"]),
    ]


def requirements_digest():
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def install():
    digest = requirements_digest()
    if not SITE_STAMP.exists() or SITE_STAMP.read_text().strip() != digest:
        # --no-warn-conflicts: pip would compare the target with whatever
        # the stock interpreter's own site-packages hold, which is not used.
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--upgrade",
                        "--no-warn-conflicts", "--root-user-action=ignore",
                        "--target", str(SITE), "-r", str(REQUIREMENTS)], check=True)
        SITE_STAMP.write_text(digest + "\n")
    if not VENV_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["setuptools", "wheel"], check=True)
    subprocess.run(pip + ["--no-build-isolation", str(REPO / "runtimes" / "cpython")],
                   check=True)


class Failure(Exception):
    """A run failed; the message says how."""


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv, workers, env, workdir):
    """One training run; returns (wall seconds, CPU seconds, its result)."""
    command = argv + [str(TRAIN), "--num-workers", str(workers)]
    cpu0, t0 = children_cpu(), time.perf_counter()
    try:
        done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure(f"no exit within {RUN_TIMEOUT:.0f} s") from None
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    if done.returncode != 0 or "Traceback" in done.stderr:
        raise Failure(f"exit status {done.returncode}\n{done.stderr.strip()}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise Failure(f"no result line in its output:\n{done.stdout}")
    result = json.loads(lines[-1])
    result.pop("pid")
    return wall, cpu, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="rounds of every configuration")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="configurations to run")
    args = parser.parse_args()
    if not args.no_install:
        install()

    env = {k: v for k, v in os.environ.items() if k not in POLICY_VARIABLES}
    env.update(PYTHONPATH=str(SITE), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg")
    configs = configurations()
    if args.only:
        configs = [c for c in configs if c[0] in args.only]
    if not FORK_PYTHON.exists():
        print(f"no fork at {FORK_PYTHON}: run runtimes/cpython-fork/build.sh", file=sys.stderr)
        configs = [c for c in configs if c[1][0] != str(FORK_PYTHON)]

    rows = [(name, argv, workers) for name, argv in configs for workers in WORKERS]
    times = {(name, workers): [] for name, _, workers in rows}
    results, errors = {}, {}
    with tempfile.TemporaryDirectory(prefix="ml-smoke-") as workdir:
        for _ in range(args.runs):  # rounds interleaved, so drift hits every row alike
            for name, argv, workers in rows:
                key = (name, workers)
                if key in errors:
                    continue
                try:
                    wall, cpu, result = run_once(argv, workers, env, workdir)
                    times[key].append((wall, cpu))
                    results.setdefault(key, result)
                    reference = results.get(("stock eager", workers))
                    if reference is not None and result != reference:
                        raise Failure(f"first batch {result}, stock eager's {reference}")
                except Failure as exc:
                    errors[key] = str(exc)
    print(f"{'configuration':12} {'workers':>7}  {'':4}  {'wall (median)':>13}  {'CPU (median)':>12}"
          "  first batch")
    for name, _, workers in rows:
        key = (name, workers)
        runs = times[key]
        wall = f"{statistics.median(t[0] for t in runs) * 1000:.0f} ms" if runs else "-"
        cpu = f"{statistics.median(t[1] for t in runs) * 1000:.0f} ms" if runs else "-"
        status = "FAIL" if key in errors else "ok"
        loss = results.get(key, {}).get("loss", "-")
        print(f"{name:12} {workers:>7}  {status:4}  {wall:>13}  {cpu:>12}  loss {loss}"
              f"  ({len(runs)} runs)")
        if key in errors:
            print("    " + errors[key].replace("\n", "\n    "))
    if ("stock eager", 0) not in results and not errors:
        print("stock eager did not run: nothing to compare with", file=sys.stderr)
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
