#!/usr/bin/env python3
"""Compatibility harness: CPython's regression suite, eagerly and lazily,
with the same interpreter, compared per test case.

    python3 benches/compat.py fork    [--subset ci|full] [options]
    python3 benches/compat.py adaptor [--subset ci|full] [options]

``fork`` runs the CPython fork (``target/cpython-fork/build-lazy/python``)
with ``PYTHON_LAZY_IMPORTS=none`` (eager) and with ``-X lazy_imports=all``
plus ``PYTHON_LAZY_IMPORTS=all`` (lazy; the variable makes every
subprocess a test starts lazy too). ``adaptor`` runs stock CPython from the
adaptor's venv (``target/tmp/cpython-venv/bin/python``, made by ``cargo
test -j1 --test cpython_adaptor``) as ``python -m test`` (eager) and
``python -m lazy_bind -m test`` (lazy; subprocesses stay eager, the adaptor
has no environment switch).

Each test module runs in a fresh process of its own (``python -m test -v
--timeout T MODULE``, ``-j`` of them at a time), so a crash or a hang is
pinned on its module. The outcome of a module comes from regrtest's summary
(``Tests result: ...``); no summary means a crash, and overrunning the
harness's per-module limit a timeout. Failing cases come from unittest's
reports (``FAIL: name (id)``, ``ERROR: ...``, ``UNEXPECTED SUCCESS: ...``);
a failing subtest counts as its test case. regrtest's ``--junit-xml`` would
give the same but needs ``test.support.testresult``, which pyenv's 3.11.7
does not ship, and does not record subtests.

A *lazy-only failure* is a test case that fails lazily in a module that ran
eagerly without failing that case; or a module-level pseudo-case
``test_x::<crashed>``, ``::<timeout>``, ``::<skipped>``, ``::<env changed>``,
``::<failed>`` (failed with no case named) for a module whose lazy outcome is
that and whose eager one was not. Lazy-only failures are run a second time
lazily (``--no-confirm`` skips it); only those that fail again count (the
others are listed as flaky). Each is then matched against
``benches/compat_expectations.toml`` (the accepted differences with their
reason; see the file's header). Printed: modules passed eagerly/lazily, the
lazy-only failing cases, the unexpected ones, and accepted entries that no
longer fail (stale). The exit status is 1 if there is an unexpected lazy-only
failure (or, with ``--fail-stale``, a stale entry), 2 on a usage or set-up
error, 0 otherwise.

Logs of every module run go to ``--out`` (default
``target/compat/<suite>-<subset>``), with ``summary.json``.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTATIONS = os.path.join(ROOT, "benches", "compat_expectations.toml")
DEFAULT_PYTHON = {
    "fork": os.path.join(ROOT, "target", "cpython-fork", "build-lazy", "python"),
    "adaptor": os.path.join(ROOT, "target", "tmp", "cpython-venv", "bin", "python"),
}

# Modules never run, with the reason. Resource-gated tests (network, GUI,
# audio, large files, cpu-heavy: regrtest's -u resources) are not enabled
# either, so the parts of other modules that need them are skipped in both
# runs. No module is excluded for being slow: on the 2-core machine the
# slowest (test_concurrent_futures, test_multiprocessing_*) take 1-2 min.
EXCLUDED = {
    # network: need the internet, which this machine does not have (without
    # -u network they would only report "resource denied")
    "test_urllib2net": "network (internet)",
    "test_urllibnet": "network (internet)",
    "test_nntplib": "network (internet)",
    "test_smtpnet": "network (internet)",
    "test_timeout": "network (internet)",
    # GUI
    "test_tkinter": "GUI (Tk)",
    "test_ttk": "GUI (Tk)",
    "test_ttk_textonly": "GUI (Tk)",
    "test_tix": "GUI (Tk)",
    "test_idle": "GUI (Tk)",
    "test_turtle": "GUI (Tk)",
    "test_curses": "terminal UI (needs a real terminal)",
    # platform-specific: other operating systems or hardware
    "test_winreg": "Windows only",
    "test_winsound": "Windows only",
    "test_winconsoleio": "Windows only",
    "test_msilib": "Windows only",
    "test_msvcrt": "Windows only",
    "test_launcher": "Windows only",
    "test_wmi": "Windows only",
    "test_devpoll": "Solaris only",
    "test_kqueue": "BSD/macOS only",
    "test_ossaudiodev": "OSS audio device",
    "test_gdb": "needs gdb and a debug build",
    "test_dtrace": "needs dtrace/systemtap",
    "test_perf_profiler": "needs perf",
}

# Test cases never run (regrtest's --ignore patterns), with the reason.
IGNORED_CASES = {
    "*VSOCK*": "AF_VSOCK: this VM has the socket family but no peer, so "
               "ThreadedVSOCKSocketStreamTest's accept() blocks until the timeout (eager too)",
}

# The CI subset: both suites, each run twice, fit in about 10 minutes on 2
# cores. Always the embedding, import and crash (faulthandler) tests; then
# modules that exercise importing, module dicts, registries and
# subprocesses.
CI_MODULES = [
    "test_embed", "test_import", "test_importlib", "test_pkg", "test_pkgutil",
    "test_runpy", "test_zipimport", "test_zipimport_support", "test_module",
    "test_modulefinder", "test_cmd_line", "test_cmd_line_script", "test_sys",
    "test_site", "test_dataclasses", "test_typing", "test_enum",
    "test_functools", "test_inspect", "test_traceback", "test_warnings",
    "test_codecs", "test_pickle", "test_copyreg", "test_json", "test_logging",
    "test_unittest", "test_doctest", "test_pydoc", "test_threading",
    "test_subprocess", "test_os", "test_abc", "test_collections",
    "test_contextlib", "test_argparse", "test_email", "test_tempfile",
    "test_shutil", "test_zipfile", "test_tarfile", "test_gzip", "test_csv",
    "test_re", "test_string", "test_pprint", "test_atexit", "test_faulthandler",
    # every module with an accepted lazy-only failure, so that CI sees them
    # stop failing (stale entries)
    "test_datetime", "test_zoneinfo", "test_clinic", "test_heapq",
    "test_distutils", "test_compileall", "test_cppext", "test_trace",
    "test_venv",
]

SUMMARY_RE = re.compile(r"^(?:== )?(?:Tests )?[Rr]esult: ([A-Z ,]+?)(?: ==)?$", re.M)
CASE_RE = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([^()\s]*)\)", re.M)
SKIP_RE = re.compile(r"^(?:\d+:\d+:\d+ (?:load avg: [\d.]+ )?)?(?:\[[ \d/]+\] )?(test_\w+) skipped(?: -- (.*))?$", re.M)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def list_modules(python, env):
    """The regression test modules this interpreter ships."""
    out = subprocess.run(
        [python, "-c", "import os, test; print(os.path.dirname(test.__file__))"],
        capture_output=True, text=True, env=env, timeout=120, check=True).stdout
    testdir = out.strip()
    names = []
    for entry in sorted(os.listdir(testdir)):
        path = os.path.join(testdir, entry)
        if not entry.startswith("test_"):
            continue
        if entry.endswith(".py"):
            names.append(entry[:-3])
        elif os.path.isdir(path) and os.path.exists(os.path.join(path, "__init__.py")):
            names.append(entry)
    return names


EXC_LINE_RE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failure)\b")


def key_line(block):
    """The line of a unittest report that names the exception (the last
    ``SomeError: ...`` line, else the last unindented one)."""
    best = exc = ""
    for line in block:
        if not line or line[0].isspace() or line.startswith(("Traceback", "During handling",
                                                               "The above exception", "---", "===")):
            continue
        best = line
        if EXC_LINE_RE.match(line):
            exc = line
    return (exc or best)[:300]


def parse_output(text, rc, timed_out, module="?"):
    """(status, {failing case id: key line of its traceback}, skip reason) of
    one module's run."""
    cases = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = CASE_RE.match(line)
        if not m:
            continue
        name, ident = m.group(2), m.group(3)
        if not ident:  # a doctest: "FAIL: merge ()"
            ident = f"{module}::doctest:{name}"
        elif not ident.endswith("." + name) and ident != name:
            ident = f"{ident}.{name}"
        block = []
        start = i + 1
        while start < len(lines) and not lines[start].startswith("-" * 20):
            start += 1  # a docstring or doctest name under the header
        for later in lines[start + 1:]:
            if later.startswith("=" * 20) or later.startswith("-" * 20):
                break
            block.append(later)
        cases.setdefault(ident, key_line(block))
    if timed_out:
        return "timeout", cases, None
    results = SUMMARY_RE.findall(text)
    if not results:
        return "crashed", cases, f"exit code {rc}"
    result = results[-1]
    if "FAILURE" in result or "INTERRUPTED" in result:
        status = "failed"
    elif "ENV CHANGED" in result:
        status = "env changed"
    elif "NO TEST" in result:
        status = "no tests"
    else:
        status = "passed"
    reason = None
    skip = SKIP_RE.search(text)
    if status == "passed" and skip:
        status, reason = "skipped", skip.group(2)
    if status == "passed" and re.search(r"^\d+ tests? skipped:", text, re.M):
        status = "skipped"
    if "regrtest worker thread crashed" in text or "crashed (Exit code" in text:
        status = "crashed"
    return status, cases, reason


class Runner:
    def __init__(self, args, suite):
        self.args = args
        self.suite = suite
        self.python = os.path.abspath(args.python or DEFAULT_PYTHON[suite])
        self.deadline = time.monotonic() + args.overall_timeout
        self.lock = threading.Lock()
        self.procs = set()
        self.aborted = False

    def command(self, mode, module):
        ignore = [arg for pat in IGNORED_CASES for arg in ("-i", pat)]
        test = ["-m", "test", "-v", "--timeout", str(self.args.timeout), *ignore, module]
        env = dict(os.environ)
        for var in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH",
                    "PYTHONHOME", "LAZY_BIND_POLICY", "PYTHON_LAZY_IMPORTS_REPORT"):
            env.pop(var, None)
        if self.suite == "fork":
            env["PYTHON_LAZY_IMPORTS"] = "all" if mode == "lazy" else "none"
            xopt = ["-X", "lazy_imports=all"] if mode == "lazy" else []
            return [self.python, *xopt, *test], env
        if mode == "lazy":
            return [self.python, "-m", "lazy_bind", *test], env
        return [self.python, *test], env

    def check_lazy(self):
        """The lazy command really is lazy (fails fast on a missing adaptor)."""
        probe = ("import sys\nif hasattr(sys, 'get_lazy_imports'):\n"
                 "    assert sys.get_lazy_imports() == 'all', sys.get_lazy_imports()\n"
                 "else:\n    import lazy_bind._native\n")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "probe.py")
            with open(path, "w") as f:
                f.write(probe)
            env = self.env()
            if self.suite == "fork":
                env["PYTHON_LAZY_IMPORTS"] = "all"
                cmd = [self.python, "-X", "lazy_imports=all", path]
            else:
                cmd = [self.python, "-m", "lazy_bind", path]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if proc.returncode:
            log(f"compat: the lazy command does not work: {' '.join(cmd)}\n{proc.stderr}")
        return proc.returncode == 0

    def env(self):
        return self.command("eager", "x")[1]

    def run_one(self, mode, module, logdir):
        cmd, env = self.command(mode, module)
        if self.aborted or self.deadline - time.monotonic() < 1:
            return module, "timeout", {}, "overall timeout reached", 0.0
        limit = min(self.args.timeout + 60, max(1.0, self.deadline - time.monotonic()))
        tmp = tempfile.mkdtemp(prefix=f"compat-{module}-")
        start = time.monotonic()
        timed_out = False
        proc = subprocess.Popen(cmd, env=env, cwd=tmp, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        with self.lock:
            self.procs.add(proc)
        try:
            out, _ = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:  # a grandchild in its own session holds the pipe
                proc.stdout.close()
                proc.wait()
                out = b""
        finally:
            with self.lock:
                self.procs.discard(proc)
            # A test that left children behind: end its process group.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            shutil.rmtree(tmp, ignore_errors=True)
        elapsed = time.monotonic() - start
        timed_out = timed_out or self.aborted  # killed by the overall timeout
        text = out.decode("utf-8", "replace")
        with open(os.path.join(logdir, f"{module}.log"), "w") as f:
            f.write(f"$ {' '.join(cmd)}\n# PYTHON_LAZY_IMPORTS={env.get('PYTHON_LAZY_IMPORTS', '')}"
                    f" rc={proc.returncode} {elapsed:.1f}s\n{text}")
        status, cases, reason = parse_output(text, proc.returncode, timed_out, module)
        return module, status, cases, reason, elapsed

    def run_all(self, mode, modules, logdir):
        os.makedirs(logdir, exist_ok=True)
        results = {}
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(self.args.jobs) as pool:
            futures = [pool.submit(self.run_one, mode, m, logdir) for m in modules]
            for i, fut in enumerate(concurrent.futures.as_completed(futures), 1):
                module, status, cases, reason, elapsed = fut.result()
                results[module] = {"status": status, "cases": dict(sorted(cases.items())),
                                   "reason": reason, "seconds": round(elapsed, 1)}
                if self.args.verbose or status not in ("passed", "skipped", "no tests"):
                    log(f"  [{mode} {i}/{len(modules)}] {module}: {status}"
                        f"{f' ({len(cases)} failing)' if cases else ''} {elapsed:.0f}s")
        return results, time.monotonic() - start

    def kill_all(self):
        self.aborted = True
        with self.lock:
            for proc in self.procs:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def lazy_only(eager, lazy):
    """Lazy-only failing ids per module."""
    found = {}
    for module, lz in lazy.items():
        eg = eager.get(module)
        if eg is None:
            continue
        ids = set()
        e_status, l_status = eg["status"], lz["status"]
        if l_status in ("crashed", "timeout", "skipped", "env changed") and e_status != l_status:
            if not (l_status == "skipped" and e_status in ("no tests",)):
                ids.add(f"{module}::<{l_status}>")
        if e_status not in ("crashed", "timeout", "skipped", "no tests"):
            ids |= set(lz["cases"]) - set(eg["cases"])
        if l_status == "failed" and e_status != "failed" and not lz["cases"]:
            ids.add(f"{module}::<failed>")
        if ids:
            found[module] = ids
    return found


def load_expectations(path, suite):
    """[(id pattern, entry)] for this suite, in file order."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    categories = data.get("categories", {})
    patterns = []
    for i, entry in enumerate(data.get("accepted", [])):
        ids = entry.get("ids") or ([entry["id"]] if "id" in entry else [])
        where = f"{path}: accepted entry {i + 1} ({ids[0] if ids else '?'})"
        if not ids:
            raise SystemExit(f"{where} has no 'id' or 'ids'")
        for key in ("suite", "category", "reason", "remedy"):
            if key not in entry:
                raise SystemExit(f"{where} has no '{key}'")
        if entry["suite"] not in ("fork", "adaptor", "both"):
            raise SystemExit(f"{where}: suite must be fork, adaptor or both")
        if entry["category"] not in categories:
            raise SystemExit(f"{where}: unknown category {entry['category']!r}")
        if entry["category"] == "runtime-bug" and not entry.get("issue"):
            raise SystemExit(f"{where}: a runtime bug needs 'issue'")
        if entry["suite"] in (suite, "both"):
            patterns += [(pattern, entry) for pattern in ids]
    return patterns, categories


def match(patterns, ident):
    for pattern, entry in patterns:
        if fnmatch.fnmatchcase(ident, pattern):
            return pattern, entry
    return None


def module_of(ident):
    """The test module an id (or id pattern) belongs to."""
    if "::" in ident:
        return ident.split("::")[0]
    parts = ident.split(".")
    return parts[1] if parts[0] == "test" and len(parts) > 1 else parts[0]


def counts(results):
    c = {}
    for r in results.values():
        c[r["status"]] = c.get(r["status"], 0) + 1
    return c


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=["fork", "adaptor"])
    parser.add_argument("--subset", choices=["ci", "full"], default="ci")
    parser.add_argument("--modules", help="comma-separated modules instead of the subset")
    parser.add_argument("--python", help="interpreter (default: the suite's build)")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=600,
                        help="regrtest's per-module --timeout in seconds (default 600)")
    parser.add_argument("--overall-timeout", type=int, default=3 * 3600,
                        help="the whole run's limit in seconds (default 3 h)")
    parser.add_argument("--expectations", default=EXPECTATIONS)
    parser.add_argument("--out", help="log directory (default target/compat/SUITE-SUBSET)")
    parser.add_argument("--no-confirm", action="store_true",
                        help="do not re-run lazy-only failures to rule out flakes")
    parser.add_argument("--reuse-eager", metavar="SUMMARY_JSON",
                        help="skip the eager pass: take its results from an earlier summary.json")
    parser.add_argument("--fail-stale", action="store_true",
                        help="exit 1 also when an accepted entry no longer fails")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()

    runner = Runner(args, args.suite)
    if not os.path.exists(runner.python):
        log(f"compat: no interpreter at {runner.python} "
            f"({'run runtimes/cpython-fork/build.sh' if args.suite == 'fork' else 'run cargo test -j1 --test cpython_adaptor'})")
        return 2
    entries, categories = load_expectations(args.expectations, args.suite)
    if not runner.check_lazy():
        return 2
    available = list_modules(runner.python, runner.env())
    if args.modules:
        wanted = [m.strip() for m in args.modules.split(",") if m.strip()]
        missing = [m for m in wanted if m not in available]
        if missing:
            log(f"compat: not in this interpreter's test package: {' '.join(missing)}")
            return 2
        modules, subset = wanted, "custom"
    elif args.subset == "ci":
        modules = [m for m in dict.fromkeys(CI_MODULES) if m in available]
        subset = "ci"
    else:
        modules = [m for m in available if m not in EXCLUDED]
        subset = "full"
    excluded = sorted(set(available) & set(EXCLUDED)) if subset == "full" else []
    out = os.path.abspath(args.out or os.path.join(ROOT, "target", "compat", f"{args.suite}-{subset}"))
    os.makedirs(out, exist_ok=True)
    log(f"compat: {args.suite}, {len(modules)} modules ({subset}; {len(excluded)} excluded), "
        f"{runner.python}, -j{args.jobs}, logs in {out}")

    timer = threading.Timer(args.overall_timeout, runner.kill_all)
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    if args.reuse_eager:
        with open(args.reuse_eager) as f:
            old = json.load(f)
        eager, eager_time = old["eager"], old["eager_seconds"]
        eager = {m: r for m, r in eager.items() if m in modules}
    else:
        log("compat: eager run")
        eager, eager_time = runner.run_all("eager", modules, os.path.join(out, "eager"))
    log("compat: lazy run")
    lazy, lazy_time = runner.run_all("lazy", modules, os.path.join(out, "lazy"))
    found = lazy_only(eager, lazy)
    flaky = set()
    confirm_time = 0.0
    if found and not args.no_confirm:
        log(f"compat: confirming {len(found)} modules lazily")
        again, confirm_time = runner.run_all("lazy", sorted(found), os.path.join(out, "lazy-confirm"))
        refound = lazy_only(eager, again)
        for module in list(found):
            keep = found[module] & refound.get(module, set())
            flaky |= found[module] - keep
            if keep:
                found[module] = keep
            else:
                del found[module]
    timer.cancel()
    total = time.monotonic() - started

    ids = sorted(i for s in found.values() for i in s)
    detail = {}
    for module, idset in found.items():
        r = lazy[module]
        for ident in idset:
            detail[ident] = r["cases"].get(ident) or f"{r['status']}: {r['reason'] or ''}".strip()
    accepted, unexpected, by_category = [], [], {}
    used = set()
    for ident in ids:
        found_entry = match(entries, ident)
        if found_entry is None:
            unexpected.append(ident)
        else:
            pattern, entry = found_entry
            accepted.append((ident, entry))
            used.add(pattern)
            by_category[entry["category"]] = by_category.get(entry["category"], 0) + 1
    ran = set(modules)
    stale = [] if runner.aborted else [
        (pattern, entry) for pattern, entry in entries if pattern not in used
        and fnmatch.filter(ran, module_of(pattern))]

    e_counts, l_counts = counts(eager), counts(lazy)
    summary = {
        "suite": args.suite, "subset": subset, "python": runner.python,
        "modules": len(modules), "excluded": excluded,
        "eager_counts": e_counts, "lazy_counts": l_counts,
        "eager_seconds": round(eager_time, 1), "lazy_seconds": round(lazy_time, 1),
        "confirm_seconds": round(confirm_time, 1), "total_seconds": round(total, 1),
        "lazy_only": detail, "flaky": sorted(flaky), "unexpected": unexpected,
        "accepted_by_category": by_category,
        "stale": [pattern for pattern, _ in stale],
        "eager": eager, "lazy": lazy,
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)

    print(f"== compat {args.suite} ({subset}): {len(modules)} modules, "
          f"{len(excluded)} excluded, -j{args.jobs}")
    print(f"eager: {e_counts.get('passed', 0)} passed, {fmt_counts(e_counts)}; {eager_time:.0f} s")
    print(f"lazy:  {l_counts.get('passed', 0)} passed, {fmt_counts(l_counts)}; {lazy_time:.0f} s")
    print(f"lazy-only failing cases: {len(ids)} in {len(found)} modules"
          f" ({len(flaky)} more were flaky: failed once, passed on the re-run)")
    for cat in sorted(by_category):
        print(f"  accepted, {cat}: {by_category[cat]}")
    if flaky:
        print("flaky (not counted):")
        for ident in sorted(flaky):
            print(f"  {ident}")
    if stale:
        print(f"stale accepted entries (no longer fail; remove them): {len(stale)}")
        for pattern, entry in stale:
            print(f"  {pattern}  [{entry['category']}]")
    if unexpected:
        print(f"UNEXPECTED lazy-only failures: {len(unexpected)} (logs: {out}/lazy)")
        for ident in unexpected:
            print(f"  {ident}\n      {detail[ident][:200]}")
    else:
        print("no unexpected lazy-only failures")
    print(f"wall time: {total:.0f} s (eager {eager_time:.0f}, lazy {lazy_time:.0f}, "
          f"confirm {confirm_time:.0f})")
    if runner.aborted:
        print(f"OVERALL TIMEOUT ({args.overall_timeout} s) reached: the results are incomplete")
    return 1 if unexpected or runner.aborted or (stale and args.fail_stale) else 0


def fmt_counts(c):
    return ", ".join(f"{v} {k}" for k, v in sorted(c.items()) if k != "passed") or "nothing else"


if __name__ == "__main__":
    sys.exit(main())
