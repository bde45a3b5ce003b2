"""``python -m lazy_bind [--report] script.py [args]`` or ``... -m module [args]``.

Runs a program with every eligible import deferred (mode ``all``), like
Cinder's ``-L``. ``--report`` prints, at exit, what was deferred and which
deferred imports were never needed.
"""

import argparse
import atexit
import runpy
import sys

import lazy_bind
from lazy_bind import _report


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m lazy_bind",
        description="Run a Python program with lazy imports (mode all).",
    )
    parser.add_argument("--report", action="store_true", help="print a report at exit")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (and its submodules) eagerly; repeatable",
    )
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module as a script")
    parser.add_argument("target", nargs=argparse.REMAINDER, help="script.py [args]")
    options = parser.parse_args(argv)
    if options.module is None and not options.target:
        parser.error("give a script or -m MODULE")
    return options


def main(argv=None):
    options = _parse(sys.argv[1:] if argv is None else argv)
    if options.report:
        atexit.register(_report.print_report, sys.stderr)
    lazy_bind.enable(exclude=options.exclude)
    if options.module is not None:
        sys.argv = [options.module, *options.target]
        runpy.run_module(options.module, run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(options.target)
        sys.path[0] = _script_dir(options.target[0])
        runpy.run_path(options.target[0], run_name="__main__")


def _script_dir(path):
    import os

    return os.path.dirname(os.path.abspath(path))


if __name__ == "__main__":
    main()
