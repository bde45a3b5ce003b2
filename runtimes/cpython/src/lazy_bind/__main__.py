"""``python -m lazy_bind [--policy TEXT|@FILE] [--trace FILE.json] [--report]
script.py [args]`` or ``... -m module [args]``.

Runs a program with every eligible import deferred (mode ``all`` unless the
policy says otherwise), like Cinder's ``-L``. Without ``--policy``, the
``LAZY_BIND_POLICY`` environment variable is used. ``--trace`` writes a
Chrome trace-event JSON file at exit (open it in Perfetto); ``--report``
prints an ``-X importtime``-shaped report of the deferred imports that were
resolved, and those never needed, to stderr at exit.

The arguments are parsed by hand: argparse would import ``re`` and
``gettext`` before the program starts, which every run would pay for.
"""

import atexit
import os
import runpy
import sys

import lazy_bind
from lazy_bind import _report

USAGE = """usage: python -m lazy_bind [options] (script.py | -m MODULE) [args]

Run a Python program with lazy imports (mode all).

options:
  --policy TEXT|@FILE  policy text or @policy-file (default: $LAZY_BIND_POLICY)
  --trace FILE.json    write a Chrome trace at exit
  --report             print a report to stderr at exit
  -h, --help           show this help and exit
"""


class Options:
    """What the command line asked for."""

    def __init__(self):
        self.policy = None
        self.trace = None
        self.report = False
        self.module = None
        self.target = []


def _fail(message):
    sys.stderr.write(USAGE)
    sys.exit(f"python -m lazy_bind: error: {message}")


def parse(argv):
    """Options from ``argv``: ours come first; the program starts at the
    first argument that is not an option of ours, or after ``-m MODULE``."""
    options = Options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, has_value, value = arg.partition("=")
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            sys.exit(0)
        elif arg == "--report":
            options.report = True
        elif name in ("--policy", "--trace"):
            if not has_value:
                if i + 1 == len(argv):
                    _fail(f"{name} needs a value")
                i += 1
                value = argv[i]
            setattr(options, name[2:], value)
        elif arg == "-m":
            if i + 1 == len(argv):
                _fail("-m needs a module name")
            options.module = argv[i + 1]
            options.target = argv[i + 2 :]
            return options
        elif arg.startswith("-") and arg != "-":
            _fail(f"unknown option {arg}")
        else:
            options.target = argv[i:]
            return options
        i += 1
    _fail("give a script or -m MODULE")


def main(argv=None):
    options = parse(sys.argv[1:] if argv is None else argv)
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
