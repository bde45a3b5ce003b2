"""Resolution across threads: exactly once, the GIL released while waiting,
and a cross-thread deadlock reported instead of hanging."""

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


if __name__ == "__main__":
    unittest.main()
