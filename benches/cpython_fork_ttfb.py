#!/usr/bin/env python3
"""Time to first batch on the CPython fork: eager fork vs lazy fork vs the
stock-CPython adaptor, in one run on one machine.

Usage (from the repository root):

    python3 benches/cpython_fork_ttfb.py [--runs N] [--no-install]

Set-up, done by the script itself unless --no-install: the fork and its
unpatched twin (`runtimes/cpython-fork/build.sh` and `build.sh --vanilla`),
a virtual environment of the fork in `target/fork-venv` (pip from
`ensurepip`) with pandas, scipy, sympy, matplotlib and ipython, and the
stock adaptor's environment of `benches/cpython_ttfb.py` (`target/bench-venv`).

Rows, each the median wall time (and CPU time) of N fresh processes, rows
interleaved:

* the four-package workload of `benches/cpython_ttfb.py` (a script imports
  pandas, scipy.stats, sympy and matplotlib.pyplot and uses one of them),
  written with `import` statements and again with `from` imports:
  - fork eager: `-X lazy_imports=none`;
  - fork lazy: `-X lazy_imports=all`;
  - adaptor: stock CPython with `python -m lazy_bind` (from-imports are not
    deferred there: that is what the fork adds);
  - ideal: the fork, eager, running a script that imports only what it uses;
* `ipython -c pass`: fork eager, fork lazy, adaptor;
* steady state: a loop of global loads (module globals, builtins, module
  attributes: the specialised opcodes) and a loop of dict stores (where the
  fork pays for checking nothing on loads), in the unpatched build and in
  the fork (mode normal, and mode all), best of 15 rounds each, rounds
  interleaved across processes; plus instructions per iteration counted by
  callgrind (deterministic, unlike time).

Targets (issue 10): `ipython -c pass` at least 30% less than fork eager; the
from-import rows within 1.15x of their ideal; steady state <= 1.01x. The
script prints markdown tables and whether each target holds.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpython_ttfb as stock  # noqa: E402  (the adaptor benchmark's set-up and timer)

REPO = stock.REPO
FORK_DIR = REPO / "runtimes" / "cpython-fork"
VENV = REPO / "target" / "fork-venv"
PYTHON = VENV / "bin" / "python"
SCRIPTS = REPO / "target" / "bench-scripts" / "fork"

FROM_IMPORTS = (
    "from pandas import DataFrame\n"
    "from scipy.stats import norm\n"
    "from sympy import Symbol, expand\n"
    "from matplotlib.pyplot import figure\n"
)
FROM_USES = {
    "pandas": ("from pandas import DataFrame\n", "DataFrame({'a': [1, 2, 3]}).sum()\n"),
    "scipy.stats": ("from scipy.stats import norm\n", "norm.cdf(0.5)\n"),
    "sympy": ("from sympy import Symbol, expand\n", "expand((Symbol('x') + 1) ** 2)\n"),
    "matplotlib.pyplot": ("from matplotlib.pyplot import figure\n", "figure()\n"),
}

# `python steady.py KIND N ROUNDS`: best ns per iteration of loop KIND.
# `loads` is what the specialised opcodes run; `stores` replaces dict values,
# where the fork resets a dict's keys version when the new value is a
# placeholder (the price of checking nothing on loads).
STEADY = """
import sys, time
import math
X = 1

def loads(n):
    t = 0
    for _ in range(n):
        t += X + X + X + X
        len; len; abs; abs
        math.pi; math.e
    return t

def stores(n):
    d = {"a": 0, "b": 0}
    for i in range(n):
        d["a"] = i; d["b"] = i; d["a"] = X; d["b"] = X
        d["a"] = i; d["b"] = i; d["a"] = X; d["b"] = X
    return d

if __name__ == "__main__":
    loop = globals()[sys.argv[1]]
    n = int(sys.argv[2])
    rounds = int(sys.argv[3])
    loop(1000)  # specialise
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter_ns()
        loop(n)
        best = min(best, (time.perf_counter_ns() - start) / n)
    print(best)
"""
KINDS = {
    "loads": "4 module-global loads, 4 builtin loads, 2 module attribute loads",
    "stores": "8 stores replacing a value of a dict",
}


def build(*args):
    out = subprocess.run(
        [str(FORK_DIR / "build.sh"), *args], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    return out.strip().splitlines()[-1]


def setup(fork_python):
    if not PYTHON.exists():
        subprocess.run([fork_python, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "-q", "setuptools", "wheel", *stock.PACKAGES],
        check=True,
    )
    stock.setup_venv()


def write_scripts():
    SCRIPTS.mkdir(parents=True, exist_ok=True)
    paths = {}
    for form, (imports, uses) in {
        "import": (stock.IMPORTS, stock.USES),
        "from": (FROM_IMPORTS, FROM_USES),
    }.items():
        for name, (only, use) in uses.items():
            slug = f"{form}_{name.replace('.', '_')}"
            full = SCRIPTS / f"all_{slug}.py"
            full.write_text(imports + use)
            ideal = SCRIPTS / f"ideal_{slug}.py"
            ideal.write_text(only + use)
            paths[(form, name)] = (full, ideal)
    steady = SCRIPTS / "steady.py"
    steady.write_text(STEADY)
    return paths, steady


def steady_configs(vanilla, fork, steady):
    return {
        "unpatched build": [vanilla, str(steady)],
        "fork, mode normal": [fork, str(steady)],
        "fork, mode all": [fork, "-X", "lazy_imports=all", str(steady)],
    }


def steady_state(configs, kind, env):
    """Best ns per iteration of loop `kind` per configuration: 5 processes
    each, interleaved, 3 rounds of 2M iterations per process."""
    best = {key: float("inf") for key in configs}
    for _ in range(5):
        for key, command in configs.items():
            out = subprocess.run(
                [*command, kind, "2000000", "3"], check=True, env=env, capture_output=True,
                text=True,
            ).stdout
            best[key] = min(best[key], float(out))
    return best


def instructions(command, kind, env):
    """Instructions per iteration of loop `kind`: callgrind totals at two
    loop counts, subtracted (start-up cancels out)."""
    totals = []
    for n in (100_000, 200_000):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "callgrind.out"
            subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command,
                 kind, str(n), "1"],
                check=True, env=env, capture_output=True, text=True,
            )
            summary = re.search(r"^summary: (\d+)", out.read_text(), re.M)
            totals.append(int(summary.group(1)))
    return (totals[1] - totals[0]) / 100_000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-install", action="store_true")
    options = parser.parse_args()
    fork = build()
    vanilla = build("--vanilla")
    if not options.no_install:
        setup(fork)
    paths, steady = write_scripts()
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    for key in ("LAZY_BIND_POLICY", "PYTHON_LAZY_IMPORTS"):
        env.pop(key, None)
    py, adaptor = str(PYTHON), str(stock.PYTHON)
    commands = {}
    for (form, name), (full, ideal) in paths.items():
        row = f"{name} ({form})"
        commands[(row, "eager")] = [py, "-X", "lazy_imports=none", str(full)]
        commands[(row, "lazy")] = [py, "-X", "lazy_imports=all", str(full)]
        commands[(row, "adaptor")] = [adaptor, "-m", "lazy_bind", str(full)]
        commands[(row, "ideal")] = [py, "-X", "lazy_imports=none", str(ideal)]
    ipython = "ipython -c pass"
    commands[(ipython, "eager")] = [py, "-X", "lazy_imports=none", "-m", "IPython", "-c", "pass"]
    commands[(ipython, "lazy")] = [py, "-X", "lazy_imports=all", "-m", "IPython", "-c", "pass"]
    commands[(ipython, "adaptor")] = [adaptor, "-m", "lazy_bind", "-m", "IPython", "-c", "pass"]
    stock.SCRIPTS = SCRIPTS  # the timer runs commands from there
    for command in commands.values():  # warm the caches once, writing bytecode
        stock.wall(command, dict(env, PYTHONDONTWRITEBYTECODE=""))
    samples = {key: [] for key in commands}
    for _ in range(options.runs):
        for key, command in commands.items():
            samples[key].append(stock.wall(command, env))
    wall = {key: statistics.median(v[0] for v in values) for key, values in samples.items()}
    cpu = {key: statistics.median(v[1] for v in values) for key, values in samples.items()}
    rows = list(dict.fromkeys(row for row, _ in commands))

    version = subprocess.run([adaptor, "-c", "import sys; print(sys.version.split()[0])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    print(f"Median of {options.runs} runs, whole process (ms). Fork: CPython 3.11.2 with "
          f"lazy_bind; adaptor: stock CPython {version} with `python -m lazy_bind`.\n")
    results = {}
    for label, table in (("Wall time", wall), ("CPU time (user + system)", cpu)):
        print(f"{label}:\n")
        print("| workload | fork eager | fork lazy | adaptor | ideal | fork lazy / ideal "
              "| fork saved vs eager |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            eager, lazy, adapt = table[(row, "eager")], table[(row, "lazy")], table[(row, "adaptor")]
            ideal = table.get((row, "ideal"))
            ratio = f"{lazy / ideal:.2f}x" if ideal else ""
            ideal_cell = f"{ideal:.0f}" if ideal else ""
            results[(label, row)] = (lazy / ideal if ideal else None, 1 - lazy / eager)
            print(f"| {row} | {eager:.0f} | {lazy:.0f} | {adapt:.0f} | {ideal_cell} | {ratio} "
                  f"| {100 * (1 - lazy / eager):.0f}% |")
        print()

    configs = steady_configs(vanilla, fork, steady)
    print("Steady state, per loop iteration (time: best of 15 rounds in 5 processes each; "
          "instructions: callgrind):\n")
    print("| loop | build | ns | vs unpatched | instructions | vs unpatched |")
    print("|---|---|---:|---:|---:|---:|")
    worst = {}
    for kind, what in KINDS.items():
        best = steady_state(configs, kind, env)
        counts = {key: instructions(command, kind, env) for key, command in configs.items()}
        base, base_count = best["unpatched build"], counts["unpatched build"]
        for key in configs:
            print(f"| {kind}: {what} | {key} | {best[key]:.2f} | {best[key] / base:.3f}x | "
                  f"{counts[key]:.1f} | {counts[key] / base_count:.3f}x |")
        worst[kind] = max(best[k] / base for k in configs if k != "unpatched build")
    print()
    for label in ("Wall time", "CPU time (user + system)"):
        ratios = [results[(label, f"{n} (from)")][0] for n in FROM_USES]
        saved = results[(label, ipython)][1]
        print(f"- {label}: `ipython -c pass` saves >= 30%: {saved >= 0.30} ({100 * saved:.0f}%); "
              f"from-import rows within 1.15x of ideal: {all(r <= 1.15 for r in ratios)} "
              f"(worst {max(ratios):.2f}x)")
    print(f"- steady state of the loads <= 1.01x: {worst['loads'] <= 1.01} "
          f"(worst {worst['loads']:.3f}x); dict stores: worst {worst['stores']:.3f}x")


if __name__ == "__main__":
    main()
