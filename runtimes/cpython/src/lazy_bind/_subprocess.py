"""Lazy imports in child processes, the way coverage.py follows a program
into its children: an environment variable plus a start-up hook.

``lazy_bind.pth``, installed in site-packages with the package, runs at
every start-up of that interpreter (not under ``-S``). Its one line reads
``LAZY_BIND_SUBPROCESS`` and, only when it is set to something other than
``""`` or ``"0"``, imports this module and calls :func:`start`; otherwise
it imports nothing (lazy_bind and its C extension stay unloaded). A child
started with ``-E`` or ``-I`` (``sys.flags.ignore_environment``) stays
eager, as it ignores ``PYTHON_LAZY_IMPORTS`` under the fork.

``LAZY_BIND_SUBPROCESS``
    ``"1"``: enable lazy_bind with the default policy (as ``enable()``,
    so ``LAZY_BIND_POLICY`` applies); other text: the policy text in force,
    as :func:`export` writes it; ``"0"``: off, and :func:`export` leaves it
    so (the off switch for a whole process tree).
``LAZY_BIND_SUBPROCESS_TRACE``
    an absolute trace path: each child records a trace and writes it at
    exit to ``<stem>.<pid><suffix>`` (never the parent's file).
"""

import os
import sys

VARIABLE = "LAZY_BIND_SUBPROCESS"
TRACE_VARIABLE = "LAZY_BIND_SUBPROCESS_TRACE"
OFF = "0"
DEFAULT_POLICY = "1"
_started = False


def export(policy_text, trace=None):
    """Makes the children started from now on enable lazy_bind with
    ``policy_text`` (and, given ``trace``, write their traces next to it),
    unless ``LAZY_BIND_SUBPROCESS`` is ``"0"``. Returns whether it did."""
    if os.environ.get(VARIABLE) == OFF:
        return False
    os.environ[VARIABLE] = policy_text
    if trace is not None:
        os.environ[TRACE_VARIABLE] = os.path.abspath(trace)
    return True


def _in_main_interpreter():
    """Whether this is the process's main interpreter. The adaptor's engine
    and its per-code-object cache are process-wide, so laziness is enabled
    in the main interpreter only; a subinterpreter's own start-up (which
    also runs this ``.pth``) stays eager."""
    try:
        import _xxsubinterpreters as interpreters
    except ImportError:
        return True
    return interpreters.get_current() == interpreters.get_main()


def start():
    """Enables lazy_bind as ``LAZY_BIND_SUBPROCESS`` says (nothing when it
    is unset, empty or ``"0"``, under ``-E``/``-I``, or in a subinterpreter),
    once per process: CPython 3.11's ``site`` runs a virtual environment's
    ``.pth`` files twice. A policy the engine refuses is reported on stderr
    and leaves imports eager; it never stops the program."""
    global _started
    setting = os.environ.get(VARIABLE, OFF)
    if (_started or setting in ("", OFF) or sys.flags.ignore_environment
            or not _in_main_interpreter()):
        return
    _started = True
    import lazy_bind
    from lazy_bind import _report

    default = setting == DEFAULT_POLICY
    try:
        lazy_bind.enable(policy=None if default else setting, defaults=default)
    except (lazy_bind.PolicyError, OSError) as error:
        os.write(2, f"lazy_bind: {VARIABLE} ignored: {error}\n".encode())
        return
    trace = os.environ.get(TRACE_VARIABLE)
    if trace:
        lazy_bind.trace()
        _report.write_trace_at_exit(_report.process_trace_path(trace))
