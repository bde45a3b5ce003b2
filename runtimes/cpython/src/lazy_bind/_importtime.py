"""Reads CPython's ``-X importtime`` lines (``import time: self [us] |
cumulative | imported package``, two spaces of indent per nesting level)
out of a run's stderr."""


class Import:
    """One import that ``-X importtime`` timed: ``name``, its ``self`` and
    ``cumulative`` microseconds, its nesting ``level`` (0: not inside
    another module's import)."""

    def __init__(self, name, self_us, cumulative_us, level):
        self.name, self.self_us, self.cumulative_us, self.level = (
            name, self_us, cumulative_us, level)


def parse(stderr):
    """The imports timed in ``stderr``, in order; other lines are skipped."""
    imports = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line[len("import time:"):].split("|")
        if len(fields) != 3:
            continue
        try:
            self_us, cumulative_us = int(fields[0]), int(fields[1])
        except ValueError:
            continue  # the header line
        name = fields[2][1:]
        level = (len(name) - len(name.lstrip(" "))) // 2
        imports.append(Import(name.strip(), self_us, cumulative_us, level))
    return imports


def total_ms(imports):
    """Time spent importing, in milliseconds: the cumulative times of the
    imports at level 0."""
    return sum(i.cumulative_us for i in imports if i.level == 0) / 1000


def cumulative_by_name(imports):
    """``{module: cumulative microseconds}``, the largest if a module was
    timed more than once (several processes)."""
    costs = {}
    for entry in imports:
        costs[entry.name] = max(costs.get(entry.name, 0), entry.cumulative_us)
    return costs
