#!/usr/bin/env python3
"""Time to the first batch of a PyTorch + transformers training entry point.

Usage (from the repository root):

    python3 benches/ml_ttfb.py [--runs N] [--smoke] [--no-install] [--only NAME ...]
    python3 benches/ml_ttfb.py --install-site   # only the packages (below)

Runs benches/ml_train.py (torch, transformers and the usual companions of a
training script; one batch's forward, backward and optimiser step, then
exit) with DataLoader `num_workers` 0 and 2 (Linux's default start method,
fork) in these configurations, rounds interleaved:

* stock eager:         `venv/python ml_train.py`
* adaptor:             `venv/python -m lazy_bind ml_train.py`
* adaptor disable():   the same with `--phase-switch disable` (the script
                       calls `lazy_bind.disable(resolve_pending=False)`
                       before the loop)
* adaptor resolve():   `--phase-switch resolve` (`disable()`, which imports
                       everything still deferred)
* fork eager:          `fork/python -X lazy_imports=none ml_train.py`
* fork lazy:           `fork/python -X lazy_imports=all ml_train.py`
* ideal:               stock python running the script with the imports
                       marked `# unused` deleted

The default policy only: no LAZY_BIND_POLICY or PYTHON_LAZY_IMPORTS reaches
a run. A run passes if it exits 0 within its timeout, prints no traceback,
and its first-batch loss and gradient norm are exactly stock eager's. The
table gives the median wall time and CPU time (the whole process tree: the
DataLoader workers too), the time saved against stock eager and the ratio to
ideal, with `uptime` before and after (the load of a shared machine). Exit
status 1 if any run fails. `--smoke` (the test command's use): one round of
stock eager, adaptor, fork eager and fork lazy.

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
WORK = REPO / "target" / "ml"
SITE = WORK / "site"
SITE_STAMP = SITE / ".requirements-sha256"
VENV = WORK / "venv"
VENV_PYTHON = VENV / "bin" / "python"
IDEAL = WORK / "ml_train_ideal.py"
FORK_PYTHON = REPO / "target" / "cpython-fork" / "build-lazy" / "python"

RUN_TIMEOUT = 300.0  # seconds per run
WORKERS = (0, 2)
UNUSED_MARK = "  # unused"
# Variables that would change a run's policy or where it finds packages.
POLICY_VARIABLES = ("LAZY_BIND_POLICY", "LAZY_BIND_SUBPROCESS", "LAZY_BIND_SUBPROCESS_TRACE",
                    "PYTHON_LAZY_IMPORTS", "PYTHON_LAZY_IMPORTS_DEFAULTS", "PYTHONPATH")
SMOKE = ("stock eager", "adaptor", "fork eager", "fork lazy")


def configurations():
    """(name, argv before the script, script, script arguments)."""
    venv, fork = str(VENV_PYTHON), str(FORK_PYTHON)
    return [
        ("stock eager", [venv], TRAIN, []),
        ("adaptor", [venv, "-m", "lazy_bind"], TRAIN, []),
        ("adaptor disable()", [venv, "-m", "lazy_bind"], TRAIN, ["--phase-switch", "disable"]),
        ("adaptor resolve()", [venv, "-m", "lazy_bind"], TRAIN, ["--phase-switch", "resolve"]),
        ("fork eager", [fork, "-X", "lazy_imports=none"], TRAIN, []),
        ("fork lazy", [fork, "-X", "lazy_imports=all"], TRAIN, []),
        ("ideal", [venv], IDEAL, []),
    ]


def install_site():
    """target/ml/site from benches/ml-requirements.txt, unless it is there
    for this file already. Needs nothing of lazy_bind built."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not SITE_STAMP.exists() or SITE_STAMP.read_text().strip() != digest:
        # --no-warn-conflicts: pip would compare the target with whatever
        # the stock interpreter's own site-packages hold, which is not used.
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--upgrade",
                        "--no-warn-conflicts", "--root-user-action=ignore",
                        "--target", str(SITE), "-r", str(REQUIREMENTS)], check=True)
        SITE_STAMP.write_text(digest + "\n")


def install():
    install_site()
    if not VENV_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["setuptools", "wheel"], check=True)
    subprocess.run(pip + ["--no-build-isolation", str(REPO / "runtimes" / "cpython")],
                   check=True)


def write_ideal():
    """The training script without the imports marked unused."""
    lines = TRAIN.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.rstrip("\n").endswith(UNUSED_MARK)]
    if len(kept) == len(lines):
        raise SystemExit(f"no line of {TRAIN} is marked {UNUSED_MARK.strip()!r}")
    WORK.mkdir(parents=True, exist_ok=True)
    IDEAL.write_text("".join(kept))


class Failure(Exception):
    """A run failed; the message says how."""


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv, script, script_args, workers, env, workdir):
    """One training run; returns (wall seconds, CPU seconds, its result)."""
    command = argv + [str(script), "--num-workers", str(workers)] + script_args
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


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds of every configuration")
    parser.add_argument("--smoke", action="store_true",
                        help="one round of " + ", ".join(SMOKE))
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--install-site", action="store_true",
                        help="only install target/ml/site (the test command does it in the "
                             "background while it builds)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="configurations to run")
    args = parser.parse_args()
    if args.install_site:
        install_site()
        return
    if not args.no_install:
        install()
    write_ideal()

    env = {k: v for k, v in os.environ.items() if k not in POLICY_VARIABLES}
    env.update(PYTHONPATH=str(SITE), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg")
    configs = configurations()
    only = SMOKE if args.smoke else args.only
    runs = 1 if args.smoke else args.runs
    if only:
        configs = [c for c in configs if c[0] in only]
    if not FORK_PYTHON.exists():
        print(f"no fork at {FORK_PYTHON}: run runtimes/cpython-fork/build.sh", file=sys.stderr)
        configs = [c for c in configs if c[1][0] != str(FORK_PYTHON)]

    rows = [(config, workers) for config in configs for workers in WORKERS]
    times = {(c[0], w): [] for c, w in rows}
    results, errors = {}, {}
    before = uptime()
    with tempfile.TemporaryDirectory(prefix="ml-ttfb-") as workdir:
        for _ in range(runs):  # rounds interleaved, so drift hits every row alike
            for (name, argv, script, script_args), workers in rows:
                key = (name, workers)
                if key in errors:
                    continue
                try:
                    wall, cpu, result = run_once(argv, script, script_args, workers, env,
                                                 workdir)
                    times[key].append((wall, cpu))
                    results.setdefault(key, result)
                    reference = results.get(("stock eager", workers))
                    if reference is not None and result != reference:
                        raise Failure(f"first batch {result}, stock eager's {reference}")
                except Failure as exc:
                    errors[key] = str(exc)
    after = uptime()

    def median(key, index):
        samples = [t[index] for t in times.get(key, [])]
        return statistics.median(samples) if samples else None

    print(f"uptime before: {before}\nuptime after:  {after}")
    print(f"{'configuration':18} {'workers':>7}  {'':4} {'wall':>8} {'CPU':>8} {'saved':>6}"
          f" {'/ideal':>6}  first batch loss")
    for (name, *_), workers in rows:
        key = (name, workers)
        wall, cpu = median(key, 0), median(key, 1)
        eager, ideal = median(("stock eager", workers), 0), median(("ideal", workers), 0)
        saved = f"{(1 - wall / eager) * 100:.0f}%" if wall and eager else "-"
        ratio = f"{wall / ideal:.2f}x" if wall and ideal else "-"
        print(f"{name:18} {workers:>7}  {'FAIL' if key in errors else 'ok':4}"
              f" {f'{wall * 1000:.0f}' if wall else '-':>8} {f'{cpu * 1000:.0f}' if cpu else '-':>8}"
              f" {saved:>6} {ratio:>6}  {results.get(key, {}).get('loss', '-')}"
              f"  ({len(times[key])} runs)")
        if key in errors:
            print("    " + errors[key].replace("\n", "\n    "))
    print("wall and CPU: medians in ms; saved: wall time against stock eager with the same "
          "workers; /ideal: wall time over ideal's")
    if ("stock eager", 0) not in results and not errors:
        print("stock eager did not run: nothing to compare with", file=sys.stderr)
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
