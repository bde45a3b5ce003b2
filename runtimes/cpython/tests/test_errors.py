"""Failures at the point of use, retries, cycles, and tracebacks and warnings
as without lazy_bind."""


def test_failure_raises_original_type_with_declaration_line(run):
    out = run(
        """
        import no_such_module_anywhere
        try:
            no_such_module_anywhere.attr
        except ModuleNotFoundError as error:
            print(error.name)
            print("\\n".join(error.__notes__))
        """
    ).stdout
    assert out.startswith("no_such_module_anywhere\n")
    assert "main.py:2" in out, out


def test_next_use_retries_after_failure(run):
    run(
        """
        import builtins
        import broken_mod
        try:
            broken_mod.VALUE
        except ValueError as error:
            assert "broken on purpose" in str(error)
            assert any("main.py:3" in note for note in error.__notes__), error.__notes__
        else:
            raise AssertionError("broken_mod imported")
        builtins.LAZY_BIND_TEST_FIXED = True
        assert broken_mod.VALUE == "fixed"
        """
    )


def test_uncaught_failure_shows_both_sites(run):
    result = run(
        """
        import broken_mod

        broken_mod.VALUE
        """,
        check=False,
    )
    assert result.returncode == 1
    assert "ValueError: broken_mod is broken on purpose" in result.stderr
    assert "main.py:2" in result.stderr and "main.py:4" in result.stderr, result.stderr


def test_traceback_has_a_frame_at_the_import_line(run, run_plain):
    # The access, then the declaring `import` statement (as CPython 3.15
    # shows for its lazy imports), then the failed module's own frames: the
    # eager traceback with the access above it.
    code = """
        import broken_mod

        def use():
            return broken_mod.VALUE

        use()
        """

    def frames(result):
        assert result.returncode == 1, result.stderr
        lines = result.stderr.splitlines()
        return [
            (line.strip().rsplit("/", 1)[-1], lines[i + 1].strip())
            for i, line in enumerate(lines)
            if line.lstrip().startswith("File ")
        ]

    lazy = frames(run(code, check=False))
    eager = frames(run_plain(code, check=False))
    assert lazy[:2] == [
        ('main.py", line 7, in <module>', "use()"),
        ('main.py", line 5, in use', "return broken_mod.VALUE"),
    ], lazy
    assert eager[0] == ('main.py", line 2, in <module>', "import broken_mod"), eager
    assert lazy[2:] == eager, (lazy, eager)


def test_cycle_raises_import_error_naming_the_chain(run):
    # lc_ns binds lc_a lazily; resolving it runs lc_b, which reads lc_a
    # through that same binding.
    out = run(
        """
        import lazy_bind
        import lc_ns
        try:
            lc_ns.lc_a.A
        except lazy_bind.LazyImportCycleError as error:
            assert isinstance(error, ImportError)
            print([link[0] for link in error.chain])
            print(error)
        """
    ).stdout
    chain, message = out.split("\n", 1)
    assert chain == "['lc_a', 'lc_b', 'lc_a']", out
    assert "lc_a" in message and "lc_b" in message


def test_circular_import_that_fails_eagerly_fails_the_same_way(run, run_plain):
    # cyc_b reads cyc_a.A while cyc_a's body is still running: eagerly an
    # AttributeError on the partially initialised module, and lazily too
    # (cyc_b's binding of cyc_a is its own, resolved to the partial module).
    lazy = run(
        """
        import cyc_a
        try:
            cyc_a.A
        except AttributeError as error:
            print(error)
        """
    ).stdout
    plain = run_plain(
        """
        try:
            import cyc_a
        except AttributeError as error:
            print(error)
        """
    ).stdout
    assert lazy == plain and "partially initialized module 'cyc_a'" in plain, (lazy, plain)


def test_circular_import_that_works_eagerly_still_works(run, run_plain):
    code = """
        import cyc_ok_a
        print(cyc_ok_a.LATE)
        """
    assert run(code).stdout == run_plain(code).stdout == "early\n"


def test_eager_failure_traceback_is_as_without_lazy_bind(run, run_plain):
    # A failing import that is not deferred (inside a function): the
    # traceback from main.py on is the same as without lazy_bind.
    code = """
        def load():
            import broken_mod
        load()
        """

    def from_main(result):
        lines = result.stderr.splitlines()
        start = next(i for i, line in enumerate(lines) if "main.py" in line)
        return lines[start:]

    lazy = run(code, check=False)
    plain = run_plain(code, check=False)
    assert "lazy_bind" not in "\n".join(from_main(lazy)), lazy.stderr
    assert from_main(lazy) == from_main(plain), (lazy.stderr, plain.stderr)


def test_warning_at_import_names_the_importer(run, run_plain):
    # warnings.warn(..., stacklevel=2) in a module body names the line that
    # imported it, eagerly; lazily, the line that used it first.
    code = """
        import warnings
        warnings.simplefilter("always")
        def load():
            import warns_mod
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load()
        print(caught[0].filename.rsplit("/", 1)[-1], caught[0].lineno)
        """
    assert run(code).stdout == run_plain(code).stdout == "main.py 5\n"
    deferred = run(
        """
        import warnings
        import warns_mod
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warns_mod.VALUE
        print(caught[0].filename.rsplit("/", 1)[-1], caught[0].lineno)
        """
    ).stdout
    assert deferred == "main.py 6\n", deferred


def test_relative_dunder_import_without_globals_raises_as_cpython(run, run_plain):
    code = """
        try:
            __import__("sys", level=1)
        except BaseException as error:
            print(type(error).__name__, error)
        """
    lazy, plain = run(code).stdout, run_plain(code).stdout
    assert lazy == plain and plain.startswith("KeyError"), (lazy, plain)
