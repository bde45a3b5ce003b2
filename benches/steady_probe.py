"""The steady-state probe of the CPython adaptor's benchmarks.

`source(n, rounds)` is a program that, under the adaptor, times `json.dumps`
attribute loads through a resolved lazy module, through a reference copied
from the placeholder before resolution, and through a normally imported
module, and prints the best ns per load of each (eager, lazy, copy).
"""

_SOURCE = '''
import sys, time
import lazy_bind
lazy_bind.enable()
lazy = {{"__name__": "lazy_importer"}}
exec("import json\\ncopy = json", lazy)
assert type(lazy["json"]) is lazy_bind.LazyModule
lazy["json"].dumps  # resolves; rebinds `json`; `copy` now shares the namespace
eager = {{"__name__": "eager_importer", "json": sys.modules["json"]}}
loop = "def touch(n):\\n    for _ in range(n):\\n        {{}}.dumps\\n"
exec(loop.format("json"), lazy)
exec(loop.format("copy").replace("touch", "touch_copy"), lazy)
exec(loop.format("json"), eager)
N = {n}
best = {{"eager": float("inf"), "lazy": float("inf"), "copy": float("inf")}}
for _ in range({rounds}):
    for key, touch in (("eager", eager["touch"]), ("lazy", lazy["touch"]),
                       ("copy", lazy["touch_copy"])):
        start = time.perf_counter_ns()
        touch(N)
        best[key] = min(best[key], (time.perf_counter_ns() - start) / N)
print(best["eager"], best["lazy"], best["copy"])
'''


def source(n, rounds):
    """The probe doing `rounds` rounds of `n` loads per variant."""
    return _SOURCE.format(n=n, rounds=rounds)
