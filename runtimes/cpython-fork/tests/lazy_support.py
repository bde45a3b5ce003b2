"""Helpers for the fork's semantic tests: every case writes its modules into a
fresh temporary directory and runs a script there in a fresh subprocess of
this interpreter, so modes, sys.modules and the engine start clean."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

# A test that hangs (a deadlock regression) fails instead of blocking CI.
TIMEOUT = 60


def write_tree(root, files):
    """Writes {relative path: source} under root (dedented)."""
    for name, text in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))


class LazyTestCase(unittest.TestCase):
    """Runs scripts in subprocesses of sys.executable."""

    def run_python(self, files, main, *, xoptions=("lazy_imports=all",), env=None, args=(),
                   check=True, timeout=TIMEOUT):
        """Writes `files` and `main.py` (source `main`) to a temp dir and runs
        `python [-X opt]... [args] main.py` there. Returns the CompletedProcess;
        with `check`, fails the test unless the exit status is 0."""
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        write_tree(tmp.name, dict(files, **{"main.py": main}))
        command = [sys.executable]
        for option in xoptions:
            command += ["-X", option]
        command += list(args) + ["main.py"]
        environ = {k: v for k, v in os.environ.items()
                   if not k.startswith(("PYTHON", "LAZY_BIND"))}
        environ["PYTHONPATH"] = tmp.name
        environ.update(env or {})
        proc = subprocess.run(command, cwd=tmp.name, env=environ, capture_output=True,
                              text=True, timeout=timeout)
        proc.tmpdir = tmp.name
        if check and proc.returncode != 0:
            self.fail(f"exit status {proc.returncode}\nstdout:\n{proc.stdout}\n"
                      f"stderr:\n{proc.stderr}")
        return proc

    def run_json(self, files, main, **kwargs):
        """Runs like run_python; the script's last stdout line is JSON."""
        proc = self.run_python(files, main, **kwargs)
        lines = proc.stdout.strip().splitlines()
        self.assertTrue(lines, f"no output; stderr:\n{proc.stderr}")
        return json.loads(lines[-1])
