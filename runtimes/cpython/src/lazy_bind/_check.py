"""``python -m lazy_bind check``: a start-up budget for CI.

Runs the program lazily (``--runs`` times, traced, with ``-X importtime``)
and fails when it resolves more deferred imports than ``--max-resolved``,
spends more milliseconds importing than ``--max-ms`` (the median over the
runs of the cumulative ``-X importtime`` times at top level: every import,
eager or resolved), or exceeds a baseline recorded by ``--write-baseline``
(more resolutions, or ``--ms-tolerance`` percent more import time). A
failure lists what was resolved, with its cost.

The options are parsed with argparse: the tools are not on a program's
start-up path.
"""

import collections
import json
import statistics
import sys

from . import _importtime, _runs

WITHIN = 0
OVER = 1
USAGE = 2
NOT_FOUND = 3
COMMAND_FAILS = 4


class Measure:
    """What the runs measured: ``resolutions`` (of the run with the most)
    and ``import_ms`` (the median import time)."""

    def __init__(self, outcomes):
        runs = [[r for trace in o.traces for r in trace.resolutions if r.outcome == "resolved"]
                for o in outcomes]
        self.resolutions = max(runs, key=len)
        self.import_ms = statistics.median(
            _importtime.total_ms(_importtime.parse(o.stderr)) for o in outcomes)
        self.imports = _importtime.parse(outcomes[0].stderr)

    def names(self):
        """How many times each module was resolved."""
        return collections.Counter(r.name for r in self.resolutions)


def parse(argv):
    """The options and the program (after ``--``)."""
    parser = _runs.tool_parser(
        "check",
        "Fail when a program's lazy start-up resolves more imports, or spends more "
        "import time, than a budget or a recorded baseline.",
        "a policy file to run under", timeout=120.0,
        epilog=f"exit status: {WITHIN} within budget, {OVER} over budget, {USAGE} bad usage, "
               f"{NOT_FOUND} no such interpreter or script, {COMMAND_FAILS} the program fails")
    parser.add_argument("--max-resolved", type=int, metavar="N",
                        help="fail if more than N deferred imports are resolved")
    parser.add_argument("--max-ms", type=float, metavar="T",
                        help="fail if importing takes more than T milliseconds")
    parser.add_argument("--baseline", metavar="FILE",
                        help="fail if worse than the baseline recorded in FILE")
    parser.add_argument("--write-baseline", action="store_true",
                        help="record the measurement as the baseline in --baseline FILE")
    parser.add_argument("--ms-tolerance", type=float, default=25.0, metavar="PCT",
                        help="import time allowed over the baseline's, in percent (default 25)")
    parser.add_argument("--runs", type=int, default=3, metavar="R",
                        help="runs to take the median import time of (default 3)")
    args, command = _runs.parse_tool_args(parser, argv)
    if args.write_baseline and not args.baseline:
        parser.error("--write-baseline needs --baseline FILE")
    if args.max_resolved is None and args.max_ms is None and not args.baseline:
        parser.error("give a budget: --max-resolved, --max-ms or --baseline")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args, command


def main(argv):
    """Runs ``check`` with ``argv`` and exits with its status."""
    args, command = parse(argv)
    try:
        policy = _read(args.policy) if args.policy else ""
        baseline = None
        if args.baseline and not args.write_baseline:
            baseline = json.loads(_read(args.baseline))
        program = _runs.Program(args.python, command, args.timeout)
    except (OSError, ValueError, _runs.NotFound) as error:
        _say(str(error))
        sys.exit(NOT_FOUND)
    outcomes = [program.run_lazy(policy, ["-X", "importtime"]) for _ in range(args.runs)]
    failed = next((o for o in outcomes if o.status != 0), None)
    if failed is not None:
        _say(f"the program fails lazily ({failed.describe()})")
        sys.exit(COMMAND_FAILS)
    measure = Measure(outcomes)
    print(f"lazy_bind check: {len(measure.resolutions)} deferred imports resolved, "
          f"{measure.import_ms:.1f} ms importing (median of {args.runs})")
    if args.write_baseline:
        _write_baseline(args.baseline, program, measure)
    problems = _problems(args, measure, baseline)
    for problem in problems:
        print(f"over budget: {problem}")
    if problems:
        _list(measure, baseline)
        sys.exit(OVER)
    print("lazy_bind check: within budget")
    sys.exit(WITHIN)


def _problems(args, measure, baseline):
    """One sentence per budget the measurement exceeds."""
    problems = []
    resolved = len(measure.resolutions)
    if args.max_resolved is not None and resolved > args.max_resolved:
        problems.append(f"{resolved} deferred imports resolved, more than --max-resolved "
                        f"{args.max_resolved}")
    if args.max_ms is not None and measure.import_ms > args.max_ms:
        problems.append(f"{measure.import_ms:.1f} ms importing, more than --max-ms "
                        f"{args.max_ms:g}")
    if baseline is not None:
        allowed = baseline["import_ms"] * (1 + args.ms_tolerance / 100)
        if resolved > len(baseline["resolved"]):
            problems.append(f"{resolved} deferred imports resolved, more than the baseline's "
                            f"{len(baseline['resolved'])}")
        if measure.import_ms > allowed:
            problems.append(f"{measure.import_ms:.1f} ms importing, more than the baseline's "
                            f"{baseline['import_ms']:.1f} ms + {args.ms_tolerance:g}%")
    return problems


def _list(measure, baseline):
    """Prints the resolved imports, costliest first (those the baseline did
    not resolve marked ``new``), then the costliest top-level imports."""
    new = collections.Counter()
    if baseline is not None:
        new = measure.names() - collections.Counter(baseline["resolved"])
    print("resolved deferred imports (ms, module, declared at, forced at):")
    for resolution in sorted(measure.resolutions, key=lambda r: -r.duration):
        mark = ""
        if new[resolution.name] > 0:
            new[resolution.name] -= 1
            mark = "  [new]"
        print(f"  {resolution.duration / 1000:8.2f}  {resolution.name}  "
              f"{resolution.declared_at}  {resolution.forced_at or '?'}{mark}")
    top = sorted((i for i in measure.imports if i.level == 0), key=lambda i: -i.cumulative_us)
    print("costliest top-level imports (-X importtime, ms cumulative):")
    for entry in top[:10]:
        print(f"  {entry.cumulative_us / 1000:8.2f}  {entry.name}")


def _write_baseline(path, program, measure):
    """Records ``measure`` as the baseline at ``path`` (JSON)."""
    data = {
        "command": program.command,
        "runtime": program.runtime,
        "resolved": sorted(measure.names().elements()),
        "import_ms": round(measure.import_ms, 3),
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=1)
        file.write("\n")
    print(f"lazy_bind check: baseline written to {path}")


def _read(path):
    with open(path, encoding="utf-8") as file:
        return file.read()


def _say(message):
    print(f"lazy_bind check: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
