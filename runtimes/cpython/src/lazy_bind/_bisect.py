"""``python -m lazy_bind bisect``: the fewest opt-out rules that make a
program end lazily as it ends eagerly.

1. Runs the program eagerly twice and lazily (traced) twice: a difference
   between two runs of the same kind means it is flaky, and the search
   stops there rather than answer from noise.
2. Candidates: one ``eager-target T`` rule per module ``T`` the lazy run
   deferred, those whose body never ran first. If all of them together do not restore the eager outcome,
   the modules deferred in that run (imports of the modules now eager) are
   added, until the outcome is restored or nothing new is deferred.
3. Delta debugging (``_ddmin``) narrows them to a 1-minimal set: every
   rule is needed. Then rules are replaced by fewer broader ones
   (``eager-importer I``, ``eager-target P.*``, ``eager-importer P.*``)
   where those make no other import of the runs eager and still restore
   the outcome (``_rules``): fewest imports made eager first, then fewest
   rules. ``--fewest-rules`` puts fewest rules first: broader rules may
   then make other imports eager too.
4. The result is run once more, uncached (a failure here means flaky),
   and written with one comment per rule: how the program ends without it.

Each policy tried is run once (outcomes are cached by rule set), within the
run budget and a timeout per run. Ctrl-C, or the budget running out,
writes the smallest restoring policy found so far, marked as not minimal.

The options are parsed with argparse: the tools are not on a program's
start-up path, unlike ``python -m lazy_bind`` itself.
"""

import argparse
import shlex
import sys
import time

from . import _ddmin, _rules, _runs, _trace

FOUND = 0
USAGE = 2
NOT_FOUND = 3
EAGER_FAILS = 4
NO_DIFFERENCE = 5
FLAKY = 6
BUDGET_EXHAUSTED = 7
NO_POLICY = 8
INTERRUPTED = 130

EXIT_CODES = f"""exit status:
  {FOUND}    a verified minimal policy was written
  {USAGE}    bad usage
  {NOT_FOUND}    the interpreter or the script does not exist, or has no lazy_bind runtime
  {EAGER_FAILS}    the eager run fails too (nothing to restore)
  {NO_DIFFERENCE}    the lazy run ends as the eager run does (nothing to fix)
  {FLAKY}    the program is flaky: two runs of one kind ended differently
  {BUDGET_EXHAUSTED}    the run budget ran out: the best policy so far was written, not minimal
  {NO_POLICY}    no eager-target/eager-importer rules restore the eager outcome
  {INTERRUPTED}  interrupted (Ctrl-C): the best policy so far was written, not minimal
"""


class Stop(Exception):
    """Ends the search with ``status`` and ``message``."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class _BudgetExhausted(Exception):
    pass


class Search:
    """Runs the program under candidate rule sets against the eager
    outcome ``expected``, each set once, and remembers the smallest set
    that restored it (``best``). ``runs_done`` runs since ``started``
    (``time.monotonic()``) count against ``budget``."""

    def __init__(self, program, user_policy, expected, compare_output, budget, runs_done,
                 started):
        self.program, self.user_policy, self.expected = program, user_policy, expected
        self.compare_output, self.budget, self.runs = compare_output, budget, runs_done
        self.outcomes = {}
        self.best = None
        self.left = 0
        self.started = started

    def policy_text(self, rules):
        """The user's policy followed by ``rules``."""
        return "\n".join([self.user_policy, *rules]) + "\n"

    def outcome(self, rules, fresh=False):
        """The outcome of a lazy run under ``rules`` (cached unless
        ``fresh``); raises :class:`_BudgetExhausted` when no run is left."""
        key = frozenset(rules)
        if key in self.outcomes and not fresh:
            return self.outcomes[key]
        if self.runs >= self.budget:
            raise _BudgetExhausted()
        outcome = self.program.run_lazy(self.policy_text(rules))
        self.runs += 1
        self.outcomes[key] = outcome
        self.progress()
        if self.restores(outcome) and (self.best is None or len(rules) < len(self.best)):
            self.best = list(rules)
        return outcome

    def restores(self, outcome):
        """Whether ``outcome`` is the eager one."""
        return self.expected.same(outcome, self.compare_output)

    def passes(self, rules):
        """Whether ``rules`` restore the eager outcome."""
        return self.restores(self.outcome(rules))

    def progress(self):
        """One line on stderr: runs done, candidates left, time elapsed."""
        print(f"lazy_bind bisect: {self.runs} runs (budget {self.budget}), "
              f"{self.left} candidates left, {time.monotonic() - self.started:.1f} s",
              file=sys.stderr, flush=True)

    def note(self, current):
        """Records how many candidates are still being narrowed."""
        self.left = len(current)


def parse(argv):
    """The options and the program (after ``--``)."""
    parser = _runs.tool_parser(
        "bisect",
        "Find the fewest eager-target/eager-importer rules that make COMMAND end "
        "lazily as it ends eagerly.",
        "a policy file the found rules are added to", timeout=120.0,
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", metavar="FILE", help="write the policy here (default: stdout)")
    parser.add_argument("--compare-output", action="store_true",
                        help="also compare standard output, not only the exit status")
    parser.add_argument("--fewest-rules", action="store_true",
                        help="prefer fewer, broader rules (eager-importer P.*) even when they "
                             "make more imports eager than needed")
    parser.add_argument("--budget", type=int, default=200, metavar="N",
                        help="at most N runs in all (default 200)")
    args, command = _runs.parse_tool_args(parser, argv)
    if args.budget < 5:
        parser.error("--budget must be at least 5 (4 reference runs and one more)")
    return args, command


def main(argv):
    """Runs ``bisect`` with ``argv`` and exits with its status."""
    args, command = parse(argv)
    try:
        user_policy = _read_policy(args.policy)
        program = _runs.Program(args.python, command, args.timeout)
    except (OSError, _runs.NotFound) as error:
        _say(str(error))
        sys.exit(NOT_FOUND)
    search = None
    try:
        started = time.monotonic()
        expected = _reference(program, user_policy, args.compare_output)
        search = Search(program, user_policy, expected, args.compare_output, args.budget, 4,
                        started)
        rules, candidates = _bisect(search, expected.lazy, args.fewest_rules)
        _verify(search, rules)
        notes = _without_each(search, rules)
        _write(args, search, rules, _header(program, search, expected.lazy, candidates), notes)
        sys.exit(FOUND)
    except Stop as stop:
        _say(str(stop))
        sys.exit(stop.status)
    except (_BudgetExhausted, KeyboardInterrupt) as stop:
        interrupted = isinstance(stop, KeyboardInterrupt)
        why = "interrupted" if interrupted else f"the budget of {args.budget} runs ran out"
        if search is None or search.best is None:
            _say(f"{why} before any policy restored the eager outcome; nothing written")
        else:
            _say(f"{why}: writing the smallest policy found so far ({len(search.best)} "
                 "rules), not proven minimal")
            header = [f"NOT MINIMAL: {why} after {search.runs} runs"]
            _write(args, search, search.best, header)
        sys.exit(INTERRUPTED if interrupted else BUDGET_EXHAUSTED)


class _Reference:
    """The eager outcome, with the lazy one it differs from as ``lazy``."""

    def __init__(self, eager, lazy):
        self.eager, self.lazy = eager, lazy

    def same(self, outcome, compare_output):
        """Whether ``outcome`` is the eager one."""
        return self.eager.same(outcome, compare_output)


def _reference(program, user_policy, compare_output):
    """Runs the program eagerly twice and lazily twice; stops on bad input
    (the eager run fails, no difference) and on flakiness."""
    eager = [program.run_eager() for _ in range(2)]
    if eager[0].status != 0:
        raise Stop(EAGER_FAILS, f"the eager run fails too ({eager[0].describe()}); "
                   "bisect needs a program that works eagerly")
    if not eager[0].same(eager[1], compare_output):
        raise Stop(FLAKY, "the program is flaky: two eager runs ended differently "
                   f"({eager[0].describe()}; then {_difference(eager[0], eager[1])})")
    lazy = [program.run_lazy(user_policy + "\n") for _ in range(2)]
    if not lazy[0].same(lazy[1], compare_output):
        raise Stop(FLAKY, "the program is flaky: two lazy runs ended differently "
                   f"({lazy[0].describe()}; then {_difference(lazy[0], lazy[1])})")
    if eager[0].same(lazy[0], compare_output):
        what = "exit status and output" if compare_output else "exit status"
        raise Stop(NO_DIFFERENCE, f"no difference: the lazy run ends as the eager run does "
                   f"({what}: {eager[0].describe()}); no rules needed")
    _say(f"eagerly: {eager[0].describe()}; lazily: {_difference(eager[0], lazy[0])}")
    return _Reference(eager[0], lazy[0])


def _difference(expected, outcome):
    """How ``outcome`` differs from ``expected``, in a few words."""
    if expected.status == outcome.status:
        return f"{outcome.describe()}, other output"
    return outcome.describe()


def _target_rules(traces):
    return {f"eager-target {target}" for target in _trace.deferred_targets(traces)}


def _bisect(search, lazy, broaden):
    """The minimal rule list (fewest rules first if ``broaden``), and how
    many candidates the search began from."""
    candidates = _likeliest_first(_target_rules(lazy.traces), lazy.traces)
    while True:
        search.left = len(candidates)
        outcome = search.outcome(candidates)
        if search.restores(outcome):
            break
        more = sorted(_target_rules(outcome.traces) - set(candidates))
        if not more:
            raise Stop(NO_POLICY, "no eager-target/eager-importer rules restore the eager "
                       f"outcome: with all {len(candidates)} deferred modules eager it ends "
                       f"with {outcome.describe()}")
        _say(f"{len(more)} more modules deferred with {len(candidates)} eager; adding them")
        candidates = _likeliest_first(set(candidates) | set(more), lazy.traces)
    if not candidates:
        raise Stop(NO_POLICY, "no module was deferred, and yet the lazy run differs")
    rules = _ddmin.ddmin(candidates, search.passes, search.note)
    return _consolidate(search, rules, broaden), len(candidates)


def _likeliest_first(rules, traces):
    """``rules`` (``eager-target T``) in the order delta debugging should
    prefer them, as it keeps the first of equally good chunks: first the
    modules whose body never ran in the lazy run ``traces`` (a missing side
    effect is likeliest there), by name; then the others, cheapest
    resolution first."""
    cost = {}
    for trace in traces:
        for resolution in trace.resolutions:
            cost[resolution.name] = max(cost.get(resolution.name, 0.0), resolution.duration)

    def key(rule):
        target = rule.split(None, 1)[1]
        return (target in cost, cost.get(target, 0.0), target)

    return sorted(rules, key=key)


def _consolidate(search, rules, broaden):
    """``rules``, with rules replaced by fewer broader ones (an importer's,
    a package's) where those still restore the outcome and, unless
    ``broaden``, make no other deferred import eager."""
    pairs = set()
    for outcome in search.outcomes.values():
        for target, importers in _trace.deferred_targets(outcome.traces).items():
            pairs.update((importer, target) for importer in importers)
    while True:
        trial = next((trial for trial in _rules.shorter(rules, pairs, broaden)
                      if search.passes(trial)), None)
        if trial is None:
            return rules
        rules = trial


def _verify(search, rules):
    """Runs ``rules`` once more, uncached; stops as flaky if they no
    longer restore the eager outcome."""
    outcome = search.outcome(rules, fresh=True)
    if not search.restores(outcome):
        raise Stop(FLAKY, f"the program is flaky: the policy found ({', '.join(rules)}) "
                   f"restored the eager outcome once, then ended with {outcome.describe()}")


def _header(program, search, lazy, candidates):
    """The policy file's opening comment lines."""
    return [
        f"the rules that make `{program.python} {shlex.join(program.command)}` end lazily",
        f"as it ends eagerly ({search.expected.eager.describe()}); without them it ends "
        f"with {_difference(search.expected.eager, lazy)}",
        f"found by lazy_bind bisect ({program.runtime}) in {search.runs} runs, "
        f"{time.monotonic() - search.started:.1f} s, from {candidates} deferred modules; "
        "verified",
    ]


def _without_each(search, rules):
    """For each rule, how the program ends with the other rules only (runs
    what the search has not run yet)."""
    return {rule: _difference(search.expected.eager,
                              search.outcome([other for other in rules if other != rule]))
            for rule in rules}


def _write(args, search, rules, header, notes=None):
    """Writes the policy (the user's, then ``rules``, each after its line
    of ``notes`` if given) to ``--out`` or stdout."""
    lines = [f"# {line}" for line in header]
    if search.user_policy.strip():
        lines += [f"# from {args.policy}:", search.user_policy.rstrip("\n")]
    for rule in rules:
        if notes is not None:
            lines.append(f"# without it: {notes[rule]}")
        lines.append(rule)
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as file:
            file.write(text)
        _say(f"wrote {len(rules)} rules to {args.out}")
    else:
        sys.stdout.write(text)


def _read_policy(path):
    if path is None:
        return ""
    with open(path, encoding="utf-8") as file:
        return file.read()


def _say(message):
    print(f"lazy_bind bisect: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
