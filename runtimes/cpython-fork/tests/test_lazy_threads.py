"""Resolution across threads: exactly once, the GIL released while waiting,
and a cross-thread deadlock reported instead of hanging, also one that runs
through an importlib module lock."""

import unittest

from lazy_support import LazyTestCase

TRIALS = 100
THREADS = 8


class Threads(LazyTestCase):
    def test_concurrent_first_use_runs_the_body_once(self):
        files = {"counter.py": "runs = {}\n"}
        for i in range(TRIALS):
            files[f"t{i}.py"] = (
                "import counter, time\n"
                f"counter.runs[{i}] = counter.runs.get({i}, 0) + 1\n"
                "time.sleep(0.002)\n"
                f"VALUE = {i}\n")
            files[f"holder{i}.py"] = f"import t{i}\nfrom t{i} import VALUE\n"
        out = self.run_json(files, f"""
            import json, threading, importlib, counter, _lazy_imports
            errors, wrong = [], 0
            for i in range({TRIALS}):
                holder = importlib.import_module(f"holder{{i}}")
                barrier = threading.Barrier({THREADS})
                results = []
                def touch():
                    barrier.wait()
                    try:
                        module = getattr(holder, f"t{{i}}")
                        results.append((module, module.VALUE, holder.VALUE))
                    except BaseException as e:
                        errors.append(repr(e))
                threads = [threading.Thread(target=touch) for _ in range({THREADS})]
                for t in threads: t.start()
                for t in threads: t.join()
                modules = {{id(r[0]) for r in results}}
                if len(results) != {THREADS} or len(modules) != 1 or \\
                        any(r[1] != i or r[2] != i for r in results):
                    wrong += 1
            print(json.dumps([errors, wrong, sorted(set(counter.runs.values())),
                              len(counter.runs)]))
            """)
        self.assertEqual(out, [[], 0, [1], TRIALS])

    def test_waiting_thread_releases_the_gil(self):
        # While one thread resolves a slow module, a third thread that never
        # touches it keeps running (it would stall if a waiter held the GIL).
        out = self.run_json({
            "slow.py": "import time\ntime.sleep(0.5)\nVALUE = 1\n",
            "holder.py": "import slow\n",
        }, """
            import json, threading, time, holder
            ticks = []
            stop = threading.Event()
            def ticker():
                while not stop.is_set():
                    ticks.append(time.monotonic())
                    time.sleep(0.01)
            def user():
                holder.slow.VALUE
            ticking = threading.Thread(target=ticker)
            ticking.start()
            users = [threading.Thread(target=user) for _ in range(4)]
            for t in users: t.start()
            for t in users: t.join()
            stop.set(); ticking.join()
            gaps = [b - a for a, b in zip(ticks, ticks[1:])]
            print(json.dumps([len(ticks), max(gaps)]))
            """)
        ticks, max_gap = out
        self.assertGreater(ticks, 20)
        self.assertLess(max_gap, 0.3)

    def test_cross_thread_deadlock_is_reported(self):
        # main binds x (from p) and y (from q). Thread 1 resolves x: p's body
        # waits until thread 2 resolves y, then needs y. Thread 2's q body
        # needs x. Each waits for the other's entry: a deadlock the engine
        # must report (the subprocess timeout turns a hang into a failure).
        files = {
            "sync.py": "import threading\nbarrier = threading.Barrier(2)\n",
            "p.py": "import sync\nsync.barrier.wait()\nimport shared\nx = 'x'\n"
                    "Y = shared.y\n",
            "q.py": "import sync\nsync.barrier.wait()\nimport shared\ny = 'y'\n"
                    "X = shared.x\n",
            "shared.py": "from p import x\nfrom q import y\n",
        }
        out = self.run_json(files, """
            import json, threading, shared, _lazy_imports
            outcomes = {}
            def use(name):
                try:
                    getattr(shared, name)
                    outcomes[name] = "ok"
                except _lazy_imports.LazyImportDeadlockError as e:
                    outcomes[name] = ["deadlock", str(e)]
                except Exception as e:
                    outcomes[name] = [type(e).__name__, str(e)]
            threads = [threading.Thread(target=use, args=(n,)) for n in ("x", "y")]
            for t in threads: t.start()
            for t in threads: t.join()
            print(json.dumps(outcomes))
            """, timeout=30)
        kinds = [v[0] if isinstance(v, list) else v for v in out.values()]
        self.assertIn("deadlock", kinds, out)
        message = next(v[1] for v in out.values() if isinstance(v, list) and v[0] == "deadlock")
        self.assertIn("shared.py", message)
        # A cycle of entry waits only is the engine's to report, with the
        # whole chain.
        self.assertTrue(message.startswith("lazy binding deadlock at "), message)

    # A thread blocks for one of these two reasons; `settle` makes the later
    # step wait (up to 5 s) until the earlier wait shows in the threads'
    # stacks (then a short pause for it to block): a wait on an entry as a
    # thread whose innermost frame is line 6 of the `_m` module (the line
    # that touches the lazy name; the wait itself is in C), a wait on a
    # module lock as a thread inside `_ModuleLock.acquire` called from line
    # 5 of the `_a` module (its `from ..._m import VALUE`).
    SYNC = """
        import sys, threading, time
        a_entered, m_entered = threading.Event(), threading.Event()
        first = ["entry"]

        def at(frame, suffix, line):
            return frame.f_code.co_filename.endswith(suffix) and frame.f_lineno == line

        def entry_wait_started():
            return any(at(frame, "_m.py", 6) for frame in sys._current_frames().values())

        def module_lock_wait_started():
            for frame in sys._current_frames().values():
                if frame.f_code.co_name != "acquire":
                    continue
                while frame is not None and not at(frame, "_a.py", 5):
                    frame = frame.f_back
                if frame is not None:
                    return True
            return False

        def settle(step):
            earlier = {"a": ("entry", entry_wait_started),
                       "m": ("module lock", module_lock_wait_started)}
            order, started = earlier[step]
            if first[0] != order:
                return
            deadline = time.monotonic() + 5
            while not started() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)
        """

    # Thread 1 resolves mx_shared's lazy `import mx_a`, and mx_a's body
    # imports mx_m; thread 2 imports mx_m, whose body touches that same lazy
    # binding. Each waits for the other: thread 1 for mx_m's importlib module
    # lock, thread 2 for the entry. Both waits are in the engine's wait-for
    # graph (the entry's, and the module lock's through its mirror), so
    # whichever closes the cycle is told.
    MODULE_LOCK_CYCLE = {
        "mx_sync.py": SYNC,
        "mx_shared.py": "__lazy_modules__ = ['mx_a']\nimport mx_a\n",
        "mx_a.py": "from mx_sync import a_entered, m_entered, settle\n"
                   "a_entered.set()\nm_entered.wait(10)\nsettle('a')\n"
                   "from mx_m import VALUE as M_VALUE\nVALUE = 1\n",
        "mx_m.py": "import mx_shared\nfrom mx_sync import a_entered, m_entered, settle\n"
                   "m_entered.set()\na_entered.wait(10)\nsettle('m')\n"
                   "VALUE = mx_shared.mx_a.VALUE\n",
    }

    # The same cycle, but thread 2's wait for the entry starts inside the
    # engine: it touches `from mx2_p import x` (deferred), whose resolution
    # finds mx2_p.x to be a placeholder for mx2_a (mx2_p's lazy `import
    # mx2_a as x`), which thread 1 is resolving.
    NESTED_MODULE_LOCK_CYCLE = {
        "mx_sync.py": SYNC,
        "mx2_p.py": "__lazy_modules__ = ['mx2_a']\nimport mx2_a as x\n",
        "mx2_shared.py": "__lazy_modules__ = ['mx2_p']\nfrom mx2_p import x\n",
        "mx2_a.py": "from mx_sync import a_entered, m_entered, settle\n"
                    "a_entered.set()\nm_entered.wait(10)\nsettle('a')\n"
                    "from mx2_m import VALUE as M_VALUE\nVALUE = 1\n",
        "mx2_m.py": "import mx2_shared\nfrom mx_sync import a_entered, m_entered, settle\n"
                    "m_entered.set()\na_entered.wait(10)\nsettle('m')\n"
                    "VALUE = mx2_shared.x.VALUE\n",
    }

    def cycle_through_module_lock(self, first, files=MODULE_LOCK_CYCLE, prefix="mx"):
        # Thread 1 touches the lazy name for the module that imports
        # `{prefix}_m`; thread 2 imports `{prefix}_m`.
        loaded, touched = ("mx2_shared, mx2_p", "mx2_p.x") if prefix == "mx2" else ("mx_shared", "mx_shared.mx_a")
        out = self.run_json(files, f"""
            import _lazy_imports, importlib, json, os, sys, threading, time, mx_sync
            import {loaded}
            mx_sync.first[0] = {first!r}
            outcomes = {{}}
            keys = {{}}
            def run(name, action):
                keys[name] = _lazy_imports.thread_key()
                try:
                    action()
                    outcomes[name] = ["ok"]
                except BaseException as e:
                    outcomes[name] = [type(e).__name__, str(e), getattr(e, "chain", None),
                                      isinstance(e, ImportError)]
            def t1():
                {touched}.VALUE
            def t2():
                mx_sync.a_entered.wait(10)
                importlib.import_module("{prefix}_m")
            threads = [threading.Thread(target=run, args=(n, f), daemon=True)
                       for n, f in (("t1", t1), ("t2", t2))]
            for t in threads: t.start()
            deadline = time.monotonic() + 15
            for t in threads: t.join(max(0, deadline - time.monotonic()))
            outcomes["hung"] = [t.name for t in threads if t.is_alive()]
            outcomes["keys"] = [keys.get("t1"), keys.get("t2")]
            print(json.dumps(outcomes)); sys.stdout.flush()
            os._exit(0)
            """, xoptions=(), timeout=40)
        self.assertEqual(out["hung"], [], out)
        return out

    def check_entry_wait_first(self, out, module):
        # Thread 2 waits for the entry first; when thread 1 would wait for
        # the module lock, the engine finds the cycle and the mirror raises
        # an error that is also importlib's _DeadlockError: CPython's import
        # statement turns it into the partially initialised module, as for
        # any circular import, so thread 1's `from ... import VALUE` fails
        # and thread 2 gets that error through the entry.
        circular = f"cannot import name 'VALUE' from partially initialized module '{module}'"
        self.assertEqual(out["t1"][0], "ImportError", out)
        self.assertIn(circular, out["t1"][1])
        self.assertEqual(out["t2"][:2], out["t1"][:2], out)

    def check_module_lock_first(self, out, entry, module):
        # Thread 1 blocks on the module lock first; thread 2's wait for the
        # entry closes the cycle and is refused, naming both links with
        # engine thread keys.
        t1_key, t2_key = out["keys"]
        kind, message, chain, is_import_error = out["t2"]
        self.assertEqual(kind, "LazyImportDeadlockError", out)
        self.assertTrue(is_import_error)
        self.assertIn(f"'{entry}' (declared at ", message)
        self.assertIn(f"-> the import lock of module '{module}' [thread {t2_key}]", message)
        self.assertEqual([link[0] for link in chain][-2:],
                         [entry, f"the import lock of module '{module}'"], chain)
        self.assertEqual([link[3] for link in chain][-2:], [t1_key, t2_key], chain)
        self.assertEqual(out["t1"][0], "ImportError", out)
        self.assertIn(f"cannot import name 'VALUE' from '{module}'", out["t1"][1])

    def test_cycle_through_a_module_lock_entry_wait_first(self):
        self.check_entry_wait_first(self.cycle_through_module_lock("entry"), "mx_m")

    def test_cycle_through_a_module_lock_module_lock_first(self):
        out = self.cycle_through_module_lock("module lock")
        self.check_module_lock_first(out, "mx_a", "mx_m")
        self.assertIn("mx_shared.py:2", out["t2"][1])

    def test_nested_wait_through_a_module_lock_entry_wait_first(self):
        out = self.cycle_through_module_lock("entry", self.NESTED_MODULE_LOCK_CYCLE, "mx2")
        self.check_entry_wait_first(out, "mx2_m")

    def test_nested_wait_through_a_module_lock_module_lock_first(self):
        out = self.cycle_through_module_lock("module lock", self.NESTED_MODULE_LOCK_CYCLE, "mx2")
        self.check_module_lock_first(out, "mx2_a", "mx2_m")


if __name__ == "__main__":
    unittest.main()
