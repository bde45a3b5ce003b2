"""Failures: the original exception type with a note naming the declaration,
retried on next use; same-thread cycles as LazyImportCycleError."""

import unittest

from lazy_support import LazyTestCase


class Errors(LazyTestCase):
    def test_original_type_with_declaration_note(self):
        out = self.run_json({"broken.py": "raise KeyError('inside broken')\n"}, """
            import json
            import broken
            try:
                broken.anything
            except KeyError as e:
                print(json.dumps([type(e).__name__, str(e), e.__notes__]))
            """)
        name, text, notes = out
        self.assertEqual([name, text], ["KeyError", "'inside broken'"])
        self.assertEqual(len(notes), 1)
        self.assertRegex(notes[0], r"lazy import of 'broken' declared at .*main\.py:3 "
                                   r"failed while resolving at .*main\.py:5")

    def test_traceback_has_a_frame_at_the_import_line(self):
        # As in CPython 3.15: the access, then the declaring `import`
        # statement, then the failed module's own frames.
        out = self.run_json({"broken.py": "x = 1\nraise KeyError('inside broken')\n"}, """
            import json, traceback
            import broken

            def use():
                return broken.x
            try:
                use()
            except KeyError as e:
                frames = traceback.extract_tb(e.__traceback__)
                print(json.dumps([[f.filename.rsplit("/", 1)[-1], f.lineno, f.name, f.line]
                                  for f in frames]))
            """)
        self.assertEqual(out, [["main.py", 8, "<module>", "use()"],
                               ["main.py", 6, "use", "return broken.x"],
                               ["main.py", 3, "<module>", "import broken"],
                               ["broken.py", 2, "<module>", "raise KeyError('inside broken')"]])

    def test_missing_module_is_module_not_found_at_use(self):
        out = self.run_json({}, """
            import json
            import no_such_module_here
            declared = True
            try:
                no_such_module_here.x
            except ModuleNotFoundError as e:
                print(json.dumps([declared, e.name]))
            """)
        self.assertEqual(out, [True, "no_such_module_here"])

    def test_a_guarded_import_still_catches_a_missing_module_inside(self):
        # dateutil.tz: `try: from .win import tzwin` / `except ImportError:
        # tzwin = None`, and win.py's own `import winreg` raises on Linux.
        # The guarded statement runs eagerly, and while it does an import of
        # a module that cannot be found is not deferred, so the error still
        # reaches the guard; a module that can be found stays deferred.
        files = {
            "tzpkg/__init__.py": (
                "try:\n"
                "    from .win import tzwin\n"
                "except ImportError:\n"
                "    tzwin = None\n"
                "try:\n"
                "    from .unix import tzunix\n"
                "except ImportError:\n"
                "    tzunix = None\n"),
            "tzpkg/win.py": "import os\nimport winreg_not_here\nclass tzwin:\n    pass\n",
            "tzpkg/unix.py": "import helper_mod\nclass tzunix:\n    pass\n",
            "helper_mod.py": "VALUE = 1\n",
        }
        script = """
            import json, sys
            import tzpkg
            tzpkg.__name__                  # runs its body
            unix = sys.modules['tzpkg.unix']
            deferred = type(vars(unix)['helper_mod']).__name__ != 'module'
            print(json.dumps([tzpkg.tzwin is None, tzpkg.tzunix.__name__,
                              'tzpkg.win' in sys.modules, 'helper_mod' in sys.modules,
                              deferred]))
            """
        eager = self.run_json(files, script, xoptions=("lazy_imports=none",))
        self.assertEqual(eager, [True, "tzunix", False, True, False])
        self.assertEqual(self.run_json(files, script), [True, "tzunix", False, False, True])

    def test_failure_is_retried_on_next_use(self):
        out = self.run_json({
            "flaky.py": "import attempts\nattempts.n += 1\n"
                        "if attempts.n == 1:\n    raise OSError('first attempt')\nVALUE = 'ok'\n",
            "attempts.py": "n = 0\n",
        }, """
            import json, attempts, _lazy_imports
            import flaky
            outcomes = []
            for _ in range(2):
                try:
                    outcomes.append(flaky.VALUE)
                except OSError as e:
                    outcomes.append(type(e).__name__)
            print(json.dumps([outcomes, attempts.n, _lazy_imports.counters()['failed']]))
            """)
        self.assertEqual(out, [["OSError", "ok"], 2, 1])

    def test_same_thread_cycle(self):
        # a's `x` is a lazy from-import of b; b's body reads a.x while x is
        # being resolved: the same entry again, on the same thread.
        out = self.run_json({
            "a.py": "from b import x\nuse = x\n",
            "b.py": "import a\nx = 1\ny = a.x\n",
        }, """
            import json, _lazy_imports
            try:
                import a
                a.use
                print(json.dumps(["no error"]))
            except _lazy_imports.LazyImportCycleError as e:
                print(json.dumps(["cycle", str(e), [link[0] for link in e.chain],
                                  isinstance(e, ImportError)]))
            """, xoptions=("lazy_imports=all",))
        self.assertEqual(out[0], "cycle", out)
        self.assertIn("a.py", out[1])
        self.assertIn("b.x", out[2])
        self.assertTrue(out[3])

    def test_error_classes_are_import_errors(self):
        proc = self.run_python({}, """
            import _lazy_imports as m
            print(issubclass(m.LazyImportCycleError, ImportError),
                  issubclass(m.LazyImportDeadlockError, ImportError),
                  m.LazyImportCycleError.__module__)
            """)
        self.assertEqual(proc.stdout.split(), ["True", "True", "_lazy_imports"])


if __name__ == "__main__":
    unittest.main()
