"""Runs each scenario in its own interpreter, so no import state leaks.

`run(tmp_path, code)` writes `code` to main.py and runs
`python -m lazy_bind main.py` with the fixture packages on the path;
`run_plain` runs it without lazy_bind. Both fail the test on a non-zero
exit or a timeout and return the captured stdout.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def _run(tmp_path, code, lazy, args=(), timeout=60, check=True):
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(code))
    env = dict(os.environ, PYTHONPATH=str(FIXTURES), PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable]
    if lazy:
        command += ["-m", "lazy_bind", *args]
    command.append(str(script))
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, cwd=tmp_path
    )
    if check:
        assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def run(tmp_path):
    def run(code, args=(), timeout=60, check=True):
        return _run(tmp_path, code, True, args, timeout, check)

    return run


@pytest.fixture
def run_plain(tmp_path):
    def run_plain(code, timeout=60, check=True):
        return _run(tmp_path, code, False, (), timeout, check)

    return run_plain
