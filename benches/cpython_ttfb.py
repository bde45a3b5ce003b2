#!/usr/bin/env python3
"""Time to first batch on stock CPython: eager imports vs lazy_bind.

Usage (from the repository root, any Python 3.11+ as `python3`):

    python3 benches/cpython_ttfb.py [--runs N] [--no-install]

Set-up, done by the script itself: a virtual environment in
`target/bench-venv` with pandas, scipy, sympy, matplotlib and ipython from
the package registry, and the CPython adaptor (`runtimes/cpython`, which
builds the crate with cargo) installed into it. `--no-install` reuses the
environment as it is.

What it measures, each as the median wall time of N runs of a fresh
interpreter process (start-up and shutdown included; runs of all rows are
interleaved so drift hits every row alike):

* for each of pandas, scipy.stats, sympy and matplotlib.pyplot, a script
  that imports all four with plain `import` statements and then uses only
  that one (its "first batch"):
  - eager: `python script.py`;
  - lazy: `python -m lazy_bind script.py`;
  - LazyLoader: the same script with `importlib.util.LazyLoader` applied to
    every module loaded from source (the standard library's peer approach);
  - ideal: a script that imports only the package it uses;
* `ipython -c pass` start-up, eager vs `python -m lazy_bind -m IPython`;
* the same runs' CPU time (user + system), which shared machines disturb
  less than wall time;
* steady state: attribute access on a resolved module (`json.dumps` read in
  a loop) through a name bound by a lazy import, through a reference copied
  from the placeholder before resolution, and through a normally imported
  name, in ns per access (one process, rounds interleaved, best of 21).

Targets (issue 8): every lazy row within 1.15x of its ideal row; at least
50% saved against eager on average over the four variants; steady state
<= 1.05x. The script prints a markdown table and whether each target holds.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import steady_probe

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / "target" / "bench-venv"
PYTHON = VENV / "bin" / "python"
SCRIPTS = REPO / "target" / "bench-scripts"
PACKAGES = ["pandas", "scipy", "sympy", "matplotlib", "ipython"]

IMPORTS = "import pandas\nimport scipy.stats\nimport sympy\nimport matplotlib.pyplot\n"
USES = {
    "pandas": ("import pandas\n", "pandas.DataFrame({'a': [1, 2, 3]}).sum()\n"),
    "scipy.stats": ("import scipy.stats\n", "scipy.stats.norm.cdf(0.5)\n"),
    "sympy": ("import sympy\n", "sympy.expand((sympy.Symbol('x') + 1) ** 2)\n"),
    "matplotlib.pyplot": ("import matplotlib.pyplot\n", "matplotlib.pyplot.figure()\n"),
}

# Runs a script with LazyLoader wrapped around every source loader.
LAZYLOADER_RUNNER = '''
import importlib.abc, importlib.machinery, importlib.util, runpy, sys

class LazyFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                if isinstance(spec.loader, importlib.machinery.SourceFileLoader):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None

sys.meta_path.insert(0, LazyFinder())
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
'''



def setup_venv():
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "-q", "setuptools", "wheel", *PACKAGES], check=True
    )
    subprocess.run(
        [
            str(PYTHON), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
            "--force-reinstall", str(REPO / "runtimes" / "cpython"),
        ],
        check=True,
    )


def write_scripts():
    SCRIPTS.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (only, use) in USES.items():
        slug = name.replace(".", "_")
        full = SCRIPTS / f"all_{slug}.py"
        full.write_text(IMPORTS + use)
        ideal = SCRIPTS / f"ideal_{slug}.py"
        ideal.write_text(only + use)
        paths[name] = (full, ideal)
    runner = SCRIPTS / "lazyloader_run.py"
    runner.write_text(textwrap.dedent(LAZYLOADER_RUNNER))
    steady = SCRIPTS / "steady.py"
    steady.write_text(steady_probe.source(1_000_000, 21))
    return paths, runner, steady


class Failed(Exception):
    """A benchmark program exited with an error (its last stderr line)."""


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(command, env):
    """(wall ms, CPU ms: user + system) of one run of `command`."""
    cpu = _cpu()
    start = time.perf_counter()
    result = subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=SCRIPTS
    )
    elapsed = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["(no output)"]
        raise Failed(lines[-1])
    return elapsed, (_cpu() - cpu) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-install", action="store_true")
    options = parser.parse_args()
    if not options.no_install:
        setup_venv()
    paths, runner, steady = write_scripts()
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    env.pop("LAZY_BIND_POLICY", None)
    py = str(PYTHON)
    commands = {}
    for name, (full, ideal) in paths.items():
        commands[(name, "eager")] = [py, str(full)]
        commands[(name, "lazy")] = [py, "-m", "lazy_bind", str(full)]
        commands[(name, "lazyloader")] = [py, str(runner), str(full)]
        commands[(name, "ideal")] = [py, str(ideal)]
    commands[("ipython -c pass", "eager")] = [py, "-m", "IPython", "-c", "pass"]
    commands[("ipython -c pass", "lazy")] = [py, "-m", "lazy_bind", "-m", "IPython", "-c", "pass"]
    # LazyLoader is expected to break some packages: its rows report the
    # error instead of a time. Any other failure stops the benchmark.
    failed = {}
    for key, command in list(commands.items()):  # warm the caches once
        try:
            wall(command, dict(env, PYTHONDONTWRITEBYTECODE=""))
        except Failed as error:
            if key[1] != "lazyloader":
                raise
            failed[key] = str(error)
            del commands[key]
    samples = {key: [] for key in commands}
    for _ in range(options.runs):
        for key, command in commands.items():
            samples[key].append(wall(command, env))
    median = {key: statistics.median(v[0] for v in values) for key, values in samples.items()}
    cpu = {key: statistics.median(v[1] for v in values) for key, values in samples.items()}

    out = subprocess.run([py, str(steady)], check=True, env=env, capture_output=True, text=True)
    steady_ns = dict(zip(("eager", "lazy", "copy"), map(float, out.stdout.split())))

    print(f"Median of {options.runs} runs, wall time of the whole process (ms); "
          f"Python {sys.version.split()[0]} base, venv {VENV}\n")
    print("| first batch uses | eager | lazy_bind | LazyLoader | ideal | lazy / ideal | saved vs eager |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    savings = []
    ratios = []
    for name in USES:
        eager, lazy = median[(name, "eager")], median[(name, "lazy")]
        ideal = median[(name, "ideal")]
        if (name, "lazyloader") in failed:
            loader = f"fails: {failed[(name, 'lazyloader')][:60]}"
        else:
            loader = f"{median[(name, 'lazyloader')]:.0f}"
        ratios.append(lazy / ideal)
        savings.append(1 - lazy / eager)
        print(f"| {name} | {eager:.0f} | {lazy:.0f} | {loader} | {ideal:.0f} | "
              f"{lazy / ideal:.2f}x | {100 * (1 - lazy / eager):.0f}% |")
    eager, lazy = median[("ipython -c pass", "eager")], median[("ipython -c pass", "lazy")]
    print(f"| ipython -c pass | {eager:.0f} | {lazy:.0f} | | | | {100 * (1 - lazy / eager):.0f}% |")
    print("\nThe same runs, median CPU time (user + system, ms): steadier than wall time on a")
    print("shared machine.\n")
    print("| first batch uses | eager | lazy_bind | ideal | lazy / ideal | saved vs eager |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in [*USES, "ipython -c pass"]:
        eager, lazy = cpu[(name, "eager")], cpu[(name, "lazy")]
        ideal = cpu.get((name, "ideal"))
        ideal_cells = f"{ideal:.0f} | {lazy / ideal:.2f}x" if ideal else " | "
        print(f"| {name} | {eager:.0f} | {lazy:.0f} | {ideal_cells} | "
              f"{100 * (1 - lazy / eager):.0f}% |")
    ratio = steady_ns["lazy"] / steady_ns["eager"]
    print(f"\nSteady state, `json.dumps` read through a module global (best of 21 rounds, one "
          f"process): normal import {steady_ns['eager']:.1f} ns, lazy import "
          f"{steady_ns['lazy']:.1f} ns ({ratio:.2f}x), reference copied before resolution "
          f"{steady_ns['copy']:.1f} ns ({steady_ns['copy'] / steady_ns['eager']:.2f}x)\n")
    cpu_ratios = [cpu[(n, "lazy")] / cpu[(n, "ideal")] for n in USES]
    cpu_savings = [1 - cpu[(n, "lazy")] / cpu[(n, "eager")] for n in USES]
    for label, r, saved in (("wall", ratios, savings), ("CPU", cpu_ratios, cpu_savings)):
        print(f"- {label}: every lazy row within 1.15x of ideal: {all(x <= 1.15 for x in r)} "
              f"(worst {max(r):.2f}x); average saved vs eager >= 50%: "
              f"{statistics.mean(saved) >= 0.5} ({100 * statistics.mean(saved):.0f}%)")
    print(f"- steady state <= 1.05x: {ratio <= 1.05} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
