"""``python -m lazy_bind report``: the HTML report of a program run under
either runtime, with eager costs.

Runs the program lazily, traced (the adaptor's ``--trace`` or the fork's
``-X lazy_imports_trace``), and, unless ``--no-eager``, once eagerly with
``-X importtime``, whose cumulative times are the report's "eager import
would cost" column for the deferred imports never used. The page comes
from the same renderer (``_html``) as the adaptor's in-process
``--report=html FILE``. The program's output is passed through; the exit
status is the lazy run's.

The options are parsed with argparse: the tools are not on a program's
start-up path.
"""

import shlex
import sys

from . import _html, _importtime, _runs

NOT_FOUND = 3


def parse(argv):
    """The options and the program (after ``--``)."""
    parser = _runs.tool_parser(
        "report", "Run a program lazily and write its HTML report.",
        "a policy file to run under", timeout=600.0, usage="--html FILE [options]")
    parser.add_argument("--html", required=True, metavar="FILE", help="write the report here")
    parser.add_argument("--no-eager", action="store_true",
                        help="skip the eager run (the eager costs are then unknown)")
    args, command = _runs.parse_tool_args(parser, argv)
    return args, command


def main(argv):
    """Runs ``report`` with ``argv`` and exits with the lazy run's status."""
    args, command = parse(argv)
    try:
        policy = ""
        if args.policy:
            with open(args.policy, encoding="utf-8") as file:
                policy = file.read()
        program = _runs.Program(args.python, command, args.timeout)
    except (OSError, _runs.NotFound) as error:
        print(f"lazy_bind report: {error}", file=sys.stderr)
        sys.exit(NOT_FOUND)
    costs = {}
    if not args.no_eager:
        eager = program.run_eager(["-X", "importtime"])
        costs = _importtime.cumulative_by_name(_importtime.parse(eager.stderr))
    lazy = program.run_lazy(policy)
    sys.stdout.buffer.write(lazy.stdout)
    sys.stdout.flush()
    sys.stderr.write(lazy.stderr)
    title = f"lazy_bind report ({program.runtime}): {program.python} {shlex.join(command)}"
    _html.write(args.html, lazy.traces, costs, title)
    print(f"lazy_bind report: wrote {args.html} ({lazy.describe()}, "
          f"{sum(len(t.resolutions) for t in lazy.traces)} resolutions)", file=sys.stderr)
    sys.exit(lazy.status if lazy.status is not None else 1)
