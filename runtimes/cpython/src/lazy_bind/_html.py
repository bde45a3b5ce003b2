"""The HTML report: one self-contained page (inline CSS, no script, nothing
fetched) made from a run's traces (``_trace``).

Sections, each a ``<section>`` with a stable id for tests and links:
``summary``; ``timeline`` (one track per process and thread, a bar per
resolution at its start and length, nested resolutions below the one that
forced them, and a table saying who forced what, when and how long);
``never-used`` (deferred imports never resolved, with what importing them
eagerly costs where known); ``top-costs``; ``policy`` (every eager decision
with the policy's ``explain`` text, and the deferrals counted by reason);
``failures`` when a resolution failed.
"""

import collections
import html
import os

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.site { font-family: ui-monospace, monospace; font-size: 12px; color: #555; }
.track { margin: 6px 0; }
.track-label { font-weight: 600; font-size: 12px; }
.lane { position: relative; background: #fafafa; border: 1px solid #ddd; }
.bar { position: absolute; height: 16px; min-width: 2px; overflow: hidden; white-space: nowrap;
       font-size: 11px; line-height: 16px; color: #fff; background: #3b6fb6;
       border-right: 1px solid #fff; box-sizing: border-box; padding-left: 2px; }
.bar.failed { background: #c0392b; }
.axis { position: relative; height: 14px; font-size: 11px; color: #777; }
.axis span { position: absolute; }
.summary td { border: none; padding: 0 12px 0 0; }
"""

_ROW = 18  # pixels per nesting level of a lane


def render(traces, eager_costs=None, title="lazy_bind report"):
    """The report page for ``traces`` (the processes of one run, root
    first) as text. ``eager_costs`` maps module names to what importing
    them eagerly took (microseconds), for the never-used section; without
    an entry, a resolution of the same module elsewhere in the run is
    shown, else "unknown"."""
    eager_costs = eager_costs or {}
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _summary(traces),
        _timeline(traces),
        _never_used(traces, eager_costs),
        _top_costs(traces),
        _policy(traces),
        _failures(traces),
        "</body></html>\n",
    ]
    return "\n".join(part for part in parts if part)


def _summary(traces):
    deferred = sum(len(t.deferrals) for t in traces)
    resolved = sum(1 for t in traces for r in t.resolutions if r.outcome == "resolved")
    never = sum(len(t.never_resolved()) for t in traces)
    failed = sum(len(t.failures) for t in traces)
    top = sum(r.duration for t in traces for r in t.resolutions if r.depth == 0)
    dropped = sum(t.dropped for t in traces)
    rows = [("processes", len(traces)), ("deferred imports", deferred),
            ("resolved", resolved), ("never used", never), ("failed resolutions", failed),
            ("time resolving (ms)", f"{top / 1000:.2f}")]
    if dropped:
        rows.append(("events dropped (trace incomplete)", dropped))
    cells = "".join(f"<tr><td>{_e(k)}</td><td class=\"num\">{_e(v)}</td></tr>" for k, v in rows)
    return f"<section id=\"summary\"><table class=\"summary\">{cells}</table></section>"


def _timeline(traces):
    out = ["<section id=\"timeline\"><h2>Resolutions per thread</h2>"]
    rows = []
    for trace in traces:
        if not trace.resolutions:
            continue
        begin = min(r.start for r in trace.resolutions)
        span = max(max(r.start + r.duration for r in trace.resolutions) - begin, 1.0)
        by_thread = collections.defaultdict(list)
        for resolution in trace.resolutions:
            by_thread[resolution.tid].append(resolution)
        pid = trace.resolutions[0].pid
        for tid, resolutions in sorted(by_thread.items()):
            out.append(_track(pid, tid, resolutions, begin, span))
        parents = _parents(trace.resolutions)
        rows += [(r, parents.get(id(r)), begin) for r in trace.resolutions]
    if not rows:
        out.append("<p>No deferred import was resolved.</p></section>")
        return "\n".join(out)
    out.append("<table id=\"resolutions\"><tr><th>process</th><th>thread</th>"
               "<th>start (ms)</th><th>took (ms)</th><th>module</th><th>forced at</th>"
               "<th>forced by</th><th>declared at</th></tr>")
    for resolution, parent, begin in rows:
        out.append(
            f"<tr><td class=\"num\">{resolution.pid}</td><td class=\"num\">{resolution.tid}</td>"
            f"<td class=\"num\">{(resolution.start - begin) / 1000:.2f}</td>"
            f"<td class=\"num\">{resolution.duration / 1000:.2f}</td>"
            f"<td>{_e(resolution.name)}</td><td class=\"site\">{_site(resolution.forced_at)}</td>"
            f"<td>{_e(parent.name) if parent else ''}</td>"
            f"<td class=\"site\">{_site(resolution.declared_at)}</td></tr>")
    out.append("</table></section>")
    return "\n".join(out)


def _track(pid, tid, resolutions, begin, span):
    """One thread's lane: a bar per resolution, one row per depth."""
    depth = max(r.depth for r in resolutions) + 1
    bars = []
    for r in resolutions:
        left = (r.start - begin) / span * 100
        width = r.duration / span * 100
        tip = (f"{r.name}: {r.duration / 1000:.2f} ms from {(r.start - begin) / 1000:.2f} ms, "
               f"forced at {r.forced_at or '?'}, declared at {r.declared_at}")
        failed = " failed" if r.outcome != "resolved" else ""
        bars.append(f"<div class=\"bar{failed}\" data-module=\"{_e(r.name)}\" "
                    f"style=\"left:{left:.3f}%;width:{width:.3f}%;top:{r.depth * _ROW}px\" "
                    f"title=\"{_e(tip)}\">{_e(r.name)}</div>")
    ticks = "".join(f"<span style=\"left:{p}%\">{span * p / 100 / 1000:.1f} ms</span>"
                    for p in (0, 25, 50, 75))
    return (f"<div class=\"track\" data-pid=\"{pid}\" data-tid=\"{tid}\">"
            f"<div class=\"track-label\">process {pid}, thread {tid}</div>"
            f"<div class=\"lane\" style=\"height:{depth * _ROW}px\">{''.join(bars)}</div>"
            f"<div class=\"axis\">{ticks}</div></div>")


def _parents(resolutions):
    """``{id(resolution): the resolution that forced it}``: on the same
    thread, one level up, open when it started."""
    parents = {}
    by_thread = collections.defaultdict(list)
    for r in resolutions:
        by_thread[r.tid].append(r)
    for items in by_thread.values():
        stack = []
        for r in sorted(items, key=lambda r: (r.start, r.depth)):
            while stack and (stack[-1].depth >= r.depth
                             or stack[-1].start + stack[-1].duration < r.start):
                stack.pop()
            if stack and stack[-1].depth == r.depth - 1:
                parents[id(r)] = stack[-1]
            stack.append(r)
    return parents


def _never_used(traces, eager_costs):
    resolved_cost = {}
    for trace in traces:
        for r in trace.resolutions:
            if r.outcome == "resolved":
                resolved_cost[r.name] = max(resolved_cost.get(r.name, 0.0), r.duration)
    out = ["<section id=\"never-used\"><h2>Deferred and never used</h2>"]
    never = [d for trace in traces for d in trace.never_resolved()]
    if not never:
        out.append("<p>Every deferred import was used.</p></section>")
        return "\n".join(out)
    out.append("<table><tr><th>module</th><th>imported by</th><th>declared at</th>"
               "<th>eager import would cost (ms)</th></tr>")
    for deferral in never:
        out.append(f"<tr><td>{_e(deferral.name)}</td><td>{_e(deferral.importer or '?')}</td>"
                   f"<td class=\"site\">{_site(deferral.declared_at)}</td>"
                   f"<td class=\"num\">{_cost(deferral.name, eager_costs, resolved_cost)}</td></tr>")
    out.append("</table></section>")
    return "\n".join(out)


def _cost(name, eager_costs, resolved_cost):
    """What importing ``name`` eagerly costs, and how it is known."""
    if name in eager_costs:
        return f"{eager_costs[name] / 1000:.2f} (measured eagerly)"
    if name in resolved_cost:
        return f"{resolved_cost[name] / 1000:.2f} (resolved elsewhere in this run)"
    return "unknown"


def _top_costs(traces, count=20):
    resolutions = [r for trace in traces for r in trace.resolutions]
    if not resolutions:
        return ""
    children = collections.defaultdict(float)
    for trace in traces:
        parents = _parents(trace.resolutions)
        for r in trace.resolutions:
            if id(r) in parents:
                children[id(parents[id(r)])] += r.duration
    out = ["<section id=\"top-costs\"><h2>Top costs</h2><table><tr><th>module</th>"
           "<th>cumulative (ms)</th><th>self (ms)</th><th>forced at</th></tr>"]
    for r in sorted(resolutions, key=lambda r: -r.duration)[:count]:
        own = max(r.duration - children[id(r)], 0.0)
        out.append(f"<tr><td>{_e(r.name)}</td><td class=\"num\">{r.duration / 1000:.2f}</td>"
                   f"<td class=\"num\">{own / 1000:.2f}</td>"
                   f"<td class=\"site\">{_site(r.forced_at)}</td></tr>")
    out.append("</table></section>")
    return "\n".join(out)


def _policy(traces):
    decisions = [d for trace in traces for d in trace.decisions]
    eager = [d for d in decisions if not d.lazy]
    lazy = collections.Counter(d.reason for d in decisions if d.lazy)
    out = ["<section id=\"policy\"><h2>Policy decisions</h2>",
           f"<p>{len(decisions)} policy decisions: {sum(lazy.values())} lazy "
           f"({sum(len(t.deferrals) for t in traces)} deferred; the others named modules "
           f"imported already), {len(eager)} eager.</p>"]
    if eager:
        out.append("<table id=\"eager-decisions\"><tr><th>importer</th><th>target</th>"
                   "<th>why eager (explain)</th></tr>")
        seen = set()
        for d in eager:
            if (d.importer, d.target) in seen:
                continue
            seen.add((d.importer, d.target))
            out.append(f"<tr><td>{_e(d.importer)}</td><td>{_e(d.target)}</td>"
                       f"<td>{_e(d.reason)}</td></tr>")
        out.append("</table>")
    if lazy:
        out.append("<table id=\"lazy-reasons\"><tr><th>deferred because</th><th>imports</th></tr>")
        for reason, count in lazy.most_common():
            out.append(f"<tr><td>{_e(reason)}</td><td class=\"num\">{count}</td></tr>")
        out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def _failures(traces):
    failures = [f for trace in traces for f in trace.failures]
    if not failures:
        return ""
    out = ["<section id=\"failures\"><h2>Failed resolutions</h2><table><tr><th>module</th>"
           "<th>forced at</th><th>error</th></tr>"]
    for event in failures:
        args = event.get("args", {})
        out.append(f"<tr><td>{_e(event['name'].removeprefix('failed '))}</td>"
                   f"<td class=\"site\">{_site(args.get('forced_at'))}</td>"
                   f"<td>{_e(args.get('message', ''))}</td></tr>")
    out.append("</table></section>")
    return "\n".join(out)


def _site(site):
    """A ``file:line`` site with the file shortened to its last two parts."""
    if not site:
        return "?"
    path, _, line = site.rpartition(":")
    short = os.sep.join(path.split(os.sep)[-2:]) if path else site
    return f"<span title=\"{_e(site)}\">{_e(short)}:{_e(line)}</span>" if path else _e(site)


def _e(value):
    return html.escape(str(value), quote=True)


def write(path, traces, eager_costs=None, title="lazy_bind report"):
    """Writes :func:`render`'s page to ``path``."""
    with open(path, "w", encoding="utf-8") as file:
        file.write(render(traces, eager_costs, title))
