"""What ``--report``, ``--report=html`` and ``--trace`` write at exit."""

import atexit
import os
import sys
import tempfile

from . import _native


def print_report(stream):
    """Writes the counters and the engine's ``-X importtime``-shaped report
    (resolutions, then the deferred imports never needed) to ``stream``."""
    counts = _native.counters()
    print("lazy_bind: deferred {deferred}, resolved {resolved}, failed {failed}, "
          "never needed {pending}".format(**counts), file=stream)
    print(_native.importtime_report(), file=stream, end="")


def write_trace(path):
    """Writes the Chrome trace to ``path``, reporting (not raising) failure."""
    try:
        _native.write_chrome_trace(path)
    except OSError as error:
        print(f"lazy_bind: {error}", file=sys.stderr)


def process_trace_path(path):
    """``path`` with this process's id before its suffix:
    ``trace.json`` -> ``trace.<pid>.json``."""
    root, suffix = os.path.splitext(path)
    return f"{root}.{os.getpid()}{suffix}"


def print_report_at_exit(stream):
    """Prints the report to ``stream`` at exit of this process only (not
    of a child forked from it)."""
    owner = os.getpid()

    def report():
        if os.getpid() == owner:
            print_report(stream)

    atexit.register(report)


def write_trace_at_exit(path):
    """Writes the trace to ``path`` at exit; a child forked from this
    process writes its own to :func:`process_trace_path` instead."""
    owner = os.getpid()

    def write():
        write_trace(path if os.getpid() == owner else process_trace_path(path))

    atexit.register(write)


def write_html(path):
    """Writes the HTML report of this process's trace to ``path``
    (``_html``), reporting (not raising) failure."""
    from . import _html, _trace

    try:
        with tempfile.TemporaryDirectory(prefix="lazy_bind-") as directory:
            trace = os.path.join(directory, "trace.json")
            _native.write_chrome_trace(trace)
            traces = [_trace.load(trace)]
        _html.write(path, traces, title=f"lazy_bind report: {' '.join(sys.argv)}")
    except OSError as error:
        print(f"lazy_bind: {error}", file=sys.stderr)


def write_html_at_exit(path):
    """Writes the HTML report to ``path`` at exit of this process only (not
    of a child forked from it)."""
    owner = os.getpid()

    def write():
        if os.getpid() == owner:
            write_html(path)

    atexit.register(write)
