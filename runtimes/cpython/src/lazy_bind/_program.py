"""Runs a program as ``python`` itself would, for ``python -m lazy_bind``.

Each ``run_*`` function sets ``sys.argv`` and ``sys.path[0]`` (the latter
left alone under ``-P``/``PYTHONSAFEPATH``, as CPython does) and runs the
program in a fresh ``__main__`` module installed in ``sys.modules``, with
the globals CPython gives it: ``run_command`` as ``python -c``,
``run_stdin`` as ``python -``, ``run_path`` as ``python script.py`` (also a
compiled ``.pyc``, a directory or a zip file with ``__main__.py``), and
``run_module`` as ``python -m`` (through ``runpy._run_module_as_main``,
what CPython's own ``-m`` calls).

An uncaught exception leaves the way it came, so the interpreter prints it
with ``sys.excepthook`` and exits as it would (status 1, or killed by
SIGINT for ``KeyboardInterrupt``); only the frames of ``python -m
lazy_bind`` itself are hidden from the traceback, which then reads like
``python``'s. ``SystemExit`` is not touched.
"""

import builtins
import importlib.machinery
import importlib.util
import io
import marshal
import os
import runpy
import sys
import zipimport


def run_command(code, args):
    """Runs ``code`` as ``python -c code args`` does."""
    sys.argv = ["-c", *args]
    _set_path0("")
    module = _fresh_main()
    _run_as_main(_exec_command, code, module)


def run_stdin(args):
    """Runs the program read from standard input, as ``python - args``."""
    sys.argv = ["-", *args]
    _set_path0("")
    module = _fresh_main()
    module.__file__ = "<stdin>"
    module.__cached__ = None
    _run_as_main(_exec_source, sys.stdin.buffer.read(), "<stdin>", module)


def run_module(name, args):
    """Runs module ``name`` as ``python -m name args``: ``sys.argv[0]`` is
    ``"-m"`` while the module is found, then its file name."""
    sys.argv = ["-m", *args]
    _fresh_main()
    _run_as_main(runpy._run_module_as_main, name)


def run_path(path, args):
    """Runs ``path`` as ``python path args``: a source or ``.pyc`` file, or
    a directory or zip file holding ``__main__.py``.

    An unreadable path exits with status 2 and CPython's message.
    """
    sys.argv = [path, *args]
    full = os.path.abspath(path)
    if os.path.isdir(full) or _is_zip(full):
        _set_path0(full)
        _fresh_main()
        _run_as_main(runpy._run_module_as_main, "__main__", False)
        return
    try:
        with io.open_code(full) as file:
            data = file.read()
    except OSError as error:
        print(f"{sys.executable}: can't open file {full!r}: [Errno {error.errno}] {error.strerror}",
              file=sys.stderr)
        sys.exit(2)
    _set_path0(os.path.dirname(os.path.realpath(full)))
    module = _fresh_main()
    module.__file__ = full
    module.__cached__ = None
    if full.endswith(".pyc") or data.startswith(importlib.util.MAGIC_NUMBER):
        module.__loader__ = importlib.machinery.SourcelessFileLoader("__main__", full)
        _run_as_main(_exec_compiled, data, module)
    else:
        module.__loader__ = importlib.machinery.SourceFileLoader("__main__", full)
        _run_as_main(_exec_source, data, full, module)


def _is_zip(path):
    """Whether ``path`` is a zip archive, asked of ``zipimport`` as
    CPython's own start-up does (``zipfile`` would cost milliseconds)."""
    try:
        zipimport.zipimporter(path)
    except zipimport.ZipImportError:
        return False
    return True


def _exec_source(source, filename, module):
    """Compiles ``source`` as ``filename`` and runs it in ``module``."""
    exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)


def _exec_command(source, module):
    """Compiles ``source`` as ``-c`` code and runs it in ``module``. From
    CPython 3.13 ``python -c`` keeps the source in ``linecache`` for
    tracebacks (``linecache._register_code``, as its ``run_mod`` does)."""
    code = compile(source, "<string>", "exec", dont_inherit=True)
    if sys.version_info >= (3, 13):
        import linecache

        linecache._register_code(code, source, "<string>")
    exec(code, module.__dict__)


def _exec_compiled(data, module):
    """Runs the code of a ``.pyc`` file's contents (after its 16-byte header)."""
    exec(marshal.loads(data[16:]), module.__dict__)


def _set_path0(entry):
    """Puts ``entry`` in place of ``sys.path[0]`` (the current directory,
    for ``-m lazy_bind``), unless ``-P`` kept that out of ``sys.path``."""
    if not sys.flags.safe_path:
        sys.path[0] = entry


def _fresh_main():
    """A new ``__main__`` module, in ``sys.modules``, with the globals the
    interpreter gives its own before running a program."""
    module = type(sys)("__main__")
    module.__annotations__ = {}
    module.__builtins__ = builtins
    module.__loader__ = importlib.machinery.BuiltinImporter
    sys.modules["__main__"] = module
    return module


def _run_as_main(run, *args):
    """Calls ``run(*args)``; an exception other than ``SystemExit`` is
    re-raised after ``sys.excepthook`` is wrapped to hide the frames of
    this module and its callers."""
    try:
        run(*args)
    except SystemExit:
        raise
    except BaseException:
        sys.excepthook = _HideLauncher(sys.excepthook)
        raise


class _HideLauncher:
    """An excepthook that passes on the traceback below this module's
    frames."""

    def __init__(self, hook):
        self.hook = hook

    def __call__(self, kind, value, tb):
        tb = _below_launcher(tb)
        if isinstance(value, BaseException):
            value.__traceback__ = tb
        return self.hook(kind, value, tb)


def _below_launcher(tb):
    """The part of ``tb`` below the last frame of this module (``tb``
    itself if it has none): the program's frames, and for ``-m`` runpy's
    own, as ``python`` shows them."""
    below = tb
    entry = tb
    while entry is not None:
        if entry.tb_frame.f_globals is globals():
            below = entry.tb_next
        entry = entry.tb_next
    return below
