"""The policy sources, the report and the trace."""

import json
import re


def test_policy_env_variable_opts_out(run, monkeypatch, tmp_path):
    policy = tmp_path / "lazy.policy"
    policy.write_text("# opt-outs\neager-target plain_mod\n")
    monkeypatch.setenv("LAZY_BIND_POLICY", f"@{policy}")
    run(
        """
        import sys
        import plain_mod, slow_mod
        assert "plain_mod" in sys.modules and "slow_mod" not in sys.modules
        """
    )


def test_policy_mode_statement_wins(run):
    run(
        """
        import sys
        import plain_mod
        assert "plain_mod" in sys.modules
        """,
        args=["--policy", "mode none"],
    )


def test_malformed_policy_names_line_and_column(run):
    result = run("print('ran')", args=["--policy", "mode all\neager-targt x"], check=False)
    assert result.returncode == 2 and "ran" not in result.stdout
    assert "bad policy" in result.stderr and "line 2" in result.stderr, result.stderr


def test_report_lists_resolved_and_never_needed(run):
    result = run(
        """
        import plain_mod, slow_mod
        plain_mod.VALUE
        """,
        args=["--report"],
    )
    report = result.stderr
    # The standard library's own deferred imports count too (3.13's
    # threading imports warnings, which nothing here uses): the program's
    # are checked by name.
    counts = re.search(r"failed 0, never needed (\d+)\n", report)
    assert counts, report
    assert "import time: self [us] | cumulative | imported package" in report
    resolved, never = report.split(f"lazy entries never resolved: {counts[1]}\n")
    assert "plain_mod (lazy, declared at" in resolved and "main.py:3" in resolved, report
    never = never.splitlines()
    assert len(never) == int(counts[1]), report
    assert [e.split()[0] for e in never if "main.py" in e] == ["slow_mod"], report


def test_trace_is_chrome_trace_json(run, tmp_path):
    trace = tmp_path / "trace.json"
    run(
        """
        import plain_mod
        plain_mod.VALUE
        """,
        args=["--trace", str(trace)],
    )
    events = json.loads(trace.read_text())["traceEvents"]
    assert any("plain_mod" in json.dumps(event) for event in events), events
    assert all("ph" in event for event in events)


def test_run_module_with_dash_m(run, tmp_path):
    (tmp_path / "runme.py").write_text(
        "import sys\nimport plain_mod\nprint(__name__, sys.argv[1], 'plain_mod' in sys.modules)\n"
    )
    # The fixture appends main.py to the arguments: here it is only an
    # argument of runme.
    assert run("", args=["-m", "runme", "x"]).stdout == "__main__ x False\n"


def test_eager_scope_nests_and_is_per_thread(run):
    run(
        """
        import sys, threading
        import lazy_bind
        seen = {}

        def other():
            exec("import slow_mod", ns := {"__name__": "other"})
            seen["other"] = "slow_mod" in sys.modules

        section = lazy_bind.eager()
        section.__enter__()
        section.__enter__()
        section.__exit__(None, None, None)
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        import plain_mod
        section.__exit__(None, None, None)
        assert "plain_mod" in sys.modules and seen == {"other": False}
        """
    )


def test_command_line_errors_and_equals_form(run):
    result = run("print('ran')", args=["--bogus"], check=False)
    assert result.returncode == 2 and "unknown option --bogus" in result.stderr
    assert "usage: python -m lazy_bind" in result.stderr
    run(
        """
        import sys
        import plain_mod
        assert "plain_mod" in sys.modules
        """,
        args=["--policy=eager-target plain_mod"],
    )


def test_filter_callback_sees_each_import_and_can_refuse(run_plain):
    out = run_plain(
        """
        import sys
        import lazy_bind
        asked = []

        def only_slow(importer, target, fromlist):
            asked.append((importer, target, fromlist))
            if target == "broken_mod":
                raise RuntimeError("filter bug")
            return target == "slow_mod"

        lazy_bind.enable(filter=only_slow)
        import plain_mod, slow_mod
        import broken_mod
        assert "plain_mod" in sys.modules and "slow_mod" not in sys.modules
        assert "broken_mod" not in sys.modules  # a failing filter counts as "defer"
        assert ("__main__", "slow_mod", ()) in asked and ("__main__", "plain_mod", ()) in asked
        print("ok")
        """
    )
    assert out.stdout == "ok\n"
    assert "filter bug" in out.stderr


def test_a_filter_replaced_while_it_runs_stays_alive_with_its_policy(run_plain):
    # The filter releases the GIL (a blocking wait) and another thread
    # installs a new one meanwhile. The call in flight keeps its filter
    # alive: the failure of its answer is reported with the filter itself as
    # the unraisable object. A filter lives as long as the policy it was set
    # on (without a GIL the engine may be about to call it through its
    # borrowed pointer), so it is freed when the policy is replaced.
    out = run_plain(
        """
        import sys, threading
        import lazy_bind
        from lazy_bind import _native
        events = []
        entered, replaced = threading.Event(), threading.Event()

        class Undecided:
            def __bool__(self):
                raise RuntimeError("no answer")

        class Filter:
            def __call__(self, importer, target, fromlist):
                entered.set()
                replaced.wait(10)
                # Returned normally: no traceback keeps this frame (and
                # self) alive while the answer's failure is reported.
                return Undecided()

            def __del__(self):
                events.append("freed")

        def hook(unraisable):
            events.append(("reported", type(unraisable.object).__name__))

        sys.unraisablehook = hook
        lazy_bind.enable(filter=Filter())

        def replace():
            entered.wait(10)
            _native.set_filter(None)
            replaced.set()

        thread = threading.Thread(target=replace)
        thread.start()
        import plain_mod
        thread.join()
        print(events)
        _native.set_policy("mode all")
        print(events)
        """
    )
    assert out.stdout == "[('reported', 'Filter')]\n[('reported', 'Filter'), 'freed']\n", (
        out.stdout
    )


def test_a_filter_can_replace_the_policy_that_is_deciding(run_plain):
    # The filter installs a new policy while the old one is deciding this
    # very import: that decision finishes on the old policy (which the call
    # keeps alive, as the header requires), later imports use the new one.
    out = run_plain(
        """
        import sys
        import lazy_bind
        from lazy_bind import _native

        def replacing(importer, target, fromlist):
            _native.set_policy("mode all\\neager-target plain_mod")
            return True

        lazy_bind.enable(filter=replacing)
        import slow_mod
        import plain_mod
        print("slow_mod" in sys.modules, "plain_mod" in sys.modules)
        """
    )
    assert out.stdout == "False True\n", out.stdout
