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
    out = run(
        """
        import threading
        import lazy_bind
        import dl_a, dl_b
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
