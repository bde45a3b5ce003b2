#!/usr/bin/env python3
"""Compatibility harness for PyPI projects' own test suites (pytest and
hypothesis), eagerly and lazily with the same interpreter, compared per
test case.

    python3 benches/compat_pypi.py fork|adaptor [--projects NAME,...] [options]

The projects (PROJECTS below) are popular pure-Python packages whose sdists
ship their `tests/` and whose suites use pytest and hypothesis. The set-up,
done once under `target/compat/pypi/`: each pinned sdist is downloaded
(`pip download --no-binary :all:`) and unpacked, and the packages
themselves plus the pinned test requirements
(`benches/compat-pypi-requirements.txt`) are installed by stock python3's
`pip install --target site`, which is put on PYTHONPATH for both
interpreters (the fork and stock CPython are both 3.11). `--python` another
CPython (an adaptor venv of 3.13 or 3.13t, say) gets a site of its own,
`site-<cache tag><ABI flags>`, installed with its own pip.

Each suite runs as `python -m pytest -p no:cacheprovider
--hypothesis-seed=0 --junitxml=...` in its unpacked tree, once eagerly and
once lazily: for `fork`, `target/cpython-fork/build-lazy/python` with
`PYTHON_LAZY_IMPORTS=none` vs `-X lazy_imports=all` plus
`PYTHON_LAZY_IMPORTS=all`; for `adaptor`, the adaptor's venv
(`target/tmp/cpython-venv/bin/python`) as `python -m pytest` vs `python -m
lazy_bind -m pytest`. No LAZY_BIND_POLICY: the default policy only.

A lazy-only failure is a test case (`pypi:PROJECT::CLASSNAME::NAME` from
the JUnit XML) that fails or errors lazily and passed eagerly, or
`pypi:PROJECT::<crashed>` / `::<timeout>` for a lazy run that gave no
report. Failing cases are run again lazily to rule out flakes, then matched
against benches/compat_expectations.toml (the same accepted-differences
list as benches/compat.py, same schema). Exit status 1 on an unexpected
lazy-only failure (or, with --fail-stale, an accepted `pypi:` entry that no
longer fails), 2 on a set-up error, 0 otherwise.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compat  # noqa: E402  (load_expectations, match, DEFAULT_PYTHON)

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "benches" / "compat-pypi-requirements.txt"
WORK = REPO / "target" / "compat" / "pypi"

# name -> (version, pytest arguments). Each suite's own configuration
# (pyproject.toml, tox.ini, conftest.py) applies as its CI uses it.
PROJECTS = {
    "attrs": ("26.1.0", ["tests"]),
    "python-dateutil": ("4.0.0", ["tests"]),
    "pyrsistent": ("0.20.0", ["tests"]),
}
RUN_TIMEOUT = 900.0  # seconds per suite run
ENV_DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "LAZY_BIND_POLICY",
               "LAZY_BIND_SUBPROCESS", "PYTHON_LAZY_IMPORTS", "PYTHON_LAZY_IMPORTS_REPORT")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def tree(name):
    version = PROJECTS[name][0]
    return WORK / "src" / f"{name.replace('-', '_')}-{version}"


def sdist(name):
    version = PROJECTS[name][0]
    found = sorted((WORK / "sdist").glob(f"{name.replace('-', '_')}-{version}.tar.gz")) + sorted(
        (WORK / "sdist").glob(f"{name}-{version}.tar.gz"))
    return found[0] if found else None


def abi_tag(python):
    """`python`'s cache tag and ABI flags (cpython-311, cpython-313t): which
    compiled wheels it can load."""
    probe = ("import sys, sysconfig; "
             "print(sys.implementation.cache_tag + (sysconfig.get_config_var('ABIFLAGS') or ''))")
    return subprocess.run([python, "-c", probe], check=True, capture_output=True,
                          text=True).stdout.strip()


def site_for(python):
    """The site directory `python` runs the suites with, and the interpreter
    that installs it: stock python3 for one of its own ABI (the fork and the
    adaptor's 3.11 venv share target/compat/pypi/site), else `python` itself
    with its pip (target/compat/pypi/site-cpython-313t, say)."""
    tag = abi_tag(python)
    if tag == abi_tag(sys.executable):
        return WORK / "site", sys.executable
    return WORK / f"site-{tag}", python


def set_up(names, site, installer):
    """Downloads, unpacks and installs what `names` need into `site` with
    `installer`'s pip (once)."""
    pip = [installer, "-m", "pip"]
    (WORK / "sdist").mkdir(parents=True, exist_ok=True)
    for name in names:
        if sdist(name) is None:
            subprocess.run(pip + ["download", "-q", "--no-binary", ":all:", "--no-deps",
                                  "-d", str(WORK / "sdist"),
                                  f"{name}=={PROJECTS[name][0]}"], check=True)
        if not tree(name).exists():
            with tarfile.open(sdist(name)) as archive:
                archive.extractall(WORK / "src", filter="data")
    wanted = "\n".join([REQUIREMENTS.read_text()] + [f"{n}=={PROJECTS[n][0]}" for n in names])
    stamp = site / ".installed"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    shutil.rmtree(site, ignore_errors=True)
    sdists = [str(sdist(name)) for name in names]
    subprocess.run(pip + ["install", "-q", "--no-warn-conflicts", "--root-user-action=ignore",
                          "--target", str(site), "-r", str(REQUIREMENTS), "--no-deps", *sdists],
                   check=True)
    stamp.write_text(wanted)


def command(suite, python, site, mode, name, report, only=()):
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROPPED}
    env["PYTHONPATH"] = str(site)
    pytest = ["-m", "pytest", "-p", "no:cacheprovider", "-q", "--hypothesis-seed=0",
              f"--junitxml={report}", *(only or PROJECTS[name][1])]
    if suite == "fork":
        env["PYTHON_LAZY_IMPORTS"] = "all" if mode == "lazy" else "none"
        return [python, *(["-X", "lazy_imports=all"] if mode == "lazy" else []), *pytest], env
    return [python, *(["-m", "lazy_bind"] if mode == "lazy" else []), *pytest], env


def lazy_works(suite, python, site):
    """Whether the lazy command really is lazy (a missing adaptor or a
    fork built without lazy_bind would make every run eager)."""
    probe = {"fork": ["-X", "lazy_imports=all", "-c",
                      "import sys; assert sys.get_lazy_imports() == 'all'"],
             "adaptor": ["-m", "lazy_bind", "-c",
                         "import sys; assert sys.modules['lazy_bind'].enabled()"]}[suite]
    env = command(suite, python, site, "lazy", next(iter(PROJECTS)), os.devnull)[1]
    done = subprocess.run([python, *probe], env=env, capture_output=True, text=True, timeout=60)
    if done.returncode:
        log(f"compat_pypi: the lazy command is not lazy:\n{done.stderr}")
    return done.returncode == 0


def outcomes(report):
    """{case id: 'passed' | 'failed' | 'skipped'} from a JUnit XML report."""
    cases = {}
    for case in ElementTree.parse(report).iter("testcase"):
        ident = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            cases[ident] = "failed"
        elif case.find("skipped") is not None:
            cases[ident] = cases.get(ident, "skipped")
        else:
            cases.setdefault(ident, "passed")
    return cases


def node_id(ident):
    """A pytest node id for a JUnit case id (classname dots to path)."""
    classname, name = ident.split("::", 1)
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        yield "::".join([path, *parts[cut:], name])


def run(suite, python, site, mode, name, logs, only=()):
    """Runs one suite; returns ({case: outcome} or None, seconds, status)."""
    label = f"{name}-{mode}" + ("-again" if only else "")
    report = logs / f"{label}.xml"
    report.unlink(missing_ok=True)
    cmd, env = command(suite, python, site, mode, name, report, only)
    start = time.monotonic()
    with open(logs / f"{label}.log", "w") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            subprocess.run(cmd, env=env, cwd=tree(name), stdin=subprocess.DEVNULL, stdout=out,
                           stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - start, "timeout"
    seconds = time.monotonic() - start
    if not report.exists():
        return None, seconds, "crashed"
    return outcomes(report), seconds, "ok"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=("fork", "adaptor"))
    parser.add_argument("--projects", help="comma-separated subset of " + ", ".join(PROJECTS))
    parser.add_argument("--python", help="interpreter (default: the suite's build)")
    parser.add_argument("--no-confirm", action="store_true",
                        help="do not re-run lazy-only failures to rule out flakes")
    parser.add_argument("--fail-stale", action="store_true",
                        help="exit 1 also when an accepted pypi: entry no longer fails")
    args = parser.parse_args()
    names = args.projects.split(",") if args.projects else list(PROJECTS)
    unknown = [n for n in names if n not in PROJECTS]
    if unknown:
        log(f"compat_pypi: unknown project(s) {', '.join(unknown)}")
        return 2
    python = os.path.abspath(args.python or compat.DEFAULT_PYTHON[args.suite])
    if not os.path.exists(python):
        log(f"compat_pypi: no interpreter at {python}")
        return 2
    patterns, _ = compat.load_expectations(compat.EXPECTATIONS, args.suite)
    patterns = [(p, e) for p, e in patterns if p.startswith("pypi:")]
    site, installer = site_for(python)
    set_up(names, site, installer)
    if not lazy_works(args.suite, python, site):
        return 2
    tag = "" if site == WORK / "site" else "-" + site.name[len("site-"):]
    logs = WORK / f"logs-{args.suite}{tag}"
    logs.mkdir(parents=True, exist_ok=True)

    unexpected, accepted, flaky, stale_candidates = [], [], [], set()
    for name in names:
        eager, eager_s, eager_status = run(args.suite, python, site, "eager", name, logs)
        lazy, lazy_s, lazy_status = run(args.suite, python, site, "lazy", name, logs)
        if eager is None or not any(o == "passed" for o in eager.values()):
            log(f"compat_pypi: {name}: the eager run {eager_status}"
                f"{'' if eager is None else ' with no passing case'} (see {logs})")
            return 2
        failing = set()
        if lazy is None:
            failing.add(f"pypi:{name}::<{lazy_status}>")
        else:
            candidates = sorted(c for c, o in lazy.items()
                                if o == "failed" and eager.get(c) == "passed")
            if candidates and not args.no_confirm:
                nodes = [node for c in candidates for node in node_id(c)
                         if (tree(name) / node.split("::")[0]).exists()][:200]
                again, _, _ = run(args.suite, python, site, "lazy", name, logs, only=nodes)
                if again is not None:
                    flaky += [f"pypi:{name}::{c}" for c in candidates if again.get(c) == "passed"]
                    candidates = [c for c in candidates if again.get(c) != "passed"]
            failing |= {f"pypi:{name}::{c}" for c in candidates}
        for ident in sorted(failing):
            hit = compat.match(patterns, ident)
            (accepted if hit else unexpected).append((ident, hit))
        stale_candidates |= {p for p, _ in patterns if p.startswith(f"pypi:{name}::")}
        passed = [sum(o == "passed" for o in r.values()) if r else 0 for r in (eager, lazy)]
        total = len(eager)
        print(f"{name} {PROJECTS[name][0]}: {total} cases; passed eagerly {passed[0]} "
              f"({eager_s:.0f} s), lazily {passed[1]} ({lazy_s:.0f} s, {lazy_status}); "
              f"lazy-only failures {len(failing)}")
    matched = {hit[0] for _, hit in accepted}
    stale = sorted(stale_candidates - matched)
    for ident, hit in accepted:
        print(f"  accepted   {ident}  [{hit[1]['category']}]")
    for ident in flaky:
        print(f"  flaky      {ident} (passed when run again)")
    for ident, _ in unexpected:
        print(f"  UNEXPECTED {ident}")
    for pattern in stale:
        print(f"  stale      {pattern} (accepted, no longer fails)")
    print(f"compat_pypi {args.suite}: {len(unexpected)} unexpected, {len(accepted)} accepted, "
          f"{len(flaky)} flaky, {len(stale)} stale; logs in {logs}")
    return 1 if unexpected or (args.fail_stale and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
