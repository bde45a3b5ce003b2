"""Imports that are never deferred."""

import dis
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EAGER_CONTEXTS = {
    "try": """
        try:
            import plain_mod
        except ImportError:
            pass
        """,
    "finally": """
        try:
            pass
        finally:
            import plain_mod
        """,
    "with": """
        import contextlib
        with contextlib.nullcontext():
            import plain_mod
        """,
    "function": """
        def load():
            import plain_mod
        load()
        """,
    "class body": """
        class Holder:
            import plain_mod
        """,
    "loop": """
        for _ in range(1):
            import plain_mod
        """,
    "from import": """
        from plain_mod import VALUE
        """,
    "star import": """
        from plain_mod import *
        """,
    "__import__ call": """
        __import__("plain_mod")
        """,
    "import_module call": """
        import importlib
        importlib.import_module("plain_mod")
        """,
    "eager section": """
        import lazy_bind
        section = lazy_bind.eager()
        section.__enter__()
        import plain_mod
        section.__exit__(None, None, None)
        """,
}


@pytest.mark.parametrize("context", sorted(EAGER_CONTEXTS))
def test_context_is_eager(run, context):
    run(textwrap.dedent(EAGER_CONTEXTS[context]) + "\nimport sys\nassert 'plain_mod' in sys.modules\n")


def test_trace_names_each_context(run, tmp_path):
    # Read from the code object: the handler covering the import (the
    # innermost: a `with` block's, or try/except/finally, also for the copy
    # of a `finally` body that runs on the normal exit), a loop (a backward
    # jump), and nothing for an import after all of them.
    trace = tmp_path / "trace.json"
    run(
        """
        import contextlib
        try:
            import json
        except ImportError:
            pass
        with contextlib.nullcontext():
            import csv
        try:
            with contextlib.nullcontext():
                import shlex
        finally:
            pass
        for _ in range(1):
            import glob
        try:
            pass
        finally:
            import fnmatch
        import plain_mod
        """,
        args=["--trace", str(trace)],
    )
    reasons = {
        event["args"]["target"]: event["args"]["reason"]
        for event in json.loads(trace.read_text())["traceEvents"]
        if event.get("cat") == "policy" and event["args"]["importer"] == "__main__"
    }
    never = "eager: the import is inside a {}, which is never lazy".format
    assert reasons == {
        "contextlib": "defer: mode all",
        "json": never("try/except/finally block"),
        "csv": never("with block"),
        "shlex": never("with block"),
        "glob": never("loop"),
        "fnmatch": never("try/except/finally block"),
        "plain_mod": "defer: mode all",
    }, reasons


def test_statements_after_256_names_are_read_through_extended_arg(run):
    # Past 256 names, IMPORT_NAME, IMPORT_FROM and STORE_NAME carry their
    # argument in EXTENDED_ARG prefixes.
    code = "".join(f"n{i} = {i}\n" for i in range(300)) + textwrap.dedent(
        """
        import sys
        import apkg.sub.leaf as leaf
        import plain_mod
        assert "apkg.sub.leaf" not in sys.modules and "plain_mod" not in sys.modules
        assert leaf.VALUE == "leaf" and plain_mod.VALUE == 42
        """
    )
    ops = [i.opname for i in dis.get_instructions(compile(code, "main.py", "exec"))]
    prefixed = [ops[k - 1] == "EXTENDED_ARG" for k, op in enumerate(ops) if op == "IMPORT_NAME"]
    assert prefixed == [True, True, True]
    run(code)


def test_module_level_if_block_is_lazy(run):
    run(
        """
        import sys
        if True:
            import plain_mod
        assert "plain_mod" not in sys.modules
        """
    )


def test_a_guarded_import_still_catches_a_missing_module_inside(run, tmp_path):
    # dateutil.tz: `try: from .win import tzwin` / `except ImportError:
    # tzwin = None`, where win.py's own `import winreg` raises on Linux. The
    # guarded statement runs eagerly, and while it does an import of a module
    # that cannot be found is not deferred, so the error reaches the guard; a
    # module that can be found is still deferred.
    package = tmp_path / "tzpkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "try:\n    from .win import tzwin\nexcept ImportError:\n    tzwin = None\n"
        "try:\n    from .unix import tzunix\nexcept ImportError:\n    tzunix = None\n"
    )
    (package / "win.py").write_text("import winreg_not_here\nclass tzwin:\n    pass\n")
    (package / "unix.py").write_text("import plain_mod\nclass tzunix:\n    pass\n")
    run(
        """
        import sys
        import tzpkg
        assert tzpkg.tzwin is None and tzpkg.tzunix.__name__ == "tzunix"
        assert "tzpkg.win" not in sys.modules and "plain_mod" not in sys.modules
        """
    )


def test_future_import_works(run):
    run(
        """
        from __future__ import annotations
        def f(x: Undefined) -> None: pass
        assert f.__annotations__["x"] == "Undefined"
        """
    )


def test_opt_out_makes_a_target_eager(run):
    run(
        """
        import sys
        import apkg.sub.leaf
        import plain_mod
        assert "apkg.sub.leaf" in sys.modules and "plain_mod" not in sys.modules
        import lazy_bind
        assert lazy_bind.explain("__main__", "apkg.sub.leaf").startswith("eager: target opt-out")
        assert lazy_bind.explain("__main__", "plain_mod").startswith("defer")
        """,
        args=["--policy", "eager-target apkg.*"],
    )


def test_disable_resolves_pending_and_reports_every_failure(run):
    run(
        """
        import sys
        import lazy_bind
        import plain_mod
        import broken_mod
        import no_such_module_anywhere
        failures = lazy_bind.disable(resolve_pending=True)
        assert "plain_mod" in sys.modules
        assert len(failures) == 2, failures
        assert any("broken_mod" in f for f in failures)
        assert any("no_such_module_anywhere" in f for f in failures)
        import json
        assert "json" in sys.modules and not lazy_bind.enabled()
        assert plain_mod.VALUE == 42
        """
    )


def test_pytest_with_hypothesis_runs_lazily_with_the_default_policy(tmp_path):
    # The shared smoke suite (pytest start-up, assertion rewriting,
    # fixtures, a dataclass with a ClassVar under `from __future__ import
    # annotations`, hypothesis strategies) under `python -m lazy_bind -m
    # pytest`, no LAZY_BIND_POLICY.
    suite = Path(__file__).resolve().parents[2] / "cpython-common" / "tests" / "pytest_smoke"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZY_BIND")}
    proc = subprocess.run(
        [sys.executable, "-m", "lazy_bind", "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(suite)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout, proc.stdout
