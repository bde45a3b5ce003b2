#!/usr/bin/env python3
"""free_threaded_parallel_imports: two threads each first-touching a
different heavy, pure-Python module tree vs one thread touching both, under
the CPython adaptor (mode all), on free-threaded CPython 3.13t and, beside
it, on the GIL build of the same source.

    python3 benches/free_threaded_parallel_imports.py             # 15 runs per row
    python3 benches/free_threaded_parallel_imports.py --runs 31
    python3 benches/free_threaded_parallel_imports.py --smoke     # 3 runs, no goal

Set-up, done by the script: both interpreters from
runtimes/cpython/build-interpreter.sh (cached under target/interpreters), a
venv per interpreter in target/bench-ft/ with the adaptor installed, and
two generated packages (`ft_tree_a`, `ft_tree_b`: MODULES modules each, a
tree in which every module imports its children at module level, and each
body defines classes and builds a table, so its cost is Python code
running, not file system work). The trees share no module, not even from
the standard library, and are byte-compiled before the runs.

A run is one fresh process, `python -m lazy_bind driver.py THREADS lazy`:
`import ft_tree_a, ft_tree_b` binds two placeholders; then either one
thread calls `ft_tree_a.total()` and `ft_tree_b.total()` (THREADS=1), or
two threads, released together, call one each (THREADS=2). Each total()
touches its children, so the first touch resolves the whole tree lazily
through the engine. The driver times that phase with perf_counter_ns and
checks that every module body ran exactly once and both totals are right.
The baseline, `python driver.py THREADS eager`, imports the trees the
same way with `importlib.import_module` in the threads (plain CPython, no
lazy_bind): the parallelism the interpreter itself allows. Runs of the four
cells alternate; a ratio is median(one thread) / median(two threads), the
throughput gained by the second thread (2.0 at most on 2 cores). Goal
(issue 16): >= 1.6x lazily on 3.13t; the GIL build's ratios are printed
beside it (about 1.0 is expected: the GIL runs one module body at a time).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "target" / "bench-ft"
FLAVOURS = ["3.13t", "3.13"]
GOAL = 1.6

DRIVER = '''
import importlib, json, sys, threading, time

threads, lazy = int(sys.argv[1]), sys.argv[2] == "lazy"
if lazy:
    import ft_tree_a, ft_tree_b


def tree(name):
    """The tree's placeholder (lazy) or its import, done in this thread."""
    return globals()[name] if lazy else importlib.import_module(name)


def main():
    barrier = threading.Barrier(threads + 1)
    totals = {}
    failures = []

    def touch(names):
        barrier.wait()
        try:
            for name in names:
                totals[name] = tree(name).total()
        except BaseException as error:
            failures.append(repr(error))

    work = [["ft_tree_a", "ft_tree_b"]] if threads == 1 else [["ft_tree_a"], ["ft_tree_b"]]
    workers = [threading.Thread(target=touch, args=(names,)) for names in work]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter_ns()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter_ns() - start
    runs = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("ft_tree_"):
            runs[name] = module.__dict__.get("BODY_RUNS")
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    result = {"ns": elapsed, "gil": gil, "totals": totals, "runs": runs, "failures": failures}
    print("RESULT " + json.dumps(result))


main()
'''


def tree_modules(count):
    """The children of each of `count` modules numbered in breadth-first
    order of a complete 4-ary tree (module 0 is the package itself)."""
    children = {i: [c for c in range(4 * i + 1, 4 * i + 5) if c < count] for i in range(count)}
    return children


def module_source(package, index, children):
    """One module of a tree: imports its children, defines classes with
    methods, builds a table, and counts its own body runs in BODY_RUNS."""
    imports = "".join(f"import {package}.m{c}\n" for c in children)
    calls = " + ".join(f"{package}.m{c}.total()" for c in children) or "0"
    classes = "".join(
        textwrap.dedent(
            f"""
            class Shape{k}:
                scale = {k + 1}

                def __init__(self, width, height):
                    self.width = width
                    self.height = height

                def area(self):
                    return self.width * self.height * self.scale

                def grow(self, by):
                    return type(self)(self.width + by, self.height + by)

                def __repr__(self):
                    return f"Shape{k}({{self.width}}, {{self.height}})"
            """
        )
        for k in range(12)
    )
    return (
        f"BODY_RUNS = globals().get('BODY_RUNS', 0) + 1\n{imports}{classes}\n"
        f"TABLE = {{n: (n * {index + 3}) % 97 for n in range(3000)}}\n"
        f"WORDS = sorted(str(n)[::-1] for n in range(1500))\n"
        f"VALUE = sum(TABLE.values()) % 1000 + len(WORDS)\n\n"
        f"def total():\n    return VALUE + {calls}\n"
    )


def expected_total(index, children, values):
    """What module `index`'s total() returns: its VALUE plus its subtree's."""
    return values[index] + sum(expected_total(c, children, values) for c in children[index])


def write_trees(root, count):
    """Writes ft_tree_a and ft_tree_b under `root`, with m0 as each
    package's body, and returns the expected total of each tree."""
    children = tree_modules(count)
    expected = {}
    for package in ("ft_tree_a", "ft_tree_b"):
        pkg = root / package
        pkg.mkdir(parents=True, exist_ok=True)
        values = {}
        for index in range(count):
            name = "__init__" if index == 0 else f"m{index}"
            (pkg / f"{name}.py").write_text(module_source(package, index, children[index]))
            table = {n: (n * (index + 3)) % 97 for n in range(3000)}
            values[index] = sum(table.values()) % 1000 + 1500
        expected[package] = expected_total(0, children, values)
    (root / "driver.py").write_text(DRIVER)
    return expected


def interpreter(flavour):
    script = REPO / "runtimes" / "cpython" / "build-interpreter.sh"
    out = subprocess.run([str(script), flavour], check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


def venv_with_adaptor(base, flavour):
    venv = WORK / f"venv-{flavour}"
    python = venv / "bin" / "python"
    marker = venv / ".adaptor-installed"
    if not marker.exists():
        subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", str(REPO / "runtimes" / "cpython")],
                       check=True)
        marker.write_text("")
    return str(python)


def run_once(python, trees, threads, lazy, expected, modules):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAZY_BIND", "PYTHON"))}
    env["PYTHONPATH"] = str(trees)
    launcher = ["-m", "lazy_bind"] if lazy else []
    mode = "lazy" if lazy else "eager"
    proc = subprocess.run([python, *launcher, str(trees / "driver.py"), str(threads), mode],
                          env=env, cwd=trees, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.exit(f"free_threaded_parallel_imports: {python} failed ({proc.returncode}):\n"
                 f"{proc.stdout}{proc.stderr}")
    result = json.loads(lines[0][len("RESULT "):])
    if result["failures"] or result["totals"] != expected:
        sys.exit(f"free_threaded_parallel_imports: wrong result ({mode}, {threads} threads): "
                 f"totals {result['totals']}, expected {expected}, failures {result['failures']}")
    runs = result["runs"]
    bad = {name: n for name, n in runs.items() if n != 1}
    if bad or len(runs) != 2 * modules:
        sys.exit(f"free_threaded_parallel_imports: module bodies did not run exactly once: {bad}, "
                 f"{len(runs)} modules loaded of {2 * modules}")
    return result["ns"] / 1e6, result["gil"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per row (default 15)")
    parser.add_argument("--modules", type=int, default=60, help="modules per tree (default 60)")
    parser.add_argument("--smoke", action="store_true", help="3 runs, no goal checked")
    parser.add_argument("--flavour", action="append", choices=FLAVOURS,
                        help="only these builds (default: both)")
    args = parser.parse_args()
    if args.runs < 1 or args.modules < 1:
        parser.error("--runs and --modules must be at least 1")
    runs = 3 if args.smoke else args.runs
    trees = WORK / f"trees-{args.modules}"
    expected = write_trees(trees, args.modules)
    rows = []
    for flavour in args.flavour or FLAVOURS:
        python = venv_with_adaptor(interpreter(flavour), flavour)
        subprocess.run([python, "-m", "compileall", "-q", str(trees)], check=True)
        times = {(lazy, threads): [] for lazy in (True, False) for threads in (1, 2)}
        gil = None
        for _ in range(runs):
            for lazy, threads in times:
                ms, gil = run_once(python, trees, threads, lazy, expected, args.modules)
                times[lazy, threads].append(ms)
        median = {key: statistics.median(values) for key, values in times.items()}
        rows.append((flavour, gil, median))
    print(f"free_threaded_parallel_imports: 2 trees x {args.modules} modules, "
          f"median of {runs} runs per cell, {os.cpu_count()} CPUs")
    print("| build | GIL | lazy: one thread | lazy: two threads | lazy ratio "
          "| eager importlib: one thread | two threads | eager ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for flavour, gil, m in rows:
        print(f"| {flavour} | {'on' if gil else 'off'} | {m[True, 1]:.1f} ms | {m[True, 2]:.1f} ms "
              f"| {m[True, 1] / m[True, 2]:.2f}x | {m[False, 1]:.1f} ms | {m[False, 2]:.1f} ms "
              f"| {m[False, 1] / m[False, 2]:.2f}x |")
    if not args.smoke:
        for flavour, gil, m in rows:
            if not gil:
                ratio = m[True, 1] / m[True, 2]
                verdict = "met" if ratio >= GOAL else "NOT met"
                print(f"goal >= {GOAL}x on {flavour}: {verdict} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
