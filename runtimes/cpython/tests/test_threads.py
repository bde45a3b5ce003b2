"""Exactly-once resolution across threads, deadlocks, fork."""

import sys

import pytest


def test_eight_threads_first_touch(run):
    # slow_mod sleeps in its body (dropping the GIL): a waiter that kept the
    # GIL while blocked would stop the importing thread for good, so this
    # also checks that waiting releases the GIL.
    out = run(
        """
        import sys, threading
        import record

        TRIALS, THREADS = 100, 8
        errors = []
        for trial in range(TRIALS):
            sys.modules.pop("slow_mod", None)
            namespace = {"__name__": f"importer{trial}"}
            exec("import slow_mod", namespace)
            placeholder = namespace["slow_mod"]
            assert "slow_mod" not in sys.modules
            start = threading.Barrier(THREADS)
            values = []

            def touch():
                start.wait()
                try:
                    values.append(placeholder.VALUE)
                except BaseException as error:
                    errors.append(repr(error))

            threads = [threading.Thread(target=touch) for _ in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert values == [1] * THREADS, (trial, values, errors)
        print(len(errors), record.hits["slow_mod"])
        """,
        timeout=120,
    ).stdout
    assert out == "0 100\n"


def test_two_thread_deadlock_is_reported(run):
    # dl_pair binds dl_a and dl_b; thread a resolves dl_a, whose body needs
    # dl_pair.dl_b, which thread b resolves, whose body needs dl_pair.dl_a.
    out = run(
        """
        import threading
        import lazy_bind
        import dl_pair
        dl_a, dl_b = dl_pair.dl_a, dl_pair.dl_b
        outcomes = {}

        def touch(name, placeholder):
            try:
                placeholder.VALUE
                outcomes[name] = "ok"
            except lazy_bind.LazyImportDeadlockError as error:
                outcomes[name] = "deadlock " + " ".join(link[0] for link in error.chain)
            except BaseException as error:
                outcomes[name] = repr(error)

        threads = [threading.Thread(target=touch, args=("a", dl_a)),
                   threading.Thread(target=touch, args=("b", dl_b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "hung"
        for name in sorted(outcomes):
            print(name, outcomes[name])
        """,
        timeout=60,
    ).stdout
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert all(line.split()[1] == "deadlock" for line in lines), out
    assert any("dl_a" in line and "dl_b" in line for line in lines), out


@pytest.mark.skipif(sys.platform == "win32", reason="needs os.fork")
def test_fork_after_deferral(run):
    run(
        """
        import os, sys
        import plain_mod, slow_mod
        slow_mod.VALUE
        pid = os.fork()
        if pid == 0:
            ok = "plain_mod" not in sys.modules and plain_mod.VALUE == 42 and slow_mod.VALUE == 1
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        assert "plain_mod" not in sys.modules and plain_mod.VALUE == 42
        """
    )


@pytest.mark.parametrize("first", ["module lock", "entry"])
def test_cycle_through_an_importlib_module_lock_is_reported(run, first):
    # T1 resolves mx_shared's lazy mx_a, which imports mx_m (taking its
    # module lock); T2 imports mx_m, which touches that lazy binding. `first`
    # says whose wait starts first: T1's on the module lock, or T2's on the
    # entry.
    delays = {"a": 0.0, "m": 0.3} if first == "module lock" else {"a": 0.3, "m": 0.0}
    out = run(
        f"""
        import importlib, threading
        from mx_sync import delays
        delays.update({delays!r})
        import mx_shared
        mx_a = mx_shared.mx_a
        outcomes = {{}}

        from lazy_bind import _native
        keys, chains = {{}}, []

        def run(name, action):
            keys[name] = _native.thread_key()
            try:
                action()
                outcomes[name] = "ok"
            except BaseException as error:
                outcomes[name] = f"{{type(error).__name__}}: {{error}}"
                chains.extend(getattr(error, "chain", []))

        threads = [threading.Thread(target=run, args=("t1", lambda: mx_a.VALUE)),
                   threading.Thread(target=run,
                                    args=("t2", lambda: importlib.import_module("mx_m")))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "hung"
        print(outcomes["t1"]); print(outcomes["t2"])
        # One vocabulary: every thread in a chain is an engine thread key.
        assert {{link[3] for link in chains}} <= set(keys.values()), (chains, keys)
        print(len(chains))
        """,
        timeout=60,
    ).stdout.splitlines()
    t1, t2, chain_links = out
    if first == "module lock":
        # T2 sees T1 waiting for the module lock it holds and raises
        # instead of waiting; mx_m fails, and T1's from-import with it.
        assert t2.startswith("LazyImportDeadlockError: lazy binding deadlock"), out
        assert "[thread " in t2 and int(chain_links) == 2, out
        assert "'mx_a'" in t2 and "-> the import lock of module 'mx_m' [thread " in t2, out
        assert t1.startswith("ImportError: cannot import name 'VALUE' from 'mx_m'"), out
    else:
        # T1's importlib sees T2 waiting for the entry T1 owns: CPython's
        # own circular-import handling, one error that both threads get.
        circular = "ImportError: cannot import name 'VALUE' from partially initialized module"
        assert t1.startswith(circular) and t2 == t1, out


def test_a_cycle_of_module_locks_only_stays_importlibs(run, run_plain):
    # Two threads import ll_a and ll_b, whose bodies import each other
    # eagerly: a cycle of importlib module locks with no lazy import on it.
    # importlib reports it as in eager Python (its own _DeadlockError; the
    # other thread then runs the failed module's body again, alone, and its
    # barrier breaks), not the engine, which sees the same waits.
    code = """
        import importlib, threading
        outcomes = {}

        def run(name):
            try:
                importlib.import_module(name)
                outcomes[name] = "ok"
            except BaseException as error:
                outcomes[name] = f"{type(error).__module__}.{type(error).__name__}"

        threads = [threading.Thread(target=run, args=(name,)) for name in ("ll_a", "ll_b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "hung"
        print(sorted(outcomes.values()))
        """
    eager = run_plain(code).stdout
    assert eager == "['_frozen_importlib._DeadlockError', 'threading.BrokenBarrierError']\n"
    assert run(code).stdout == eager



def test_a_module_lock_of_an_unencodable_name_is_mirrored(run, run_plain):
    # A module name with a lone surrogate (from an undecodable file name)
    # takes a module lock like any other: the import fails as it does
    # eagerly, not with a UnicodeEncodeError from the mirror.
    code = """
        try:
            __import__("missing_\\udcff")
        except BaseException as error:
            print(type(error).__name__, repr(error.name))
        """
    eager = run_plain(code).stdout
    assert eager == "ModuleNotFoundError 'missing_\\udcff'\n"
    assert run(code).stdout == eager
