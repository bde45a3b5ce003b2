"""Makes waits on lazy imports visible to importlib's deadlock detection.

A cycle can run through an engine entry and one of importlib's per-module
locks: thread T1 resolves entry A (importing module ``a``) and, inside
``a``, waits for module lock M; thread T2 holds M (it is importing ``m``)
and touches the lazy name for ``a``, so it waits for entry A. Neither the
engine nor importlib sees the whole cycle on its own, and both threads
would wait forever.

CPython 3.11's importlib keeps ``_blocking_on``: thread id -> the module
lock it waits for, and walks lock owners before it blocks. So while a
thread waits for another thread's resolution, :func:`waiting_for` enters
that wait in ``_blocking_on`` as a lock owned by the resolving thread:

* if T1 blocks on M after T2 started waiting, importlib walks
  T1 -> M -> T2 -> (entry A, owned by) T1 and raises its ``_DeadlockError``
  in T1, whose import of ``a`` then fails, and T2 gets that error;
* if T1 blocked on M first, T2 walks the same chain before it waits and
  raises :class:`LazyImportDeadlockError` instead of waiting.

On interpreters whose ``_blocking_on`` has another shape (3.12 changed
it), waits are not entered and such mixed cycles are not detected.
"""

import _frozen_importlib
from _thread import get_ident

from ._native import LazyImportDeadlockError

_blocking_on = getattr(_frozen_importlib, "_blocking_on", None)
SUPPORTED = type(_blocking_on) is dict

#: entry name -> thread id of the thread running its resolver.
resolving = {}


class _EntryWait:
    """What a waiting thread is entered as in ``_blocking_on``: a "lock"
    owned by the thread that resolves the entry."""

    __slots__ = ("name", "owner")

    def __init__(self, name, owner):
        self.name = name
        self.owner = owner

    def __repr__(self):
        return f"<lazy import of {self.name!r} being resolved by thread {self.owner}>"


def _cycle_through_module_locks(owner, me):
    """The threads from ``owner`` back to ``me`` through waits that include
    at least one importlib module lock, or None (the same walk as
    importlib's ``_has_deadlock``). A cycle of entry waits only is left to
    the engine, which reports it with the whole chain."""
    chain = [owner]
    tid = owner
    through_module_lock = False
    while True:
        lock = _blocking_on.get(tid)
        if lock is None:
            return None
        through_module_lock |= not isinstance(lock, _EntryWait)
        tid = lock.owner
        if tid == me:
            return chain if through_module_lock else None
        if tid in chain:
            return None
        chain.append(tid)


class waiting_for:
    """``with waiting_for(entry_name):`` around an access that may wait."""

    __slots__ = ("me",)

    def __init__(self, name, file, line):
        self.me = None
        if not SUPPORTED:
            return
        owner = resolving.get(name)
        me = get_ident()
        if owner is None or owner == me or me in _blocking_on:
            return
        chain = _cycle_through_module_locks(owner, me)
        if chain is not None:
            error = LazyImportDeadlockError(
                f"lazy import deadlock: lazy import of {name!r} (declared at {file}:{line}) "
                f"is being resolved by thread {owner}, which waits for a module lock that "
                f"this thread {me} holds"
            )
            error.name = name
            error.chain = [(name, file, line, owner)]
            raise error
        _blocking_on[me] = _EntryWait(name, owner)
        self.me = me

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.me is not None:
            _blocking_on.pop(self.me, None)
        return False
