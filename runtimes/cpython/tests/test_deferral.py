"""What is deferred, and what a placeholder turns into on first use."""


def test_module_is_absent_until_first_use(run):
    out = run(
        """
        import sys
        import plain_mod
        print("before", "plain_mod" in sys.modules, type(plain_mod).__name__)
        print("value", plain_mod.VALUE)
        print("after", "plain_mod" in sys.modules)
        """
    ).stdout.split("\n")
    assert out[:3] == ["before False LazyModule", "value 42", "after True"]


def test_placeholder_is_a_module(run):
    run(
        """
        import types
        import plain_mod
        assert isinstance(plain_mod, types.ModuleType)
        assert "not imported yet" in repr(plain_mod)
        """
    )


def test_dotted_import_binds_the_top_package(run):
    out = run(
        """
        import sys
        import apkg.sub.leaf
        print(sorted(m for m in sys.modules if m.startswith("apkg")))
        print(apkg.sub.leaf.VALUE)
        print(sorted(m for m in sys.modules if m.startswith("apkg")))
        """
    ).stdout.split("\n")
    assert out[:3] == ["[]", "leaf", "['apkg', 'apkg.sub', 'apkg.sub.leaf']"]


def test_two_submodules_share_one_placeholder(run):
    run(
        """
        import sys
        import apkg.sub
        first = apkg
        import apkg.sub.leaf
        assert apkg is first and "apkg" not in sys.modules
        assert apkg.sub.leaf.VALUE == "leaf"
        assert "apkg.sub.leaf" in sys.modules
        """
    )


def test_aliased_submodule_is_deferred(run):
    out = run(
        """
        import sys
        import apkg.sub.leaf as leaf
        print("apkg" in sys.modules, "apkg" in globals(), type(leaf).__name__)
        print(leaf.VALUE, leaf is sys.modules["apkg.sub.leaf"])
        """
    ).stdout.split("\n")
    assert out[:2] == ["False False LazyModule", "leaf True"]


def test_partially_initialised_parent_package(run):
    run(
        """
        import pkg
        assert pkg.X == 6
        import email.mime.text, xml.dom.minidom, importlib.util
        assert email.mime.text.MIMEText("x")["Content-Type"].startswith("text/plain")
        assert xml.dom.minidom.parseString("<a/>").documentElement.tagName == "a"
        assert importlib.util.find_spec("json") is not None
        """
    )


def test_library_module_level_imports_stay_lazy(run):
    run(
        """
        import sys
        from libmod import value
        assert "libmod" in sys.modules and "plain_mod" not in sys.modules
        assert value() == 42
        """
    )


def test_finding_the_module_is_deferred_too(run):
    # A module that does not exist: no error until it is used.
    out = run(
        """
        import no_such_module_anywhere
        print("deferred")
        """
    ).stdout
    assert out == "deferred\n"


def test_resolution_rebinds_the_global_name(run):
    run(
        """
        import sys
        import plain_mod
        plain_mod.VALUE
        assert globals()["plain_mod"] is sys.modules["plain_mod"]
        """
    )


def test_user_rebinding_is_never_overwritten(run):
    run(
        """
        import plain_mod
        copy = plain_mod
        plain_mod = "mine"
        assert copy.VALUE == 42
        assert plain_mod == "mine"
        """
    )


def test_copied_references_forward_to_the_module(run):
    # A free-threaded build keeps the copy a placeholder that forwards every
    # access (no GIL makes swapping its namespace safe); elsewhere it becomes
    # a plain module sharing the real one's namespace.
    run(
        """
        import sys, sysconfig, types
        import plain_mod
        copy = plain_mod
        assert copy.VALUE == 42
        real = sys.modules["plain_mod"]
        if sysconfig.get_config_var("Py_GIL_DISABLED"):
            assert type(copy) is not types.ModuleType and isinstance(copy, types.ModuleType)
        else:
            assert type(copy) is types.ModuleType
        assert copy.__dict__ is real.__dict__ and repr(copy) == repr(real)
        copy.NEW = 1
        assert real.NEW == 1
        real.OTHER = 2
        assert copy.OTHER == 2
        assert sorted(dir(copy)) == sorted(dir(real))
        """
    )


def test_module_body_runs_once_for_many_importers(run):
    run(
        """
        import plain_mod
        first = plain_mod
        exec("import plain_mod", ns := {"__name__": "other"})
        assert ns["plain_mod"].VALUE == 42 and first.VALUE == 42
        import record
        assert record.hits["plain_mod"] == 1, record.hits
        """
    )


def test_library_api_enable_and_disable_without_resolving(run_plain):
    run_plain(
        """
        import sys
        import lazy_bind
        import plain_mod as early
        lazy_bind.enable()
        assert lazy_bind.enabled()
        import slow_mod
        assert "slow_mod" not in sys.modules
        assert lazy_bind.disable(resolve_pending=False) == []
        assert not lazy_bind.enabled() and "slow_mod" not in sys.modules
        import apkg
        assert "apkg" in sys.modules
        assert slow_mod.VALUE == 1
        """
    )


def test_lazy_modules_marks_imports_lazy_in_mode_normal(run, tmp_path):
    # PEP 810: a module's __lazy_modules__ names the imports that CPython
    # 3.15 defers; in mode normal the adaptor defers exactly those, on 3.11.
    (tmp_path / "lib_mod.py").write_text(
        "__lazy_modules__ = ['plain_mod', 'apkg']\n"
        "import plain_mod\nimport slow_mod\nimport apkg.sub\n"
    )
    script = """
        import sys
        import lib_mod
        print(sorted(m for m in ("plain_mod", "slow_mod", "apkg", "apkg.sub") if m in sys.modules))
        import lazy_bind
        print(lazy_bind.explain("lib_mod", "plain_mod"))
        print(lazy_bind.explain("lib_mod", "slow_mod"))
        """
    normal = run(script, args=["--policy", "mode normal"]).stdout.splitlines()
    assert normal[0] == "['slow_mod']"
    assert normal[1] == "defer: mode normal and the import is marked lazy"
    assert normal[2].startswith("eager")
    lazy_all = run(script).stdout.splitlines()
    assert lazy_all[0] == "[]"


def test_lazy_modules_lists_what_is_deferred_and_not_loaded(run):
    # CPython 3.15's sys.lazy_modules, as lazy_bind.lazy_modules().
    run(
        """
        import lazy_bind
        import plain_mod
        import apkg.sub
        import os
        assert {"plain_mod", "apkg", "apkg.sub"} <= lazy_bind.lazy_modules()
        assert "os" not in lazy_bind.lazy_modules()  # loaded already: not deferred
        plain_mod.VALUE
        assert "plain_mod" not in lazy_bind.lazy_modules()
        assert lazy_bind.lazy_modules() is not lazy_bind.lazy_modules()
        """
    )
