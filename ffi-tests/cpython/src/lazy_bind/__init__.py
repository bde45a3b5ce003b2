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

from . import _hook, _native
from ._defaults import DEFAULT_OPT_OUT
from ._native import LazyImportCycleError, LazyImportDeadlockError, LazyImportError

LazyModule = _hook.LazyModule
eager = _hook.eager

__all__ = [
    "DEFAULT_OPT_OUT",
    "LazyImportCycleError",
    "LazyImportDeadlockError",
    "LazyImportError",
    "LazyModule",
    "counters",
    "disable",
    "eager",
    "enable",
    "enabled",
    "explain",
]


def enable(exclude=(), defaults=True):
    """Defers every eligible import from now on (mode ``all``).

    ``exclude`` names modules imported eagerly (each name covers its
    submodules too); ``defaults`` adds :data:`DEFAULT_OPT_OUT`.
    """
    names = set(exclude)
    if defaults:
        names |= DEFAULT_OPT_OUT
    _hook.install(_hook._AllPolicy(names))


def disable(resolve_pending=True):
    """Stops deferring imports.

    With ``resolve_pending``, also imports everything still deferred and
    returns the list of failure messages (every failure, not only the
    first; empty when all succeeded). Placeholders already handed out stay
    valid and become plain modules on their next use.
    """
    _hook.uninstall()
    if resolve_pending:
        return _native.resolve_all_pending()
    return []


def enabled():
    """Whether imports are being deferred."""
    return _hook.installed()


def explain(importer, target):
    """Says whether an import of ``target`` inside module ``importer`` would
    be deferred (at module level, outside try/with/loops), and why."""
    if not _hook.installed():
        return f"{target!r} in {importer!r}: eager (lazy imports are not enabled)"
    parts = target.split(".")
    for i in range(len(parts)):
        prefix = ".".join(parts[: i + 1])
        if prefix in _hook._policy.opt_out:
            return f"{target!r} in {importer!r}: eager (target opt-out {prefix!r})"
    return f"{target!r} in {importer!r}: deferred (mode all)"


def counters():
    """The engine's counters: deferred, resolved, failed, pending."""
    return _native.counters()


def _after_fork_in_child():
    _native.after_fork_child()


_os.register_at_fork(after_in_child=_after_fork_in_child)
