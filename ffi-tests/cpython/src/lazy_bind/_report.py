"""The ``--report`` text: counters and the deferred imports never needed."""

from . import _hook, _native


def print_report(stream):
    """Writes the report to ``stream``."""
    counts = _native.counters()
    print("lazy_bind report", file=stream)
    print(
        "  deferred: {deferred}  resolved: {resolved}  failed: {failed}  "
        "never resolved: {pending}".format(**counts),
        file=stream,
    )
    pending = sorted(name for name, entry in _hook._entries.items() if not entry.is_resolved())
    if pending:
        print("  never imported (the saving):", file=stream)
        for name in pending:
            print(f"    {name}", file=stream)
