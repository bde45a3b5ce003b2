"""Python children of a lazy program are lazy: `subprocess` children,
`multiprocessing` spawn workers; not with `LAZY_BIND_SUBPROCESS=0`, nor the
children of a plain program, whose start-up never loads lazy_bind."""

import json
import os
import sys
from pathlib import Path

# The child imports two fixture modules at module level and reports whether
# lazy_bind is enabled in it, which of the two were imported at once, and
# whether lazy_bind's C extension is loaded at all.
CHILD = """\
import sys
import plain_mod, slow_mod
before = ["plain_mod" in sys.modules, "slow_mod" in sys.modules]
plain_mod.VALUE
lazy_bind = sys.modules.get("lazy_bind")
print(lazy_bind is not None and lazy_bind.enabled(), before, "plain_mod" in sys.modules,
      "lazy_bind._native" in sys.modules, flush=True)
"""

FIXTURES = Path(__file__).parent / "fixtures"
LAZY = "True [False, False] True True\n"
EAGER = "False [True, True] True False\n"

PARENT = """
import subprocess, sys
subprocess.run([sys.executable, "child.py"], check=True, timeout=60)
"""


def _write_child(tmp_path):
    (tmp_path / "child.py").write_text(CHILD)


def test_a_subprocess_child_of_a_lazy_program_is_lazy(run, tmp_path):
    _write_child(tmp_path)
    assert run(PARENT).stdout == LAZY


def test_the_child_gets_the_parents_policy(run, tmp_path):
    _write_child(tmp_path)
    out = run(PARENT, args=["--policy", "eager-target plain_mod"]).stdout
    assert out == "True [True, False] True True\n"


def test_a_spawn_worker_is_lazy(run, tmp_path):
    # The worker runs the parent's main module again (as __mp_main__), then
    # the function: its probe module's module-level import is deferred.
    (tmp_path / "probe_mod.py").write_text("import sys\nimport slow_mod\n")
    out = run(
        """
        import multiprocessing, sys

        def work(_):
            import probe_mod
            return sys.modules["lazy_bind"].enabled(), "slow_mod" in sys.modules

        if __name__ == "__main__":
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                print(pool.map_async(work, [0]).get(timeout=60))
        """
    ).stdout
    assert out == "[(True, False)]\n"


def test_a_child_that_ignores_the_environment_stays_eager(run, tmp_path):
    # `python -E` and `-I` ignore PYTHON* variables, so the fork's
    # PYTHON_LAZY_IMPORTS does not reach such a child; neither does
    # LAZY_BIND_SUBPROCESS. CPython's own tests start `-E`/`-I` children
    # expecting a plain interpreter. (The fixtures go beside the child: -E
    # ignores PYTHONPATH too.)
    _write_child(tmp_path)
    for name in ("plain_mod.py", "slow_mod.py", "record.py"):
        (tmp_path / name).write_text((FIXTURES / name).read_text())
    out = run(
        """
        import subprocess, sys
        for flags in (["-E"], []):
            subprocess.run([sys.executable, *flags, "child.py"], check=True, timeout=60)
        # -I leaves the script's directory off sys.path: only what loaded.
        probe = "import sys; print(sorted(m for m in sys.modules if 'lazy_bind' in m))"
        subprocess.run([sys.executable, "-I", "-c", probe], check=True, timeout=60)
        """
    ).stdout
    assert out == EAGER + LAZY + "[]\n"


def test_zero_turns_inheritance_off(run, tmp_path):
    _write_child(tmp_path)
    out = run(
        "import sys\nprint(sys.modules['lazy_bind'].enabled(), flush=True)\n" + PARENT,
        env={"LAZY_BIND_SUBPROCESS": "0"},
    ).stdout
    assert out == "True\n" + EAGER


def test_the_child_of_a_plain_program_is_not_lazy(run_plain, tmp_path):
    _write_child(tmp_path)
    assert run_plain(PARENT).stdout == EAGER


def test_one_makes_any_program_and_its_children_lazy(run_plain, tmp_path):
    _write_child(tmp_path)
    assert run_plain(PARENT, env={"LAZY_BIND_SUBPROCESS": "1"}).stdout == LAZY


def test_enable_passes_laziness_on_only_when_asked(run_plain, tmp_path):
    _write_child(tmp_path)
    out = run_plain(
        """
        import lazy_bind, subprocess, sys
        for subprocesses in (False, True):
            lazy_bind.enable(subprocesses=subprocesses)
            subprocess.run([sys.executable, "child.py"], check=True, timeout=60)
        """
    ).stdout
    assert out == EAGER + LAZY


def test_a_bad_inherited_policy_is_reported_and_imports_stay_eager(run_plain, tmp_path):
    _write_child(tmp_path)
    result = run_plain(CHILD, env={"LAZY_BIND_SUBPROCESS": "eager-targt x"})
    assert result.stdout == "False [True, True] True True\n"
    assert result.stderr.count("lazy_bind: LAZY_BIND_SUBPROCESS ignored: policy line 1") == 1


def test_each_child_writes_its_own_trace_and_no_report(run, tmp_path):
    _write_child(tmp_path)
    trace = tmp_path / "trace.json"
    result = run(
        """
        import subprocess, sys
        import libmod
        libmod.plain_mod
        child = subprocess.run([sys.executable, "child.py"], timeout=60, capture_output=True)
        print(child.stderr.decode(), end="")
        """,
        args=["--trace", "trace.json", "--report"],
    )
    assert result.stdout.count("lazy_bind:") == 0, result.stdout
    assert result.stderr.count("lazy_bind: deferred") == 1, result.stderr
    children = list(tmp_path.glob("trace.*.json"))
    assert len(children) == 1, children
    assert "slow_mod" in children[0].read_text()
    assert "libmod" in trace.read_text() and "slow_mod" not in trace.read_text()


def test_a_forked_child_neither_overwrites_the_trace_nor_reports(run, tmp_path):
    result = run(
        """
        import os
        import plain_mod
        pid = os.fork()
        if pid:
            os.waitpid(pid, 0)
            print(pid)
        """,
        args=["--trace", "trace.json", "--report"],
    )
    child = int(result.stdout)
    assert (tmp_path / f"trace.{child}.json").is_file() and (tmp_path / "trace.json").is_file()
    assert result.stderr.count("lazy_bind: deferred") == 1, result.stderr


def test_the_start_up_hook_is_installed_beside_the_package():
    import lazy_bind

    site = Path(lazy_bind.__file__).parent.parent
    installed = (site / "lazy_bind.pth").read_text()
    source = Path(__file__).parents[1] / "src" / "lazy_bind.pth"
    # site runs a .pth line only if it starts with "import".
    assert installed == source.read_text() and installed.startswith("import ")
    assert len(installed.splitlines()) == 1


def test_a_subinterpreter_of_a_lazy_program_stays_eager(run, run_plain):
    # A subinterpreter runs site, and so the .pth, with the variable set by
    # `python -m lazy_bind`; the adaptor is process-wide and must not enable
    # there (it raised SystemError from the code-object cache).
    code = """
        try:
            import _interpreters as interpreters  # CPython 3.13 and later
        except ModuleNotFoundError:
            import _xxsubinterpreters as interpreters
        interp = interpreters.create()
        interpreters.run_string(interp, "import json\\nassert json.dumps([1]) == '[1]'\\n")
        interpreters.destroy(interp)
        print("subinterpreter ok")
        """
    assert run_plain(code).stdout == "subinterpreter ok\n"
    assert run(code).stdout == "subinterpreter ok\n"
