#!/usr/bin/env python3
"""Time to first batch on stock CPython: eager imports vs lazy_bind.

Usage (from the repository root, any Python 3.11+ as `python3`):

    python3 benches/cpython_ttfb.py [--runs N] [--no-install]

Set-up, done by the script itself: a virtual environment in
`target/bench-venv` with pandas, scipy, sympy, matplotlib and ipython from
the package registry, and the CPython adaptor (`ffi-tests/cpython`, which
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
* steady state: attribute access on a resolved module (`json.dumps` read in
  a loop) after a lazy import vs after a normal import, in ns per access.

Targets (issue 8): every lazy row within 1.15x of its ideal row; at least
50% saved against eager on average over the four variants; steady state
<= 1.05x. The script prints a markdown table and whether each target holds.
"""

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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

STEADY = '''
import sys, time
LAZY = sys.argv[1] == "lazy"
if LAZY:
    import lazy_bind
    lazy_bind.enable()
namespace = {"__name__": "bench_importer"}
exec("import json", namespace)
exec("def touch(n):\\n    for _ in range(n):\\n        json.dumps\\n", namespace)
namespace["touch"](1)
if LAZY:
    assert "json" in sys.modules and type(namespace["json"]) is type(sys)
best = float("inf")
N = 1_000_000
for _ in range(15):
    start = time.perf_counter_ns()
    namespace["touch"](N)
    best = min(best, (time.perf_counter_ns() - start) / N)
print(best)
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
            "--force-reinstall", str(REPO / "ffi-tests" / "cpython"),
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
    steady.write_text(STEADY)
    return paths, runner, steady


def wall(command, env):
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, cwd=SCRIPTS)
    return (time.perf_counter() - start) * 1000


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
    for command in commands.values():  # warm the file cache and bytecode caches once
        wall(command, dict(env, PYTHONDONTWRITEBYTECODE=""))
    samples = {key: [] for key in commands}
    for _ in range(options.runs):
        for key, command in commands.items():
            samples[key].append(wall(command, env))
    median = {key: statistics.median(values) for key, values in samples.items()}

    steady_ns = {}
    for mode in ("eager", "lazy"):
        out = subprocess.run(
            [py, str(steady), mode], check=True, env=env, capture_output=True, text=True
        ).stdout
        steady_ns[mode] = float(out)

    print(f"Median of {options.runs} runs, wall time of the whole process (ms); "
          f"Python {sys.version.split()[0]} base, venv {VENV}\n")
    print("| first batch uses | eager | lazy_bind | LazyLoader | ideal | lazy / ideal | saved vs eager |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    savings = []
    ratios = []
    for name in USES:
        eager, lazy = median[(name, "eager")], median[(name, "lazy")]
        loader, ideal = median[(name, "lazyloader")], median[(name, "ideal")]
        ratios.append(lazy / ideal)
        savings.append(1 - lazy / eager)
        print(f"| {name} | {eager:.0f} | {lazy:.0f} | {loader:.0f} | {ideal:.0f} | "
              f"{lazy / ideal:.2f}x | {100 * (1 - lazy / eager):.0f}% |")
    eager, lazy = median[("ipython -c pass", "eager")], median[("ipython -c pass", "lazy")]
    print(f"| ipython -c pass | {eager:.0f} | {lazy:.0f} | | | | {100 * (1 - lazy / eager):.0f}% |")
    ratio = steady_ns["lazy"] / steady_ns["eager"]
    print(f"\nSteady state, `json.dumps` read from a module global: normal import "
          f"{steady_ns['eager']:.1f} ns, lazy import {steady_ns['lazy']:.1f} ns ({ratio:.2f}x)\n")
    print(f"- every lazy row within 1.15x of ideal: {all(r <= 1.15 for r in ratios)} "
          f"(worst {max(ratios):.2f}x)")
    print(f"- average saved vs eager >= 50%: {statistics.mean(savings) >= 0.5} "
          f"({100 * statistics.mean(savings):.0f}%)")
    print(f"- steady state <= 1.05x: {ratio <= 1.05} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
