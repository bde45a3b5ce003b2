"""Modes and their precedence, __lazy_modules__, the filter, the lazy_bind
policy with explain, tracing, the never-resolved report and the fork hook."""

import json
import os
import subprocess
import sys
import unittest

from lazy_support import LazyTestCase

FILES = {"target_mod.py": "X = 1\n", "other_mod.py": "Y = 2\n"}

# Prints the mode and whether `import target_mod` was deferred.
PROBE = """
import sys
import target_mod
print(sys.get_lazy_imports(), 'target_mod' not in sys.modules)
"""


class Modes(LazyTestCase):
    def probe(self, xoptions=(), env=None, args=()):
        proc = self.run_python(FILES, PROBE, xoptions=xoptions, env=env, args=args)
        mode, deferred = proc.stdout.split()
        return mode, deferred == "True"

    def test_default_is_normal_and_eager(self):
        self.assertEqual(self.probe(), ("normal", False))

    def test_environment_variable(self):
        self.assertEqual(self.probe(env={"PYTHON_LAZY_IMPORTS": "all"}), ("all", True))

    def test_x_option_beats_environment(self):
        self.assertEqual(self.probe(xoptions=("lazy_imports=none",),
                                    env={"PYTHON_LAZY_IMPORTS": "all"}), ("none", False))
        self.assertEqual(self.probe(xoptions=("lazy_imports=all",),
                                    env={"PYTHON_LAZY_IMPORTS": "none"}), ("all", True))

    def test_environment_ignored_under_dash_e(self):
        self.assertEqual(self.probe(env={"PYTHON_LAZY_IMPORTS": "all"}, args=("-E",)),
                         ("normal", False))

    def test_policy_mode_line_is_below_environment(self):
        policy = {"LAZY_BIND_POLICY": "mode all"}
        self.assertEqual(self.probe(env=policy), ("all", True))
        self.assertEqual(self.probe(env=dict(policy, PYTHON_LAZY_IMPORTS="none")),
                         ("none", False))
        self.assertEqual(self.probe(xoptions=("lazy_imports=normal",), env=policy),
                         ("normal", False))

    def test_set_lazy_imports_beats_x_option(self):
        out = self.run_json(FILES, """
            import sys
            sys.set_lazy_imports('none')
            import target_mod
            eager = 'target_mod' in sys.modules
            sys.set_lazy_imports('all')
            import other_mod
            import json
            print(json.dumps([eager, 'other_mod' in sys.modules, sys.get_lazy_imports()]))
            """, xoptions=("lazy_imports=all",))
        self.assertEqual(out, [True, False, "all"])

    def test_invalid_modes_are_errors(self):
        proc = self.run_python(FILES, "pass\n", xoptions=("lazy_imports=sometimes",),
                               check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("invalid mode 'sometimes'", proc.stderr)
        out = self.run_json({}, """
            import sys, json
            try:
                sys.set_lazy_imports('lazy')
            except ValueError as e:
                print(json.dumps(str(e)))
            """)
        self.assertIn("'lazy'", out)

    def test_lazy_modules_in_normal_mode(self):
        out = self.run_json(dict(FILES, **{"pkg/__init__.py": "", "pkg/sub.py": "Z = 3\n"}), """
            __lazy_modules__ = ['target_mod', 'pkg']
            import sys
            import target_mod
            import other_mod
            import pkg.sub
            import json
            print(json.dumps(['target_mod' in sys.modules, 'other_mod' in sys.modules,
                              'pkg' in sys.modules, target_mod.X, pkg.sub.Z]))
            """, xoptions=())
        self.assertEqual(out, [False, True, False, 1, 3])

    def test_sys_lazy_modules(self):
        # CPython 3.15: the modules lazily imported and not loaded yet.
        out = self.run_json(dict(FILES, **{"pkg/__init__.py": "", "pkg/sub.py": "Z = 3\n"}), """
            import sys
            import target_mod
            import pkg.sub
            from other_mod import Y
            import os
            before = sorted(sys.lazy_modules & {'target_mod', 'pkg', 'pkg.sub', 'other_mod', 'os'})
            target_mod.X
            after = sorted(sys.lazy_modules & {'target_mod', 'pkg', 'pkg.sub', 'other_mod'})
            import json
            print(json.dumps([before, after, sys.lazy_modules is sys.lazy_modules,
                              hasattr(sys, 'no_such_attribute')]))
            """)
        self.assertEqual(out, [["other_mod", "pkg", "pkg.sub", "target_mod"],
                               ["other_mod", "pkg", "pkg.sub"], False, False])

    def test_filter(self):
        out = self.run_json(FILES, """
            import sys
            calls = []
            def only_target(importer, target, fromlist):
                calls.append([importer, target, fromlist])
                return target == 'target_mod'
            sys.set_lazy_imports_filter(only_target)
            import target_mod
            from other_mod import Y
            import json
            same = sys.get_lazy_imports_filter() is only_target
            sys.set_lazy_imports_filter(None)
            print(json.dumps([calls[:2], 'target_mod' in sys.modules,
                              'other_mod' in sys.modules, same,
                              sys.get_lazy_imports_filter() is None]))
            """)
        self.assertEqual(out, [[["__main__", "target_mod", None],
                                ["__main__", "other_mod", ["Y"]]], False, True, True, True])

    def test_policy_opt_out_and_explain(self):
        out = self.run_json(FILES, """
            import sys
            import target_mod
            import other_mod
            import _lazy_imports, json
            print(json.dumps(['target_mod' in sys.modules, 'other_mod' in sys.modules,
                              _lazy_imports.explain('__main__', 'target_mod'),
                              _lazy_imports.explain('__main__', 'other_mod')]))
            """, env={"LAZY_BIND_POLICY": "eager-target target_mod"})
        self.assertEqual(out[:2], [True, False])
        self.assertIn("eager-target target_mod", out[2])
        self.assertTrue(out[2].startswith("eager"), out[2])
        self.assertTrue(out[3].startswith("defer"), out[3])

    def test_subinterpreters_import_eagerly(self):
        proc = self.run_python(FILES, """
            import _testcapi, sys
            code = "\\n".join([
                "import sys",
                "import target_mod",
                "try:",
                "    sys.set_lazy_imports('all')",
                "except RuntimeError:",
                "    print(sys.get_lazy_imports(), 'target_mod' in sys.modules)",
            ])
            status = _testcapi.run_in_subinterp(code)
            print(status, sys.get_lazy_imports())
            """)
        self.assertEqual(proc.stdout.split(), ["none", "True", "0", "all"])

    def test_built_in_opt_outs_sit_under_the_user_policy(self):
        # A stand-in `sympy` (one of the packages opted out by default):
        # its own imports run eagerly, the program's `import sympy` stays
        # lazy, and the user's rules still apply.
        files = dict(FILES, **{"sympy/__init__.py": "from . import core\n",
                               "sympy/core.py": "X = 1\n"})
        script = """
            import sys, json, _lazy_imports
            import sympy
            import target_mod
            deferred = 'sympy' not in sys.modules
            sympy.core
            print(json.dumps([deferred, 'sympy.core' in sys.modules,
                              'target_mod' in sys.modules,
                              _lazy_imports.explain('sympy', 'sympy.core', ['core'])]))
            """
        user = {"LAZY_BIND_POLICY": "eager-target target_mod"}
        deferred, core_loaded, target_loaded, why = self.run_json(files, script, env=user)
        self.assertEqual([deferred, core_loaded, target_loaded], [True, True, True])
        self.assertIn("eager-importer sympy.*", why)
        for off in ({"xoptions": ("lazy_imports=all", "lazy_imports_defaults=0")},
                    {"env": dict(user, PYTHON_LAZY_IMPORTS_DEFAULTS="0")}):
            out = self.run_json(files, script, **off)
            self.assertTrue(out[3].startswith("defer"), (off, out))

    def test_bad_policy_stops_start_up(self):
        proc = self.run_python(FILES, "pass\n", env={"LAZY_BIND_POLICY": "sometimes all"},
                               check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("LAZY_BIND_POLICY", proc.stderr)


class Tooling(LazyTestCase):
    def test_chrome_trace_file(self):
        proc = self.run_python(FILES, """
            import target_mod
            import other_mod
            target_mod.X
            """, xoptions=("lazy_imports=all", "lazy_imports_trace=trace.json"))
        with open(os.path.join(proc.tmpdir, "trace.json"), encoding="utf-8") as f:
            trace = json.load(f)
        events = trace["traceEvents"] if isinstance(trace, dict) else trace
        text = json.dumps(events)
        self.assertIn("target_mod", text)
        self.assertTrue(events)

    def test_never_resolved_report_at_exit(self):
        for options, env in ((("lazy_imports=all", "lazy_imports_report"), None),
                             (("lazy_imports=all",), {"PYTHON_LAZY_IMPORTS_REPORT": "1"})):
            proc = self.run_python(FILES, """
                import target_mod
                import other_mod
                target_mod.X
                """, xoptions=options, env=env)
            self.assertIn("lazy imports never resolved: 1", proc.stderr)
            self.assertIn("other_mod", proc.stderr)
            self.assertNotIn("target_mod (", proc.stderr)

    def test_counters_and_never_resolved(self):
        out = self.run_json(FILES, """
            import _lazy_imports
            import target_mod
            import other_mod
            target_mod.X
            import json
            c = _lazy_imports.counters()
            print(json.dumps([c['deferred'] >= 3, c['resolved'] >= 2,
                              [l for l in _lazy_imports.never_resolved() if 'other_mod' in l]
                              != []]))
            """)
        self.assertEqual(out, [True, True, True])

    def test_fork_child_resolves_an_entry_the_parent_was_resolving(self):
        # A thread is inside the resolution of `from slowattr import V` (in
        # the module's __getattr__, holding no import lock) when the main
        # thread forks: in the child that thread is gone, so the entry must
        # be pending again and resolve there.
        out = self.run_json({
            "slowattr.py": "import time, gate\n"
                           "def __getattr__(name):\n"
                           "    if name.startswith('__'):\n"
                           "        raise AttributeError(name)\n"
                           "    gate.entered.set()\n"
                           "    time.sleep(1)\n"
                           "    return 'slow'\n",
            "gate.py": "import threading\nentered = threading.Event()\n",
            "holder.py": "from slowattr import V\n",
        }, """
            import os, threading, json, gate, holder, slowattr
            slowattr.__name__
            t = threading.Thread(target=lambda: holder.V)
            t.start()
            gate.entered.wait()
            pid = os.fork()
            if pid == 0:
                try:
                    code = 0 if holder.V == 'slow' else 1
                except BaseException:
                    code = 2
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            t.join()
            print(json.dumps([os.waitstatus_to_exitcode(status), holder.V]))
            """, timeout=30)
        self.assertEqual(out, [0, "slow"])


class Embedding(unittest.TestCase):
    """The interpreter initialised and finalised again in one process."""

    TESTEMBED = os.path.join(os.path.dirname(os.path.realpath(sys.executable)),
                             "Programs", "_testembed")

    def test_repeated_init_in_lazy_mode(self):
        # CPython's own case (test_embed): Py_Initialize and Py_Finalize in a
        # loop. With lazy imports on, the second start-up failed (the
        # code-extra slot and the objects of the finalised interpreter
        # outlived it).
        self.assertTrue(os.path.exists(self.TESTEMBED), self.TESTEMBED)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LAZY_BIND"))}
        env["PYTHON_LAZY_IMPORTS"] = "all"
        # Run from the build tree, where it finds the standard library.
        proc = subprocess.run([self.TESTEMBED, "test_repeated_simple_init"], env=env,
                              cwd=os.path.dirname(os.path.dirname(self.TESTEMBED)),
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # Each loop announces itself on stderr and says "Finalized" on stdout.
        loops = proc.stderr.count("--- Loop #")
        self.assertGreater(loops, 1, proc.stderr)
        self.assertEqual(proc.stdout.count("Finalized"), loops, proc.stdout)


if __name__ == "__main__":
    unittest.main()
