"""In mode all, every stdlib module that imports eagerly also imports and can
be used lazily: `import m; dir(m)` plus reading every attribute, each in a
fresh process."""

import subprocess
import sys
import unittest

from lazy_support import TIMEOUT


def run(mode, name):
    code = f"import {name}; [getattr({name}, a, None) for a in dir({name})]"
    return subprocess.run([sys.executable, "-X", f"lazy_imports={mode}", "-c", code],
                          capture_output=True, text=True, timeout=TIMEOUT)


class StdlibSweep(unittest.TestCase):
    def test_every_eager_module_imports_lazily(self):
        eager = 0
        failures = []
        for name in sorted(sys.stdlib_module_names):
            if run("none", name).returncode != 0:
                continue  # not importable here (platform, missing library)
            eager += 1
            proc = run("all", name)
            if proc.returncode != 0:
                failures.append(f"{name}: {proc.stderr.strip().splitlines()[-1:]}")
        self.assertGreater(eager, 200)
        self.assertEqual(failures, [], f"{len(failures)} of {eager} modules failed lazily")


if __name__ == "__main__":
    unittest.main()
