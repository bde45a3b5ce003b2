"""``python -m lazy_bind [--policy TEXT|@FILE] [--trace FILE.json] [--report]
script.py [args]`` or ``... -m module [args]``.

Runs a program with every eligible import deferred (mode ``all`` unless the
policy says otherwise), like Cinder's ``-L``. Without ``--policy``, the
``LAZY_BIND_POLICY`` environment variable is used. ``--trace`` writes a
Chrome trace-event JSON file at exit (open it in Perfetto); ``--report``
prints an ``-X importtime``-shaped report of the deferred imports that were
resolved, and those never needed, to stderr at exit.
"""

import argparse
import atexit
import os
import runpy
import sys

import lazy_bind
from lazy_bind import _report


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m lazy_bind",
        description="Run a Python program with lazy imports (mode all).",
    )
    parser.add_argument("--policy", metavar="TEXT|@FILE", help="policy text or @policy-file")
    parser.add_argument("--trace", metavar="FILE.json", help="write a Chrome trace at exit")
    parser.add_argument("--report", action="store_true", help="print a report to stderr at exit")
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module as a script")
    parser.add_argument("target", nargs=argparse.REMAINDER, help="script.py [args]")
    options = parser.parse_args(argv)
    if options.module is None and not options.target:
        parser.error("give a script or -m MODULE")
    return options


def main(argv=None):
    options = _parse(sys.argv[1:] if argv is None else argv)
    try:
        lazy_bind.enable(policy=options.policy)
    except (lazy_bind.PolicyError, OSError) as error:
        sys.exit(f"python -m lazy_bind: bad policy: {error}")
    if options.trace or options.report:
        lazy_bind.trace()
    if options.trace:
        atexit.register(_report.write_trace, options.trace)
    if options.report:
        atexit.register(_report.print_report, sys.stderr)
    if options.module is not None:
        sys.argv = [options.module, *options.target]
        runpy.run_module(options.module, run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(options.target)
        sys.path[0] = os.path.dirname(os.path.abspath(options.target[0]))
        runpy.run_path(options.target[0], run_name="__main__")


if __name__ == "__main__":
    main()
