"""Runs a Python program eagerly or lazily, for the tools (``bisect``,
``check``, ``report``), under either lazy_bind runtime.

The program is given as ``python`` takes it (``script.py args``, ``-m
module args``, ``-c code``) and runs under ``--python PYTHON``:

- the stock-CPython adaptor (``PYTHON`` has the ``lazy_bind`` package):
  lazily as ``PYTHON -m lazy_bind --trace T ...``, its Python children
  lazy too and writing ``T.<pid>.json``;
- a lazy_bind fork of CPython (``PYTHON`` has the ``_lazy_imports`` builtin
  module): lazily as ``PYTHON -X lazy_imports=all -X lazy_imports_trace=T
  ...`` with ``PYTHON_LAZY_IMPORTS=all`` for its children.

Either way the policy text goes in ``LAZY_BIND_POLICY``, and an eager run is
the plain ``PYTHON ...`` (``-X lazy_imports=none`` under the fork). Each run
is a fresh process group, killed whole when its time is up.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import _policy, _trace

ADAPTOR = "adaptor"
FORK = "fork"
_PROBE = ("import importlib.util as u; "
          "print('fork' if u.find_spec('_lazy_imports') else "
          "'adaptor' if u.find_spec('lazy_bind') else 'none')")
_ERROR_LINE = re.compile(r"(FAIL|FAILED|ERROR)\b|([A-Za-z_][\w.]*)?(Error|Exception|Exit)\b")
_OUR_VARIABLES = ("LAZY_BIND_SUBPROCESS", "LAZY_BIND_SUBPROCESS_TRACE", "LAZY_BIND_POLICY",
                  "PYTHON_LAZY_IMPORTS")


class NotFound(Exception):
    """The interpreter, or the program it should run, does not exist, or
    the interpreter has no lazy_bind runtime."""


class Outcome:
    """How one run ended: ``status`` (the exit status, ``-N`` for signal N,
    None on timeout), ``stdout`` (bytes), ``stderr`` (text), ``seconds``,
    and the run's traces when it was traced."""

    def __init__(self, status, stdout, stderr, seconds, traces=()):
        self.status, self.stdout, self.stderr = status, stdout, stderr
        self.seconds, self.traces = seconds, list(traces)

    def same(self, other, compare_output):
        """Whether ``other`` ended as this run did: the same exit status,
        and with ``compare_output`` the same standard output."""
        if self.status != other.status:
            return False
        return not compare_output or self.stdout == other.stdout

    def describe(self):
        """One line: the status and the last error line (an exception's, or
        a unittest or pytest ``FAIL``/``ERROR`` line) of stderr, else of
        stdout, else the last line of stderr, if any."""
        if self.status is None:
            what = f"timed out after {self.seconds:.1f} s"
        elif self.status < 0:
            what = f"killed by signal {-self.status}"
        else:
            what = f"exit {self.status}"
        lines = [line.strip() for line in self.stderr.splitlines()
                 if line.strip() and not line.startswith("import time:")]
        output = self.stdout.decode(errors="replace").splitlines()
        last = ([line for line in lines if _ERROR_LINE.match(line)]
                or [line.strip() for line in output if _ERROR_LINE.match(line.strip())]
                or lines)
        return f"{what}: {last[-1]}" if last else what


class Program:
    """``command`` (``python``'s arguments) run by the interpreter
    ``python``, whose lazy_bind runtime is found once, at construction."""

    def __init__(self, python, command, timeout):
        path = shutil.which(python)
        if path is None:
            raise NotFound(f"no interpreter {python!r}")
        self.python, self.command, self.timeout = path, list(command), timeout
        if not self.command:
            raise NotFound("no program given after --")
        first = self.command[0]
        if not first.startswith("-") and not os.path.exists(first):
            raise NotFound(f"no such script: {first!r}")
        probe = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True,
                               env=_clean_environment(), timeout=timeout)
        self.runtime = probe.stdout.strip()
        if probe.returncode != 0 or self.runtime not in (ADAPTOR, FORK):
            raise NotFound(f"{path} has no lazy_bind runtime (neither the lazy_bind package "
                           "nor the fork's _lazy_imports module)")

    def run_eager(self, options=()):
        """Runs the program with lazy imports off; ``options`` go to the
        interpreter (``-X importtime``)."""
        env = _clean_environment()
        argv = [self.python, *options]
        if self.runtime == FORK:
            argv += ["-X", "lazy_imports=none"]
            env["PYTHON_LAZY_IMPORTS"] = "none"
        return self._run(argv + self.command, env)

    def run_lazy(self, policy_text, options=()):
        """Runs the program lazily under ``policy_text`` (with the
        runtime's built-in rules), traced; the outcome carries the traces
        of the program and its traced children."""
        env = _clean_environment()
        env["LAZY_BIND_POLICY"] = policy_text
        with tempfile.TemporaryDirectory(prefix="lazy_bind-run-") as directory:
            trace = os.path.join(directory, "trace.json")
            argv = [self.python, *options]
            if self.runtime == FORK:
                env["PYTHON_LAZY_IMPORTS"] = "all"
                if not _policy.sets_mode(policy_text):
                    argv += ["-X", "lazy_imports=all"]
                argv += ["-X", f"lazy_imports_trace={trace}"]
            else:
                argv += ["-m", "lazy_bind", "--trace", trace]
            outcome = self._run(argv + self.command, env)
            outcome.traces = _trace.load_run(trace)
        return outcome

    def _run(self, argv, env):
        started = time.monotonic()
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env, start_new_session=True)
        try:
            stdout, stderr = child.communicate(timeout=self.timeout)
            status = child.returncode
        except subprocess.TimeoutExpired:
            _kill_group(child)
            stdout, stderr = child.communicate()
            status = None
        except BaseException:
            _kill_group(child)
            child.wait()
            raise
        return Outcome(status, stdout, stderr.decode(errors="replace"),
                       time.monotonic() - started)


def _kill_group(child):
    """Kills the run's process group (the program and its children)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _clean_environment():
    """This process's environment without lazy_bind's own variables, so a
    run is lazy only when asked."""
    return {k: v for k, v in os.environ.items() if k not in _OUR_VARIABLES}


def split_command(argv):
    """``argv`` split at the first ``--``: (the tool's options, the
    program). Without ``--`` the program is empty."""
    if "--" not in argv:
        return list(argv), []
    at = argv.index("--")
    return list(argv[:at]), list(argv[at + 1:])


def tool_parser(tool, description, policy_help, timeout, usage="[options]", **kwargs):
    """An argparse parser for ``python -m lazy_bind TOOL`` with the options
    every tool has: ``--python``, ``--policy FILE`` (``policy_help``) and
    ``--timeout S`` (default ``timeout`` seconds per run)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m lazy_bind {tool}", description=description,
        usage=f"%(prog)s {usage} -- (script.py | -m MODULE | -c CODE) [args]", **kwargs)
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter: one with the lazy_bind package, or a lazy_bind "
                             "fork (default: this one)")
    parser.add_argument("--policy", metavar="FILE", help=policy_help)
    parser.add_argument("--timeout", type=float, default=timeout, metavar="S",
                        help=f"seconds each run may take (default {timeout:g})")
    return parser


def parse_tool_args(parser, argv):
    """Parses the tool's options before ``--`` with ``parser`` and returns
    (options, program); no program after ``--`` is a usage error."""
    options, command = split_command(argv)
    args = parser.parse_args(options)
    if not command:
        parser.error("give the program after --")
    return args, command
