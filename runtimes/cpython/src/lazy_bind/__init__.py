"""Lazy imports for stock CPython, driven by the lazy_bind engine's C ABI.

``enable()`` replaces ``builtins.__import__`` so that eligible module-level
``import`` statements bind a placeholder module and import on first use
(see ``_hook`` for the rules); ``disable()`` turns that off and resolves
what is still pending (the phase switch before the first batch);
``with eager():`` imports eagerly on the current thread;
``explain(importer, target)`` says whether and why an import is deferred.
``python -m lazy_bind script.py`` runs a whole program this way.
"""

import os as _os

from . import _hook, _native, _policy, _subprocess
from ._defaults import DEFAULT_OPT_OUT
from ._native import LazyImportCycleError, LazyImportDeadlockError, LazyImportError, PolicyError

LazyModule = _hook.LazyModule
eager = _hook.eager

__all__ = [
    "DEFAULT_OPT_OUT",
    "LazyImportCycleError",
    "LazyImportDeadlockError",
    "LazyImportError",
    "LazyModule",
    "PolicyError",
    "counters",
    "disable",
    "eager",
    "enable",
    "enabled",
    "explain",
    "lazy_modules",
    "trace",
]


def enable(policy=None, mode="all", defaults=True, filter=None, subprocesses=False):
    """Defers eligible imports from now on.

    ``policy`` is policy text or ``@path`` to a policy file (the format of
    the crate's ``docs/policy-format.md``); without it, the
    ``LAZY_BIND_POLICY`` environment variable is read the same way. A
    ``mode`` statement in the policy wins over ``mode`` (``"none"``,
    ``"normal"`` or ``"all"``). ``defaults`` adds the rules of
    :data:`DEFAULT_OPT_OUT` (a dict of rule to reason; the policy's
    precedence order applies to them as to any rule: opt-outs win).
    ``filter(importer, target, fromlist) -> bool``, if given, is asked
    about every import the rules leave deferred (False: import now); an
    exception in it is reported as unraisable and counts as True.

    With ``subprocesses``, the Python children this process starts from
    now on (``subprocess`` with this interpreter, ``multiprocessing``
    spawn workers) enable lazy_bind at start-up with the same policy,
    without the filter: the policy text goes into the
    ``LAZY_BIND_SUBPROCESS`` environment variable (see
    ``lazy_bind._subprocess``), unless that variable is ``"0"``.

    Raises :class:`PolicyError` (a ``ValueError``) naming the line and
    column of malformed policy text, and ``OSError`` for an unreadable
    policy file.
    """
    if policy is None:
        policy = _os.environ.get("LAZY_BIND_POLICY", "")
    _policy.apply(_policy.read(policy), mode, DEFAULT_OPT_OUT if defaults else {})
    if filter is not None:
        _native.set_filter(filter)
    _hook.install()
    if subprocesses:
        _subprocess.export(_policy.in_force())


def disable(resolve_pending=True):
    """Stops deferring imports.

    With ``resolve_pending``, also imports everything still deferred (the
    phase switch, ``lazy_bind_policy_disable``) and returns the list of
    failure messages: every failure, not only the first; empty when all
    succeeded. Placeholders already handed out stay valid and become plain
    modules on their next use.
    """
    _hook.uninstall()
    if not _policy.is_set():
        return []
    if resolve_pending:
        return _native.policy_disable()
    _native.set_mode(_policy.MODES["none"])
    return []


def enabled():
    """Whether imports are being deferred."""
    return _hook.installed()


def explain(importer, target):
    """Says whether an import of ``target`` at module level of ``importer``
    would be deferred, and which rule or context decided."""
    if not _policy.is_set():
        return "eager: lazy imports are not enabled"
    return _native.explain(importer, target)[1]


def lazy_modules():
    """The names of the modules lazily imported and not loaded yet, as a
    new set: CPython 3.15's ``sys.lazy_modules`` (PEP 810), on 3.11. A
    snapshot, for debugging and introspection; empty before ``enable()``."""
    return _native.lazy_modules()


def counters():
    """The engine's counters: deferred, resolved, failed, pending."""
    return _native.counters()


def trace(capacity=1 << 20):
    """Starts recording deferrals, resolutions, failures and policy
    decisions (up to ``capacity`` events), for :mod:`lazy_bind._report`."""
    _native.trace_start(capacity)


def _after_fork_in_child():
    _native.after_fork_child()


_os.register_at_fork(after_in_child=_after_fork_in_child)
