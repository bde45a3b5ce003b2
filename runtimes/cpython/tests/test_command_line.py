"""`python -m lazy_bind` runs a program as `python` would: each case runs
the same command line under plain `python` and after `-m lazy_bind`, and
compares what the program saw, its output, traceback and exit status."""

import os
import py_compile
import re
import textwrap
import zipfile

import pytest

PROBE = textwrap.dedent(
    """
    import builtins, sys
    names = globals()
    loader = names.get("__loader__")
    print(sys.argv, repr(sys.path[0]), __name__, sys.modules["__main__"].__dict__ is names,
          getattr(__spec__, "name", None), names.get("__file__"), names.get("__cached__"),
          getattr(loader, "__name__", type(loader).__name__), sorted(names),
          __builtins__ is builtins)
    """
)

FAIL = textwrap.dedent(
    """
    def inner():
        raise ValueError("boom")

    def outer():
        inner()

    outer()
    """
)


@pytest.fixture
def programs(tmp_path):
    """Writes the probe and the failing programs into ``tmp_path``: as
    scripts, modules, a package, a directory, a zip file, a ``.pyc`` file
    and a symbolic link."""
    (tmp_path / "probe.py").write_text(PROBE)
    (tmp_path / "fail.py").write_text(FAIL)
    (tmp_path / "syntax.py").write_text("x = 1\n  y = 2\n")
    for directory in ("sub", "probepkg", "probedir"):
        (tmp_path / directory).mkdir()
    (tmp_path / "sub" / "probe.py").write_text(PROBE)
    (tmp_path / "probepkg" / "__init__.py").write_text("")
    (tmp_path / "probepkg" / "__main__.py").write_text(PROBE)
    (tmp_path / "probedir" / "__main__.py").write_text(PROBE)
    os.symlink(tmp_path / "sub" / "probe.py", tmp_path / "link.py")
    py_compile.compile(tmp_path / "probe.py", tmp_path / "probe.pyc", doraise=True)
    with zipfile.ZipFile(tmp_path / "probe.zip", "w") as archive:
        archive.writestr("__main__.py", PROBE)
    return tmp_path


def _same_as_python(python, flags, args, input=None):
    plain = python(*flags, *args, input=input)
    lazy = python(*flags, "-m", "lazy_bind", *args, input=input)
    # Addresses in reprs differ from run to run.
    strip = lambda text: re.sub(r"0x[0-9a-f]+", "0x", text)
    assert (strip(lazy.stdout), lazy.stderr, lazy.returncode) == (
        strip(plain.stdout),
        plain.stderr,
        plain.returncode,
    )
    return lazy


@pytest.mark.parametrize(
    "flags, args",
    [
        pytest.param([], ["-c", PROBE, "a", "-b"], id="-c"),
        pytest.param([], ["-c" + PROBE], id="-cCODE"),
        pytest.param([], ["probe.py", "a", "--policy"], id="script"),
        pytest.param([], ["sub/probe.py"], id="script-in-subdirectory"),
        pytest.param([], ["link.py"], id="symlinked-script"),
        pytest.param([], ["--", "probe.py"], id="--"),
        pytest.param([], ["-m", "probe", "a"], id="-m"),
        pytest.param([], ["-mprobe"], id="-mMODULE"),
        pytest.param([], ["-m", "probepkg", "x"], id="-m-package"),
        pytest.param([], ["probedir", "x"], id="directory"),
        pytest.param([], ["probe.zip", "x"], id="zip-file"),
        pytest.param([], ["probe.pyc"], id="compiled-file"),
        pytest.param(["-P"], ["probe.py"], id="safe-path-script"),
        pytest.param(["-P"], ["-c", PROBE], id="safe-path-c"),
    ],
)
def test_the_program_sees_what_python_gives_it(python, programs, flags, args):
    result = _same_as_python(python, flags, args)
    assert result.returncode == 0, result.stderr


def test_standard_input_runs_as_with_python(python, programs):
    assert _same_as_python(python, [], ["-", "q"], input=PROBE).returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["-c", FAIL], id="-c"),
        pytest.param(["fail.py"], id="script"),
        pytest.param(["-c", "f(\n"], id="syntax-error-c"),
        pytest.param(["syntax.py"], id="syntax-error-script"),
        pytest.param(["-m", "fail"], id="-m"),
        pytest.param(["-c", "import sys; sys.exit('a message')"], id="exit-message"),
        pytest.param(["-c", "raise SystemExit(3)"], id="exit-status"),
        pytest.param(
            ["-c", "import os, signal, time; os.kill(os.getpid(), signal.SIGINT); time.sleep(5)"],
            id="keyboard-interrupt",
        ),
        pytest.param(
            ["-c", "import sys; sys.excepthook = lambda *e: print('hook', e[0]); 1 / 0"],
            id="program-excepthook",
        ),
        pytest.param(["no_such_script.py"], id="missing-script"),
        pytest.param(["-m", "no_such_module"], id="missing-module"),
    ],
)
def test_failures_look_and_exit_as_with_python(python, programs, args):
    result = _same_as_python(python, [], args)
    assert result.returncode != 0
    assert "lazy_bind" not in result.stderr


def test_dash_c_defers_imports(python):
    code = "import sys\nimport plain_mod\nprint('plain_mod' in sys.modules)\nplain_mod.VALUE\n" \
        "print('plain_mod' in sys.modules, sys.modules['lazy_bind'].enabled())"
    result = python("-m", "lazy_bind", "-c", code)
    assert (result.returncode, result.stdout) == (0, "False\nTrue True\n"), result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus", "main.py"], "unknown option --bogus"),
        (["-c"], "argument expected for the -c option"),
        (["--report", "-m"], "argument expected for the -m option"),
        (["--trace"], "--trace needs a value"),
        (["--"], "give a script after --"),
        ([], "give a script, -c CODE, -m MODULE or -"),
        (["--policy", "eager-targt x", "-c", "print('ran')"], "bad policy: policy line 1"),
    ],
)
def test_bad_usage_exits_with_status_2(python, args, message):
    result = python("-m", "lazy_bind", *args)
    assert result.returncode == 2 and result.stdout == "", result
    assert f"python -m lazy_bind: error: {message}" in result.stderr


def test_version_names_the_package_the_engine_and_the_interpreter(python):
    result = python("-m", "lazy_bind", "--version", "-c", "print('not run')")
    assert result.returncode == 0 and result.stderr == "", result
    package, engine, interpreter = result.stdout.splitlines()
    probe = python(
        "-c",
        "import sys, importlib.metadata as m, lazy_bind._native as n; "
        "print(m.version('lazy-bind'), n.library_version, sys.version.split()[0])",
    )
    version, library, python_version = probe.stdout.split()
    assert package == f"lazy-bind {version}"
    assert engine == f"lazy_bind engine {library}"
    assert interpreter.startswith(f"cpython {python_version}")
