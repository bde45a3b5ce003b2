"""The tools on the CPython fork (``--python FORK``): bisect's minimal
policies, check and the HTML report, from the same code as on the adaptor.

Runs when ``LAZY_BIND_FORK_PYTHON`` names a built fork, as
``runtimes/cpython-fork/run-tests.sh`` sets it (the adaptor's own suite,
run by ``cargo test`` before the fork is built, skips these)."""

import os
import subprocess
import sys

import pytest

from conftest import environment
from test_bisect import HOOK, REGISTRY, SYS_PATH, rules_of, write_tree
from test_html_report import make_program, measure
from lazy_bind import _bisect, _check

FORK = os.environ.get("LAZY_BIND_FORK_PYTHON")
pytestmark = pytest.mark.skipif(
    not FORK, reason="LAZY_BIND_FORK_PYTHON is not set (runtimes/cpython-fork/run-tests.sh sets it)")
TIMEOUT = 180


def tool(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "lazy_bind", *args], capture_output=True,
                          text=True, cwd=tmp_path, env=environment(), timeout=TIMEOUT)


@pytest.mark.parametrize("files, expected", [
    (REGISTRY, ["eager-target plugins.*"]),
    (SYS_PATH, ["eager-target setup_path"]),
    (HOOK, ["eager-target hook"]),
], ids=["side-effect-registry", "sys-path-at-import", "hook-at-import"])
def test_bisect_on_the_fork(tmp_path, files, expected):
    write_tree(tmp_path, files)
    out = tmp_path / "found.policy"
    result = tool(tmp_path, "bisect", "--python", FORK, "--out", str(out), "--", "app.py")
    assert result.returncode == _bisect.FOUND, result.stderr
    policy = out.read_text()
    assert rules_of(policy) == expected and "lazy_bind bisect (fork)" in policy, policy


def test_check_on_the_fork(tmp_path):
    # The fork is lazy from start-up: site's own imports count too, so the
    # budget is a baseline.
    write_tree(tmp_path, {"mod_a.py": "VALUE = 1\n", "mod_b.py": "VALUE = 2\n",
                          "app.py": "import mod_a, mod_b\nmod_a.VALUE\n"})
    common = ["check", "--python", FORK, "--runs", "1", "--baseline", "base.json",
              "--ms-tolerance", "100000"]
    written = tool(tmp_path, *common, "--write-baseline", "--", "app.py")
    assert written.returncode == _check.WITHIN, written.stdout + written.stderr
    (tmp_path / "app.py").write_text("import mod_a, mod_b\nmod_a.VALUE\nmod_b.VALUE\n")
    over = tool(tmp_path, *common, "--", "app.py")
    assert over.returncode == _check.OVER, over.stdout + over.stderr
    new = [line.split()[1] for line in over.stdout.splitlines() if "[new]" in line]
    assert new == ["mod_b"], over.stdout


def test_html_report_of_the_fork(tmp_path):
    make_program(tmp_path)
    report = tmp_path / "report.html"
    run = tool(tmp_path, "report", "--python", FORK, "--html", str(report), "--", "app.py")
    assert run.returncode == 0 and run.stdout == "thread\n2 1 1\n", run.stderr
    measured = measure(report, tmp_path)
    assert measured["sections"] == ["summary", "timeline", "never-used", "top-costs", "policy"]
    assert measured["tracks"] == 2
    bars = {bar["module"]: bar for bar in measured["bars"]}
    assert {"outer_mod", "inner_mod", "thread_mod"} <= set(bars), bars
    assert bars["inner_mod"]["top"] > bars["outer_mod"]["top"]
    unused = [row for row in measured["cells"] if row and row[0] == "unused_mod"]
    assert unused and unused[0][3].endswith("(measured eagerly)"), measured["cells"]
