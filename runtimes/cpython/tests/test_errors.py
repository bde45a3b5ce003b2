"""Failures at the point of use, retries, cycles."""


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


def test_cycle_raises_import_error_naming_the_chain(run):
    out = run(
        """
        import lazy_bind
        import cyc_a
        try:
            cyc_a.A
        except lazy_bind.LazyImportCycleError as error:
            assert isinstance(error, ImportError)
            print([link[0] for link in error.chain])
            print(error)
        """
    ).stdout
    chain, message = out.split("\n", 1)
    assert chain == "['cyc_a', 'cyc_b', 'cyc_a']", out
    assert "cyc_a" in message and "cyc_b" in message


def test_circular_import_that_works_eagerly_still_works(run, run_plain):
    code = """
        import cyc_ok_a
        print(cyc_ok_a.LATE)
        """
    assert run(code).stdout == run_plain(code).stdout == "early\n"
