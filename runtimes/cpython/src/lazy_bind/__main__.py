"""``python -m lazy_bind [--policy TEXT|@FILE] [--trace FILE.json]
[--report | --report=html FILE] (script.py | -c CODE | -m MODULE | -) [args]``,
and the tools ``python -m lazy_bind (bisect | check | report) ...``.

Runs a program with every eligible import deferred (mode ``all`` unless the
policy says otherwise), like Cinder's ``-L``, and otherwise as ``python``
would run it (``_program``: ``sys.argv``, ``sys.path[0]``, ``__main__``,
tracebacks, exit status). Without ``--policy``, the ``LAZY_BIND_POLICY``
environment variable is used. ``--trace`` writes a Chrome trace-event JSON
file at exit (open it in Perfetto); ``--report`` prints an
``-X importtime``-shaped report of the deferred imports that were resolved,
and those never needed, to stderr at exit; ``--report=html FILE`` writes the
HTML report (``_html``) to FILE at exit instead.

A first argument ``bisect``, ``check`` or ``report`` names a tool
(``_bisect``, ``_check``, ``_report_tool``) that runs a program as a
subprocess, under this interpreter or another runtime; a script with one of
those names runs as ``python -m lazy_bind -- bisect``.

The program's Python children start lazy too, with the same policy
(``_subprocess``; ``LAZY_BIND_SUBPROCESS=0`` turns that off); with
``--trace`` each writes its own ``FILE.<pid>.json``; ``--report`` stays
with this process.

Bad usage (an unknown option, a missing argument, a bad policy) exits with
status 2, as ``python`` does for its own options. The arguments are parsed
by hand: argparse would import ``re`` and ``gettext`` before the program
starts, which every run would pay for.
"""

import os
import sys

import lazy_bind
from lazy_bind import _policy, _program, _report, _subprocess

USAGE = """usage: python -m lazy_bind [options] (script.py | -c CODE | -m MODULE | -) [args]

Run a Python program with lazy imports (mode all), as python would run it.
Its Python children start lazy too (LAZY_BIND_SUBPROCESS=0: they do not).

options:
  --policy TEXT|@FILE  policy text or @policy-file (default: $LAZY_BIND_POLICY)
  --trace FILE.json    write a Chrome trace at exit (each child: FILE.<pid>.json)
  --report             print a report to stderr at exit
  --report=html FILE   write an HTML report to FILE at exit
  --version            print the package's and the engine's versions and exit
  -h, --help           show this help and exit

tools (python -m lazy_bind TOOL --help for each):
  bisect   find the fewest opt-out rules that make a program work lazily
  check    fail when start-up resolves or imports more than a budget
  report   run a program (adaptor or fork) and write its HTML report
"""

USAGE_ERROR = 2


class Options:
    """What the command line asked for: ``run`` is the ``_program``
    function that runs the program, ``target`` its arguments before the
    program's own."""

    def __init__(self):
        self.policy = None
        self.trace = None
        self.report = False
        self.html = None
        self.run = None
        self.target = []
        self.args = []


def _fail(message, usage=True):
    """Exits with status 2 after ``message`` (and a pointer to the usage)."""
    sys.stderr.write(f"python -m lazy_bind: error: {message}\n")
    if usage:
        sys.stderr.write(USAGE.partition("\n")[0] + "\n")
        sys.stderr.write("Try 'python -m lazy_bind --help' for more information.\n")
    sys.exit(USAGE_ERROR)


def _program_option(options, argv, i, run):
    """Takes ``-c CODE``/``-m MODULE`` (or ``-cCODE``/``-mMODULE``) at
    ``argv[i]``: the program and its arguments."""
    value = argv[i][2:]
    if not value:
        if i + 1 == len(argv):
            _fail(f"argument expected for the {argv[i]} option")
        i += 1
        value = argv[i]
    options.run = run
    options.target = [value]
    options.args = argv[i + 1 :]
    return options


def _program_path(options, argv, i):
    """Takes the script (or ``-``: standard input) at ``argv[i]``."""
    if argv[i] == "-":
        options.run = _program.run_stdin
    else:
        options.run = _program.run_path
        options.target = [argv[i]]
    options.args = argv[i + 1 :]
    return options


def _versions():
    """The ``--version`` text: the installed package's version, the
    engine's (the static library linked into ``lazy_bind._native``) and the
    interpreter it runs on, with whether its GIL is disabled."""
    import sysconfig
    from importlib import metadata

    try:
        package = metadata.version("lazy-bind")
    except metadata.PackageNotFoundError:
        package = "not installed"
    interpreter = f"{sys.implementation.name} {sys.version.split()[0]}"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        gil = "enabled" if sys._is_gil_enabled() else "disabled"
        interpreter += f" (free-threaded build, GIL {gil})"
    return (
        f"lazy-bind {package}\n"
        f"lazy_bind engine {lazy_bind._native.library_version}\n"
        f"{interpreter}\n"
    )


def parse(argv):
    """Options from ``argv``: ours come first; the program starts at the
    first argument that is not an option of ours (``--`` ends them), or at
    ``-c``/``-m``, whose value is the program and not an option."""
    options = Options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, has_value, value = arg.partition("=")
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            sys.exit(0)
        elif arg == "--version":
            sys.stdout.write(_versions())
            sys.exit(0)
        elif arg in ("--report", "--report=text"):
            options.report = True
        elif arg == "--report=html":
            if i + 1 == len(argv):
                _fail("--report=html needs a file name")
            i += 1
            options.html = argv[i]
        elif name in ("--policy", "--trace"):
            if not has_value:
                if i + 1 == len(argv):
                    _fail(f"{name} needs a value")
                i += 1
                value = argv[i]
            setattr(options, name[2:], value)
        elif arg.startswith("-c"):
            return _program_option(options, argv, i, _program.run_command)
        elif arg.startswith("-m"):
            return _program_option(options, argv, i, _program.run_module)
        elif arg == "--":
            if i + 1 == len(argv):
                _fail("give a script after --")
            return _program_path(options, argv, i + 1)
        elif arg.startswith("-") and arg != "-":
            _fail(f"unknown option {arg}")
        else:
            return _program_path(options, argv, i)
        i += 1
    _fail("give a script, -c CODE, -m MODULE or - (standard input)")


def _enable(options):
    """Enables lazy imports, the report and the trace as asked, and makes
    the program's Python children lazy with the same policy."""
    try:
        lazy_bind.enable(policy=options.policy)
    except (lazy_bind.PolicyError, OSError) as error:
        _fail(f"bad policy: {error}", usage=False)
    trace = os.path.abspath(options.trace) if options.trace else None
    if trace or options.report or options.html:
        lazy_bind.trace()
    if trace:
        _report.write_trace_at_exit(trace)
    if options.report:
        _report.print_report_at_exit(sys.stderr)
    if options.html:
        _report.write_html_at_exit(os.path.abspath(options.html))
    _subprocess.export(_policy.in_force(), trace)


def _tool(name):
    """The ``main`` of the tool subcommand ``name``, or None."""
    if name == "bisect":
        from lazy_bind import _bisect as tool
    elif name == "check":
        from lazy_bind import _check as tool
    elif name == "report":
        from lazy_bind import _report_tool as tool
    else:
        return None
    return tool.main


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    tool = _tool(argv[0]) if argv else None
    if tool is not None:
        tool(argv[1:])
        return
    options = parse(argv)
    _enable(options)
    options.run(*options.target, options.args)


if __name__ == "__main__":
    main()
