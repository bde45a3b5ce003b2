"""Reads the Chrome trace files lazy_bind writes (``--trace``, the fork's
``-X lazy_imports_trace``) back into what the tools need: the policy's
decisions, the deferrals, the resolutions and the deferred imports that were
never resolved, for every process of a run.

The format is the engine's (``src/trace/chrome.rs``): policy decisions,
deferrals and failures are instant events (``"ph": "i"``, categories
``policy``, ``defer``, ``failure``); each finished resolution is a complete
event (``"ph": "X"``, category ``resolve``) with ``ts``/``dur`` in
microseconds and ``declared_at``, ``forced_at``, ``outcome`` and ``depth``
in its arguments.
"""

import glob
import json
import os


class Decision:
    """One policy decision: ``importer`` imports ``target``; ``lazy`` says
    whether it was deferred, ``reason`` is the policy's ``explain`` text."""

    def __init__(self, pid, tid, at, importer, target, lazy, reason):
        self.pid, self.tid, self.at = pid, tid, at
        self.importer, self.target, self.lazy, self.reason = importer, target, lazy, reason


class Resolution:
    """One finished resolution of a deferred import: ``name`` resolved on
    thread ``tid`` of process ``pid`` from ``start`` for ``duration`` (both
    in microseconds), forced at ``forced_at`` (None if unknown)."""

    def __init__(self, pid, tid, event):
        args = event.get("args", {})
        self.pid, self.tid = pid, tid
        self.name = event["name"]
        self.start = float(event["ts"])
        self.duration = float(event.get("dur", 0.0))
        self.declared_at = args.get("declared_at")
        self.forced_at = args.get("forced_at")
        self.outcome = args.get("outcome", "resolved")
        self.depth = int(args.get("depth", 0))


class Deferral:
    """One deferred import: the entry ``name`` declared at ``declared_at``,
    made when the policy let ``importer`` import ``target`` lazily (the
    decision just before it on its thread; without one, ``importer`` is
    None and ``target`` is ``name``)."""

    def __init__(self, pid, tid, at, name, declared_at, decision):
        self.pid, self.tid, self.at = pid, tid, at
        self.name, self.declared_at = name, declared_at
        self.importer = decision.importer if decision is not None else None
        self.target = decision.target if decision is not None else name


class Trace:
    """The events of one process's trace file, sorted by kind."""

    def __init__(self, events, dropped=0):
        self.decisions = []
        self.deferrals = []
        self.resolutions = []
        self.failures = []
        self.dropped = dropped
        last_lazy = {}
        for event in sorted(events, key=lambda e: float(e.get("ts", 0))):
            kind, args = event.get("cat"), event.get("args", {})
            pid, tid, at = event.get("pid", 0), event.get("tid", 0), float(event.get("ts", 0))
            if kind == "policy":
                decision = Decision(pid, tid, at, args.get("importer", ""), args.get("target", ""),
                                    args.get("decision") == "lazy", args.get("reason", ""))
                self.decisions.append(decision)
                if decision.lazy:
                    last_lazy[tid] = decision
            elif kind == "defer":
                name = event["name"].removeprefix("defer ")
                self.deferrals.append(Deferral(pid, tid, at, name, args.get("declared_at"),
                                               last_lazy.pop(tid, None)))
            elif kind == "resolve" and event.get("ph") == "X":
                self.resolutions.append(Resolution(pid, tid, event))
            elif kind == "failure":
                self.failures.append(event)

    def never_resolved(self):
        """The deferrals whose entry (name and declaration site) no
        resolution of this process ever finished."""
        done = {(r.name, r.declared_at) for r in self.resolutions if r.outcome == "resolved"}
        return [d for d in self.deferrals if (d.name, d.declared_at) not in done]


def load(path):
    """The :class:`Trace` in the file at ``path``."""
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    return Trace(data.get("traceEvents", []), data.get("otherData", {}).get("dropped_events", 0))


def load_run(path):
    """The traces of a run: the file at ``path`` (if the process wrote one)
    and its children's ``<stem>.<pid><suffix>`` files, root first."""
    root, suffix = os.path.splitext(path)
    paths = [path] if os.path.exists(path) else []
    paths += sorted(glob.glob(glob.escape(root) + ".*" + suffix))
    return [load(p) for p in paths]


def deferred_targets(traces):
    """The modules the policy let be imported lazily in ``traces``, each
    with the importers that did: ``{target: {importer, ...}}``. A superset
    of the deferrals: an ``import a.b`` that joins a pending binding of
    ``a`` makes no deferral of its own, and a module imported already is
    not deferred at all."""
    targets = {}
    for trace in traces:
        for decision in trace.decisions:
            if decision.lazy:
                targets.setdefault(decision.target, set()).add(decision.importer)
    return targets
