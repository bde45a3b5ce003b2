#!/usr/bin/env python3
"""Deferral cost per `import` statement under the stock-CPython adaptor.

Usage (from the repository root):

    python3 benches/adaptor_deferral.py [--python PATH] [--count N] [--runs R]

`--python` is an interpreter with the adaptor installed; the default is the
virtual environment that `cargo test --test cpython_adaptor` builds
(`target/tmp/cpython-venv`).

What it measures. A generated program runs N module-level `import`
statements of N distinct generated modules (`dm0` ... `dmN-1`, which exist
on disk but are never imported), timed in the process around the N
statements with `time.process_time_ns` (CPU time: on a shared machine, wall
time mostly measures the other processes). Three statement forms, each
its own program:

* `import dmK` (a top-level module);
* `import dmK as aK` (an alias);
* `import dpkg.mK` (N submodules of one package, bound to the same name
  `dpkg`: every statement after the first joins one pending binding).

Each program runs under `python -m lazy_bind` (the statements are deferred)
and, for reference, plainly with every module already imported before the
timed block (the cheapest eager import: a `sys.modules` hit). The baseline
subtracted from every row is the same program with each statement replaced
by `dmK = None` (the same bytecode size and store, no import), so a row is
the cost of the import statement itself. Each number is the median over R
fresh processes.

No filesystem access at deferral, checked two ways, either of which fails
the run: while the timed block runs, a finder at the front of
`sys.meta_path` counts the finds (any import attempt reaches it) and an
audit hook counts `open`, `os.listdir` and `os.scandir` events; both must be
zero under lazy_bind. The eager control run (modules not preloaded) must
show N finds, which shows that the counters see imports. With `strace`
available, the whole lazy process's file syscalls are also counted and
compared with the same program with 0 statements.

Steady state: attribute access (`json.dumps` in a loop) through a name
bound by a lazy import after its resolution, through a reference copied
from the placeholder before resolution, and through a normally imported
name (ns per access, best of 101 interleaved rounds of 200,000 accesses,
one process: noise from other processes only ever adds time).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import steady_probe

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PYTHON = REPO / "target" / "tmp" / "cpython-venv" / "bin" / "python"

# Runs before the timed block: the counters, and optionally the modules
# imported eagerly first.
PRELUDE = """\
import sys, time

class _CountingFinder:
    finds = 0
    def find_spec(self, name, path=None, target=None):
        _CountingFinder.finds += 1
        return None

_fs = [0]
def _audit(event, args):
    if _counting[0] and event in ("open", "os.listdir", "os.scandir"):
        _fs[0] += 1

_counting = [False]
sys.addaudithook(_audit)
sys.meta_path.insert(0, _CountingFinder())
{preload}
_counting[0] = True
_t0 = time.process_time_ns()
"""

EPILOGUE = """\
_t1 = time.process_time_ns()
_counting[0] = False
print((_t1 - _t0) / {count}, _CountingFinder.finds, _fs[0])
"""

FORMS = {
    "import dmK": lambda k: f"import dm{k}",
    "import dmK as aK": lambda k: f"import dm{k} as a{k}",
    "import dpkg.mK": lambda k: f"import dpkg.m{k}",
}



def write_tree(root, count):
    """The modules `dm0..`, the package `dpkg` with `m0..`, and the programs."""
    (root / "dpkg").mkdir()
    (root / "dpkg" / "__init__.py").write_text("")
    for k in range(count):
        (root / f"dm{k}.py").write_text("X = 1\n")
        (root / "dpkg" / f"m{k}.py").write_text("X = 1\n")
    programs = {}
    for form, statement in FORMS.items():
        body = "\n".join(statement(k) for k in range(count)) + "\n"
        preload = "\n".join(f"import {statement(k).split()[1]}" for k in range(count))
        for variant, pre, text in (
            ("lazy", "", body),
            ("eager loaded", preload, body),
            ("eager", "", body),
            ("baseline", "", "\n".join(f"dm{k} = None" for k in range(count)) + "\n"),
        ):
            path = root / f"{form.split()[1].replace('.', '_')}_{variant.replace(' ', '_')}.py"
            path.write_text(
                PRELUDE.format(preload=pre) + text + EPILOGUE.format(count=count)
            )
            programs[(form, variant)] = path
    empty = root / "empty.py"
    empty.write_text(PRELUDE.format(preload="") + EPILOGUE.format(count=1))
    steady = root / "steady.py"
    steady.write_text(steady_probe.source(200_000, 101))
    return programs, empty, steady


def command(python, path, variant):
    lazy = variant in ("lazy", "baseline")
    return [python, *(["-m", "lazy_bind"] if lazy else []), str(path)]


def run(python, path, variant, cwd):
    out = subprocess.run(
        command(python, path, variant), cwd=cwd, capture_output=True, text=True,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1", LAZY_BIND_POLICY=""),
    )
    if out.returncode != 0:
        sys.exit(f"{path.name} failed:\n{out.stderr}")
    ns, finds, fs = out.stdout.split()
    return float(ns), int(finds), int(fs)


def file_syscalls(python, path, cwd):
    """The number of file syscalls of one `python -m lazy_bind path` run."""
    trace = Path(cwd) / "strace.out"
    subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=%file", "-o", str(trace),
         python, "-m", "lazy_bind", str(path)],
        cwd=cwd, check=True, capture_output=True,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1", LAZY_BIND_POLICY=""),
    )
    return sum(1 for _ in trace.open())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=str(DEFAULT_PYTHON))
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    count = options.count
    with tempfile.TemporaryDirectory(prefix="lazy_bind-deferral-") as scratch:
        root = Path(scratch)
        programs, empty, steady = write_tree(root, count)
        samples = {key: [] for key in programs}
        for _ in range(options.runs):  # interleaved, so drift hits every row alike
            for (form, variant), path in programs.items():
                samples[(form, variant)].append(run(options.python, path, variant, root))
        failures = []
        print(f"N = {count} statements per program, median of {options.runs} fresh processes; "
              f"{options.python}\n")
        print("| statement | lazy_bind, us/import | eager, module loaded | "
              "finds / fs events at deferral | eager control finds |")
        print("|---|---:|---:|---:|---:|")
        for form in FORMS:
            base = statistics.median(s[0] for s in samples[(form, "baseline")])
            lazy = statistics.median(s[0] for s in samples[(form, "lazy")]) - base
            loaded = statistics.median(s[0] for s in samples[(form, "eager loaded")]) - base
            finds = max(s[1] for s in samples[(form, "lazy")])
            fs = max(s[2] for s in samples[(form, "lazy")])
            control = min(s[1] for s in samples[(form, "eager")])
            if finds or fs:
                failures.append(f"{form}: {finds} finds, {fs} file events while deferring")
            if control < count:
                failures.append(f"{form}: the eager control saw only {control} finds")
            print(f"| `{form}` | {lazy / 1000:.2f} | {loaded / 1000:.2f} | {finds} / {fs} | "
                  f"{control} |")
        if shutil.which("strace"):
            path = programs[("import dmK", "lazy")]
            extra = file_syscalls(options.python, path, root) - file_syscalls(
                options.python, empty, root)
            print(f"\nstrace: file syscalls of the `import dmK` program minus the empty one: "
                  f"{extra}")
            if extra > 0:
                failures.append(f"strace saw {extra} more file syscalls with the imports")
        out = subprocess.run([options.python, str(steady)], check=True, capture_output=True,
                             text=True, cwd=root)
        eager, lazy, copy = map(float, out.stdout.split())
        print(f"\nSteady state, `json.dumps` through a module global: normal import "
              f"{eager:.1f} ns, lazy import {lazy:.1f} ns ({lazy / eager:.2f}x), reference "
              f"copied before resolution {copy:.1f} ns ({copy / eager:.2f}x)")
    for failure in failures:
        print(f"FAIL: {failure}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
