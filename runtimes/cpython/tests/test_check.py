"""``python -m lazy_bind check``: budgets, baselines and bad input."""

import json
import subprocess
import sys

from conftest import environment
from lazy_bind import _check

TIMEOUT = 120


def check(tmp_path, *args, command=("app.py",)):
    return subprocess.run(
        [sys.executable, "-m", "lazy_bind", "check", "--runs", "1", *args, "--", *command],
        capture_output=True, text=True, cwd=tmp_path, env=environment(), timeout=TIMEOUT)


def program(tmp_path, used):
    """app.py imports mod_a, mod_b and mod_c lazily and uses ``used``."""
    for name in ("mod_a", "mod_b", "mod_c"):
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    uses = "".join(f"{name}.VALUE\n" for name in used)
    (tmp_path / "app.py").write_text(f"import mod_a, mod_b, mod_c\n{uses}")


def test_within_and_over_the_resolution_budget(tmp_path):
    program(tmp_path, ["mod_a", "mod_b"])
    within = check(tmp_path, "--max-resolved", "2")
    assert within.returncode == _check.WITHIN, within.stdout + within.stderr
    assert "2 deferred imports resolved" in within.stdout and "within budget" in within.stdout
    over = check(tmp_path, "--max-resolved", "1")
    assert over.returncode == _check.OVER, over.stdout + over.stderr
    assert "over budget: 2 deferred imports resolved, more than --max-resolved 1" in over.stdout
    listed = over.stdout.split("resolved deferred imports")[1]
    assert "mod_a" in listed and "mod_b" in listed and "mod_c" not in listed, over.stdout


def test_over_the_time_budget(tmp_path):
    program(tmp_path, ["mod_a"])
    over = check(tmp_path, "--max-ms", "0.001")
    assert over.returncode == _check.OVER, over.stdout + over.stderr
    assert "ms importing, more than --max-ms 0.001" in over.stdout
    assert "costliest top-level imports" in over.stdout
    assert check(tmp_path, "--max-ms", "100000").returncode == _check.WITHIN


def test_baseline_records_and_catches_a_new_resolution(tmp_path):
    program(tmp_path, ["mod_a"])
    baseline = tmp_path / "startup.json"
    written = check(tmp_path, "--baseline", str(baseline), "--write-baseline")
    assert written.returncode == _check.WITHIN, written.stdout + written.stderr
    recorded = json.loads(baseline.read_text())
    assert recorded["resolved"] == ["mod_a"] and recorded["import_ms"] > 0, recorded
    assert check(tmp_path, "--baseline", str(baseline), "--ms-tolerance", "100000").returncode == 0
    program(tmp_path, ["mod_a", "mod_c"])  # the next refactor uses mod_c at start-up
    worse = check(tmp_path, "--baseline", str(baseline), "--ms-tolerance", "100000")
    assert worse.returncode == _check.OVER, worse.stdout + worse.stderr
    assert "2 deferred imports resolved, more than the baseline's 1" in worse.stdout
    assert [line for line in worse.stdout.splitlines() if "[new]" in line][0].split()[1] == "mod_c"


def test_bad_input(tmp_path):
    program(tmp_path, [])
    (tmp_path / "fails.py").write_text("raise SystemExit(3)\n")
    assert check(tmp_path, "--max-resolved", "1", command=["nothere.py"]).returncode == 3
    failing = check(tmp_path, "--max-resolved", "1", command=["fails.py"])
    assert failing.returncode == _check.COMMAND_FAILS and "fails lazily (exit 3)" in failing.stderr
    assert check(tmp_path).returncode == 2  # no budget
    assert check(tmp_path, "--write-baseline", "--max-ms", "1").returncode == 2
