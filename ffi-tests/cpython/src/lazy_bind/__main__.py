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


def _split(argv):
    """(lazy_bind's options, module or None, the program's argv): the
    program starts at the first argument that is not an option of ours,
    or right after `-m MODULE`."""
    with_value = {"--policy", "--trace"}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            if i + 1 == len(argv):
                break
            return argv[:i], argv[i + 1], argv[i + 2 :]
        if arg in with_value:
            i += 2
        elif arg.startswith("-") and arg != "-":
            i += 1
        else:
            return argv[:i], None, argv[i:]
    return argv, None, []


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="python -m lazy_bind",
        usage="python -m lazy_bind [options] (script.py | -m MODULE) [args]",
        description="Run a Python program with lazy imports (mode all).",
    )
    parser.add_argument("--policy", metavar="TEXT|@FILE", help="policy text or @policy-file")
    parser.add_argument("--trace", metavar="FILE.json", help="write a Chrome trace at exit")
    parser.add_argument("--report", action="store_true", help="print a report to stderr at exit")
    ours, module, program = _split(argv)
    options = parser.parse_args(ours)
    if module is None and not program:
        parser.error("give a script or -m MODULE")
    options.module = module
    options.target = program
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
