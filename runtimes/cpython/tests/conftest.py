"""Runs each scenario in its own interpreter, so no import state leaks.

`run(tmp_path, code)` writes `code` to main.py and runs
`python -m lazy_bind main.py` with the fixture packages on the path;
`run_plain` runs it without lazy_bind. Both fail the test on a non-zero
exit or a timeout and return the captured stdout. `python(*args)` runs
`python *args` in `tmp_path` with the same environment and returns the
completed process whatever its exit status. The environment never carries
the `LAZY_BIND_SUBPROCESS*` variables of the process running the tests.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def environment(**variables):
    """The tests' environment: ours without lazy_bind's child-process
    variables, the fixtures on the path, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZY_BIND_SUBPROCESS")}
    env.update(PYTHONPATH=str(FIXTURES), PYTHONDONTWRITEBYTECODE="1", **variables)
    return env


def _run(tmp_path, code, lazy, args=(), timeout=60, check=True, env=None):
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(code))
    command = [sys.executable]
    if lazy:
        command += ["-m", "lazy_bind", *args]
    command.append(str(script))
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment(**(env or {})),
        timeout=timeout,
        cwd=tmp_path,
    )
    if check:
        assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def run(tmp_path):
    def run(code, args=(), timeout=60, check=True, env=None):
        return _run(tmp_path, code, True, args, timeout, check, env)

    return run


@pytest.fixture
def run_plain(tmp_path):
    def run_plain(code, timeout=60, check=True, env=None):
        return _run(tmp_path, code, False, (), timeout, check, env)

    return run_plain


@pytest.fixture
def python(tmp_path):
    def python(*args, input=None, timeout=60, env=None):
        return subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            input=input,
            env=environment(**(env or {})),
            timeout=timeout,
            cwd=tmp_path,
        )

    return python
