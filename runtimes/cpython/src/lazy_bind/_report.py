"""What ``--report`` and ``--trace`` write at exit."""

import sys

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
