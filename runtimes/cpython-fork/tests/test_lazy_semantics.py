"""Placeholders, resolution and write-back, from-imports, dotted and relative
imports (issue 10, Semantics, bullets 1 and 2)."""

import unittest

from lazy_support import LazyTestCase

# Each module appends its name to events.log when its body runs.
EVENTS = {"events.py": "log = []\n"}


def module(name, body=""):
    return f"import events\nevents.log.append({name!r})\n{body}"


class Placeholders(LazyTestCase):
    def test_body_runs_on_first_use_only(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a", "VALUE = 42\n")}),
            """
            import json, sys, events
            import a
            before = list(events.log)
            value = a.VALUE
            print(json.dumps([before, list(events.log), value, 'a' in sys.modules]))
            """)
        self.assertEqual(out, [[], ["a"], 42, True])

    def test_globals_dict_and_dir_do_not_resolve(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a"), "holder.py": "import a\n"}),
            """
            import json, events, _lazy_imports
            import a
            import holder
            raw = [globals()['a']]   # a global holding it would resolve on load
            seen = [type(raw[0]).__name__, repr(raw[0]), _lazy_imports.is_lazy(raw[0]),
                    'a' in dir(), _lazy_imports.is_lazy(holder.__dict__['a']),
                    'a' in dir(holder), _lazy_imports.is_lazy(vars(holder)['a'])]
            print(json.dumps([seen, events.log]))
            """)
        self.assertEqual(out, [["lazy_import", "<lazy_import 'a'>", True, True, True, True,
                                True], []])

    def test_load_global_writes_back(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a", "X = 1\n")}),
            """
            import json, _lazy_imports
            import a
            def use():
                return a.X
            first = use()
            print(json.dumps([first, _lazy_imports.is_lazy(globals()['a']),
                              globals()['a'].__name__]))
            """)
        self.assertEqual(out, [1, False, "a"])

    def test_load_name_in_class_body_and_exec(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a", "X = 7\n")}),
            """
            import json, _lazy_imports
            import a
            class C:
                y = a.X
            ns = {'__name__': 'ns'}
            exec("import a\\nz = a.X", ns)
            print(json.dumps([C.y, ns['z'], _lazy_imports.is_lazy(globals()['a']),
                              _lazy_imports.is_lazy(ns['a'])]))
            """)
        self.assertEqual(out, [7, 7, False, False])

    def test_module_attribute_access_resolves_and_writes_back(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a", "X = 3\n"), "holder.py": "import a\n"}),
            """
            import json, events, _lazy_imports
            import holder
            lazy_before = _lazy_imports.is_lazy(holder.__dict__['a'])
            value = holder.a.X
            via_getattr = getattr(holder, 'a').X
            print(json.dumps([lazy_before, value, via_getattr,
                              _lazy_imports.is_lazy(holder.__dict__['a']), events.log]))
            """)
        self.assertEqual(out, [True, 3, 3, False, ["a"]])

    def test_explicit_resolve_does_not_write_back(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a")}),
            """
            import json, _lazy_imports
            import a
            raw = [globals()['a']]
            value = raw[0].resolve()
            same = _lazy_imports.resolve(raw[0]) is value
            plain = _lazy_imports.resolve(5)
            print(json.dumps([value.__name__, same, plain,
                              _lazy_imports.is_lazy(globals()['a'])]))
            """)
        self.assertEqual(out, ["a", True, 5, True])

    def test_rebinding_before_first_use_is_kept(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a")}),
            """
            import json, events
            import a
            raw = [globals()['a']]
            a = "user value"
            raw[0].resolve()
            print(json.dumps([a, events.log]))
            """)
        self.assertEqual(out, ["user value", ["a"]])

    def test_write_back_only_into_the_slot_that_holds_the_placeholder(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a")}),
            """
            import json, _lazy_imports
            import a
            globals()['copy'] = globals()['a']
            x = copy          # resolves through the copy's slot
            print(json.dumps([x.__name__, _lazy_imports.is_lazy(globals()['copy']),
                              _lazy_imports.is_lazy(globals()['a']), a is x]))
            """)
        self.assertEqual(out, ["a", False, True, True])

    def test_placeholder_in_builtins_resolves(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a", "X = 9\n"), "holder.py": "import a\n"}),
            """
            import builtins, json, _lazy_imports, holder
            builtins.shared = holder.__dict__['a']
            value = shared.X
            print(json.dumps([value, _lazy_imports.is_lazy(builtins.__dict__['shared'])]))
            """)
        self.assertEqual(out, [9, False])


class FromImports(LazyTestCase):
    def test_each_name_resolved_on_its_own_use_body_once(self):
        out = self.run_json(
            dict(EVENTS, **{"a.py": module("a", "x = 1\ny = 2\n")}),
            """
            import json, events, _lazy_imports
            from a import x, y as why
            lazy = [_lazy_imports.is_lazy(globals()[n]) for n in ('x', 'why')]
            reprs = [repr(globals()['x']), repr(globals()['why'])]
            before = list(events.log)
            first = x
            after_x = _lazy_imports.is_lazy(globals()['why'])
            second = why
            print(json.dumps([lazy, reprs, before, first, after_x, second, events.log]))
            """)
        self.assertEqual(out, [[True, True], ["<lazy_import 'a.x'>", "<lazy_import 'a.y'>"],
                               [], 1, True, 2, ["a"]])

    def test_from_import_of_a_submodule(self):
        out = self.run_json(
            dict(EVENTS, **{"pkg/__init__.py": module("pkg"),
                            "pkg/sub.py": module("pkg.sub", "V = 'sub'\n")}),
            """
            import json, events
            from pkg import sub
            print(json.dumps([list(events.log), sub.V, events.log]))
            """)
        self.assertEqual(out, [[], "sub", ["pkg", "pkg.sub"]])

    def test_missing_name_raises_import_error_at_use(self):
        proc = self.run_python(
            dict(EVENTS, **{"a.py": module("a")}),
            """
            from a import missing
            print("declared")
            try:
                missing
            except ImportError as e:
                print(type(e).__name__, "cannot import name 'missing'" in str(e))
            """)
        self.assertEqual(proc.stdout.split(), ["declared", "ImportError", "True"])

    def test_relative_imports(self):
        out = self.run_json(
            dict(EVENTS, **{
                "pkg/__init__.py": module("pkg"),
                "pkg/a.py": module("pkg.a", "from . import b\nfrom .b import VALUE\n"),
                "pkg/b.py": module("pkg.b", "VALUE = 'b'\n"),
                "pkg/sub/__init__.py": module("pkg.sub", "from ..b import VALUE as UP\n"),
            }),
            """
            import json, events, _lazy_imports
            import pkg.a
            import pkg.sub
            a = pkg.a
            lazy = [_lazy_imports.is_lazy(vars(a)[n]) for n in ('b', 'VALUE')]
            got = [a.VALUE, a.b.__name__, pkg.sub.UP]
            print(json.dumps([lazy, got, events.log]))
            """)
        self.assertEqual(out[0], [True, True])
        self.assertEqual(out[1], ["b", "pkg.b", "b"])
        self.assertEqual(sorted(out[2]), ["pkg", "pkg.a", "pkg.b", "pkg.sub"])


class DottedImports(LazyTestCase):
    FILES = dict(EVENTS, **{
        "a/__init__.py": module("a"),
        "a/b/__init__.py": module("a.b"),
        "a/b/c.py": module("a.b.c", "C = 'c'\n"),
        "a/d.py": module("a.d", "D = 'd'\n"),
    })

    def test_import_dotted_binds_the_top_package(self):
        out = self.run_json(self.FILES, """
            import json, events, _lazy_imports
            import a.b.c
            raw = [globals()['a']]
            value = a.b.c.C
            print(json.dumps([repr(raw[0]), value, a.__name__, events.log]))
            """)
        self.assertEqual(out, ["<lazy_import 'a.b.c'>", "c", "a", ["a", "a.b", "a.b.c"]])

    def test_import_as_binds_the_submodule(self):
        out = self.run_json(self.FILES, """
            import json, events, _lazy_imports
            import a.b.c as m
            import a.d as d
            lazy = [_lazy_imports.is_lazy(globals()[n]) for n in ('m', 'd')]
            names = [m.__name__, m.C, d.D, 'a' in globals()]
            print(json.dumps([lazy, names, events.log]))
            """)
        self.assertEqual(out, [[True, True], ["a.b.c", "c", "d", False],
                               ["a", "a.b", "a.b.c", "a.d"]])

    def test_import_as_imports_the_submodule_over_an_attribute_of_its_name(self):
        # The package has an attribute `b` before its submodule `b` is
        # imported: `import pkgz.b as m` imports the submodule and binds it,
        # as eager CPython does (which also rebinds pkgz.b to it).
        files = {"pkgz/__init__.py": "b = 'attribute'\n",
                 "pkgz/b.py": "X = 'submodule'\n"}
        script = """
            import json, sys
            import pkgz
            pkgz.b
            import pkgz.b as m
            print(json.dumps([m.X, sys.modules["pkgz"].b is m]))
            """
        eager = self.run_json(files, script, xoptions=("lazy_imports=none",))
        self.assertEqual(eager, ["submodule", True])
        self.assertEqual(self.run_json(files, script), eager)

    def test_a_package_body_sees_its_submodules_bound_as_eagerly(self):
        # Eagerly, `from .opt import Opt` in a package binds the submodule
        # `opt` in the package's namespace first: torch.optim deletes it
        # right after (`del opt`), tenacity defines a function `retry` over
        # its submodule `retry`, and other code uses the submodule by that
        # name. A deferred statement binds the same names, and what the
        # body did with them later stays when the submodules are loaded.
        files = {
            "pkgs/__init__.py": (
                "from .opt import Opt\n"
                "del opt\n"
                "from .retry import retry_base\n"
                "def retry():\n"
                "    return 'function'\n"
                "from .tools import first\n"
                "def second():\n"
                "    return tools.SECOND\n"),
            "pkgs/opt.py": "class Opt:\n    pass\n",
            "pkgs/retry.py": "retry_base = 'base'\n",
            "pkgs/tools.py": "first = 1\nSECOND = 2\n",
        }
        script = """
            import json
            import pkgs
            names = sorted(n for n in vars(pkgs) if not n.startswith('__'))
            values = [pkgs.Opt.__name__, pkgs.retry_base, pkgs.retry(), pkgs.second(),
                      pkgs.first, hasattr(pkgs, 'opt')]
            print(json.dumps([names, values]))
            """
        eager = self.run_json(files, script, xoptions=("lazy_imports=none",))
        self.assertEqual(eager, [
            ["Opt", "first", "retry", "retry_base", "second", "tools"],
            ["Opt", "base", "function", 2, 1, False]])
        self.assertEqual(self.run_json(files, script), eager)

    def test_pending_submodules_merge_into_one_binding(self):
        out = self.run_json(self.FILES, """
            import json, events
            import a.b.c
            import a.d
            values = [a.b.c.C, a.d.D]
            print(json.dumps([values, events.log]))
            """)
        self.assertEqual(out, [["c", "d"], ["a", "a.b", "a.b.c", "a.d"]])

    def test_deferred_submodule_appears_on_its_parent(self):
        # Eager `import urllib.parse` somewhere binds `parse` on `urllib`
        # for every module (email relies on it). A deferred one imports the
        # submodule when its parent's attribute is first missed; an
        # attribute the parent already has is never overwritten.
        files = dict(self.FILES, **{
            "user.py": "import a.b.c\nimport a.d\n",
            "p/__init__.py": "sub = 'own attribute'\n",
            "p/sub.py": "V = 1\n",
            "user2.py": "import p.sub\n",
        })
        out = self.run_json(files, """
            import json, events, user, user2
            user.__name__, user2.__name__      # run their (deferred) imports
            import a, p
            before = list(events.log)
            values = [a.d.D, a.b.c.C, p.sub]
            print(json.dumps([before, values, events.log]))
            """)
        self.assertEqual(out, [[], ["d", "c", "own attribute"],
                               ["a", "a.d", "a.b", "a.b.c"]])

    def test_submodule_import_keeps_a_pending_binding_of_the_same_name(self):
        # `from .tool import tool` in a package: importing the submodule
        # (here by another route, first) must not replace the pending
        # binding `tool` with the submodule, as eagerly the statement's
        # value came last.
        out = self.run_json({
            "pkg/__init__.py": "from .tool import tool\n",
            "pkg/tool.py": "def tool():\n    return 'function'\n",
        }, """
            import importlib, json
            import pkg
            submodule = importlib.import_module('pkg.tool')
            print(json.dumps([submodule.__name__, pkg.tool(), callable(pkg.tool)]))
            """)
        self.assertEqual(out, ["pkg.tool", "function", True])

    def test_pending_submodule_never_overwrites_an_existing_attribute(self):
        out = self.run_json(self.FILES, """
            import json, sys
            import a.d as first
            first.D                  # a and a.d are loaded
            sys.modules['a'].d = "user attribute"
            import a.d
            print(json.dumps([a.d, a.__name__]))
            """)
        self.assertEqual(out, ["user attribute", "a"])

    def test_a_missing_pending_submodule_is_a_missing_attribute(self):
        # `import pkgx.absent` is deferred; looking `absent` up on the loaded
        # package tries the pending import, which finds no such module: the
        # attribute is missing (this crashed, a NULL decref), and a later
        # lookup asks again without importing anything.
        out = self.run_json({"pkgx/__init__.py": "V = 1\n"}, """
            import json, sys
            import pkgx
            pkgx.V
            import pkgx.absent
            first = hasattr(sys.modules["pkgx"], "absent")
            again = hasattr(sys.modules["pkgx"], "absent")
            try:
                pkgx.absent
            except ModuleNotFoundError as error:
                raised = [type(error).__name__, error.name]
            print(json.dumps([first, again, raised]))
            """)
        self.assertEqual(out, [False, False, ["ModuleNotFoundError", "pkgx.absent"]])

    def test_a_failing_pending_submodule_raises_and_stays_pending(self):
        # Another failure of the pending import is raised at the lookup,
        # and the next lookup tries again.
        files = {"pkgy/__init__.py": "V = 1\n",
                 "pkgy/bad.py": "import pkgy\npkgy.tries = getattr(pkgy, 'tries', 0) + 1\n"
                                "raise RuntimeError('bad body')\n"}
        out = self.run_json(files, """
            import json, sys
            import pkgy
            pkgy.V
            import pkgy.bad
            seen = []
            for _ in range(2):
                try:
                    getattr(sys.modules["pkgy"], "bad")
                except RuntimeError as error:
                    seen.append(str(error))
            print(json.dumps([seen, sys.modules["pkgy"].tries]))
            """)
        self.assertEqual(out, [["bad body", "bad body"], 2])


if __name__ == "__main__":
    unittest.main()
