"""Which imports are deferred, decided at run time (issue 10, Semantics,
bullet 3): module level only, never under an exception handler, never star
imports or __future__."""

import dis
import json
import os
import textwrap
import unittest

from lazy_support import LazyTestCase

MODULES = {name + ".py": f"LOADED = True\n" for name in
           ("m_plain", "m_func", "m_class", "m_try", "m_except", "m_finally", "m_with",
            "m_loop", "m_star", "m_exec_locals", "m_if", "m_after_try")}


class Eligibility(LazyTestCase):
    def test_contexts(self):
        out = self.run_json(MODULES, """
            import contextlib, json, sys
            import m_plain
            def f():
                import m_func
            f()
            class C:
                import m_class
            try:
                import m_try
            except ImportError:
                pass
            try:
                raise KeyError
            except KeyError:
                import m_except
            try:
                pass
            finally:
                import m_finally
            with contextlib.nullcontext():
                import m_with
            for _ in range(1):
                import m_loop
            from m_star import *
            exec("import m_exec_locals", {'__name__': 'x'}, {})
            if True:
                import m_if
            import m_after_try
            names = sorted(n for n in sys.modules if n.startswith('m_'))
            print(json.dumps(names))
            """)
        self.assertEqual(out, ["m_class", "m_except", "m_exec_locals", "m_finally", "m_func",
                               "m_loop", "m_star", "m_try", "m_with"])

    def test_trace_names_each_context(self):
        # Read from the code object: the handler covering the import (the
        # innermost: a `with` block's, or try/except/finally, also for the
        # copy of a `finally` body that runs on the normal exit), a loop (a
        # backward jump), and nothing for an import after all of them.
        proc = self.run_python(MODULES, """
            import contextlib
            try:
                import m_try
            except ImportError:
                pass
            with contextlib.nullcontext():
                import m_with
            try:
                with contextlib.nullcontext():
                    import m_except
            finally:
                pass
            for _ in range(1):
                import m_loop
            try:
                pass
            finally:
                import m_finally
            import m_plain
            """, xoptions=("lazy_imports=all", "lazy_imports_trace=trace.json"))
        with open(os.path.join(proc.tmpdir, "trace.json"), encoding="utf-8") as f:
            events = json.load(f)["traceEvents"]
        reasons = {event["args"]["target"]: event["args"]["reason"] for event in events
                   if event.get("cat") == "policy" and event["args"]["importer"] == "__main__"}
        never = "eager: the import is inside a {}, which is never lazy".format
        self.assertEqual(reasons, {
            "contextlib": "defer: mode all",
            "m_try": never("try/except/finally block"),
            "m_with": never("with block"),
            "m_except": never("with block"),
            "m_loop": never("loop"),
            "m_finally": never("try/except/finally block"),
            "m_plain": "defer: mode all",
        })

    def test_statements_after_256_names_are_read_through_extended_arg(self):
        # Past 256 names, IMPORT_NAME, IMPORT_FROM and STORE_NAME carry their
        # argument in EXTENDED_ARG prefixes.
        main = "".join(f"n{i} = {i}\n" for i in range(300)) + textwrap.dedent("""
            import json, sys, _lazy_imports
            import p.sub as sub
            from p.sub import VALUE
            import m_plain
            lazy = [_lazy_imports.is_lazy(globals()[n]) for n in ("sub", "VALUE", "m_plain")]
            loaded = [n in sys.modules for n in ("p.sub", "m_plain")]
            print(json.dumps([lazy, loaded, sub.VALUE, VALUE, m_plain.LOADED]))
            """)
        ops = [i.opname for i in dis.get_instructions(compile(main, "main.py", "exec"))]
        prefixed = [ops[k - 1] == "EXTENDED_ARG" for k, op in enumerate(ops)
                    if op == "IMPORT_NAME"]
        self.assertEqual(prefixed, [True] * 6)
        files = dict(MODULES, **{"p/__init__.py": "", "p/sub.py": "VALUE = 7\n"})
        out = self.run_json(files, main)
        self.assertEqual(out, [[True, True, True], [False, False], 7, 7, True])

    def test_star_import_copies_pending_placeholders_unresolved(self):
        # A package whose submodule does `from pkg import *` while the
        # package's own `from pkg.sub import Thing` is being resolved (the
        # ctypes._endian pattern): the star import runs eagerly and copies
        # the pending placeholder as it is instead of resolving it again.
        out = self.run_json({
            "pkg/__init__.py": "BASE = 1\nfrom pkg.sub import Thing\n",
            "pkg/sub.py": "from pkg import *\nimport _lazy_imports\n"
                          "COPIED = _lazy_imports.is_lazy(globals()['Thing'])\n"
                          "class Thing:\n    base = BASE\n",
        }, """
            import json, sys
            import pkg
            thing = pkg.Thing
            print(json.dumps([thing.__name__, thing.base, sys.modules['pkg.sub'].COPIED]))
            """)
        self.assertEqual(out, ["Thing", 1, True])

    def test_future_import_still_works(self):
        proc = self.run_python({}, """
            from __future__ import annotations
            def f(x: undefined_name) -> None: pass
            print(f.__annotations__['x'])
            """)
        self.assertEqual(proc.stdout.strip(), "undefined_name")

    def test_overridden_dunder_import_sees_eager_imports(self):
        out = self.run_json({"m_seen.py": "X = 1\n"}, """
            import builtins, json, sys
            seen = []
            original = builtins.__import__
            def spy(name, *args, **kwargs):
                seen.append(name)
                return original(name, *args, **kwargs)
            builtins.__import__ = spy
            import m_seen
            builtins.__import__ = original
            print(json.dumps(['m_seen' in seen, 'm_seen' in sys.modules]))
            """)
        self.assertEqual(out, [True, True])


if __name__ == "__main__":
    unittest.main()
