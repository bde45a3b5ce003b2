"""The import hook: replaces ``builtins.__import__`` and binds placeholders.

The approach is Mercurial's demandimport. An eligible ``import a.b.c`` at
module level returns a :class:`LazyModule` placeholder for ``a`` instead of
importing; the import statement stores it under the usual name. The
placeholder is backed by engine entries (one per module it must import,
shared by every importer in the process, so the import runs exactly once).
The first attribute access resolves the entries through the C extension
(``lazy_bind_resolve``: one thread imports, the others wait with the GIL
released), then rebinds the importer's global names that still hold the
placeholder, and turns the placeholder itself into a plain module that
shares the real module's namespace, so references copied before resolution
behave like the module (they differ only in identity).

Whether an import statement is deferred is the engine's policy decision
(``lazy_bind_policy_decide``), given the context this module reads from the
importing frame: outside module scope (functions, class bodies), inside
try/except/finally or with (the code object's exception table), inside a
loop. Never deferred, before asking the policy: ``from`` imports (the
statement needs the attribute now; imports inside the imported module stay
lazy), which covers star imports and ``__future__``, and
``__import__``/``importlib.import_module`` calls made by user code (only the
IMPORT_NAME instruction is deferred).
"""

import builtins
import opcode
import sys
from _thread import get_ident
from types import ModuleType

from . import _native

_native.configure(
    opcode.opmap["IMPORT_NAME"],
    opcode.EXTENDED_ARG,
    opcode.opmap["JUMP_BACKWARD"],
    opcode.opmap["JUMP_BACKWARD_NO_INTERRUPT"],
)

# import_context() flags.
_STATEMENT = 1
_HANDLER = 2
_LOOP = 4
# LAZY_BIND_CONTEXT_* flags of lazy_bind.h.
_NOT_MODULE_LEVEL = 1
_IN_TRY = 2
_IN_LOOP = 8
_IMPORT_FROM = opcode.opmap["IMPORT_FROM"]
_EXTENDED_ARG = opcode.EXTENDED_ARG
_STORE_NAME_OPS = (opcode.opmap["STORE_NAME"], opcode.opmap["STORE_GLOBAL"])

#: Where a placeholder keeps its state, inside its own (private) namespace
#: until it adopts the real module's.
_STATE = "__lazy_bind_state__"

_original_import = builtins.__import__
_namespace_of = ModuleType.__dict__["__dict__"].__get__
_module_getattribute = ModuleType.__getattribute__
_module_setattr = ModuleType.__setattr__
_module_delattr = ModuleType.__delattr__

#: One engine entry per module name being deferred (shared by importers).
_entries = {}


class Deferred:
    """The state of one placeholder."""

    __slots__ = ("name", "entries", "globals", "file", "line")

    def __init__(self, name, entries, namespace, file, line):
        self.name = name  # the module the placeholder stands for
        self.entries = entries  # entries to resolve first (modules to import)
        self.globals = namespace  # the importer's globals, for rebinding
        self.file = file
        self.line = line


#: (thread id, module name) -> the entry that thread is resolving for it.
_resolving_entries = {}

#: module name -> thread id of the thread running its entry's resolver.
_resolving_threads = {}


def _new_entry(name, file, line):
    """An engine entry whose resolver imports ``name``: every dotted prefix,
    parents first, as lazy_bind's import plan does. So `a.b.c` imports `a`,
    `a.b` and `a.b.c`, and a package whose body failed runs again (CPython's
    eager statement would take a submodule that is still in `sys.modules`
    without importing its parents)."""
    prefixes = _prefixes(name)

    def resolve():
        me = get_ident()
        key = (me, name)
        outer = _resolving_entries.get(key)
        _resolving_entries[key] = entry
        _resolving_threads[name] = me
        try:
            parent = None
            for prefix in prefixes:
                _original_import(prefix, None, None, None, 0)
                child = sys.modules[prefix]
                if parent is not None:
                    # A partly initialised submodule is not on its parent
                    # yet; bind it, never overwriting an attribute.
                    _namespace_of(parent).setdefault(prefix.rpartition(".")[2], child)
                parent = child
            return parent
        finally:
            if outer is None:
                del _resolving_entries[key]
                _resolving_threads.pop(name, None)
            else:
                _resolving_entries[key] = outer

    entry = _native.Entry(name, file, line, resolve)
    return entry


def _entry_for(name, file, line):
    """The entry a new placeholder for ``name`` resolves."""
    current = _resolving_entries.get((get_ident(), name))
    if current is not None:
        # A lazy binding of `name` made while this thread resolves it: the
        # same entry, so that using it is a cycle.
        return current
    if _partial_here(name):
        # An eager import of `name` is running further up this stack, so
        # importing it now returns its partial module, whose body may still
        # fail. That value is this placeholder's alone: a shared entry that
        # kept it would hand the failed module to every other importer.
        return _new_entry(name, file, line)
    entry = _entries.get(name)
    if entry is None or entry.is_resolved():
        entry = _new_entry(name, file, line)
        _entries[name] = entry
    return entry


def _partial_here(name):
    """Whether ``name`` is in ``sys.modules`` partly initialised by an eager
    import (not by a lazy resolution on any thread, whose entry a new
    placeholder must share so that waits on it reach the engine)."""
    return _initializing(sys.modules.get(name)) and name not in _resolving_threads


def _initializing(module):
    """Whether ``module`` (or None) is still running its body."""
    return getattr(getattr(module, "__spec__", None), "_initializing", False)


def _prefixes(name):
    """``a``, ``a.b``, ``a.b.c`` for ``a.b.c``: parents first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _pending_entry(name):
    """The entry deferring `name` if one exists and is not resolved."""
    entry = _entries.get(name)
    if entry is not None and not entry.is_resolved():
        return entry
    return None


class LazyModule(ModuleType):
    """A module placeholder: resolves on first attribute access.

    ``isinstance(placeholder, types.ModuleType)`` holds. After resolution
    the object is a plain module sharing the real module's namespace.
    """

    __slots__ = ()

    def __getattribute__(self, attr):
        state = _namespace_of(self).get(_STATE)
        if state is None:  # resolved by another thread meanwhile
            return _module_getattribute(self, attr)
        frame = _caller()
        if frame is not None and frame.f_code.co_code[frame.f_lasti] == _IMPORT_FROM:
            # `import a.b as c`: IMPORT_FROM takes `b` from the placeholder
            # for `a`; hand out a placeholder for `a.b` without importing.
            return _child(state, attr)
        circular = _resolving_here(state)
        try:
            real = _resolve(self, state, frame)
        except _native.LazyImportCycleError as cycle:
            # The module is importing itself further up this thread's stack
            # (a circular import). Python hands out the partially
            # initialised module there; so do we, and report the cycle only
            # if that module lacks the attribute. A cycle error raised by a
            # module body that this resolution ran is not ours to absorb.
            partial = sys.modules.get(state.name)
            if partial is None or not circular:
                raise
            try:
                return getattr(partial, attr)
            except AttributeError:
                raise cycle from None
        return getattr(real, attr)

    def __setattr__(self, attr, value):
        state = _namespace_of(self).get(_STATE)
        if state is None:
            _module_setattr(self, attr, value)
        else:
            setattr(_resolve(self, state, _caller()), attr, value)

    def __delattr__(self, attr):
        state = _namespace_of(self).get(_STATE)
        if state is None:
            _module_delattr(self, attr)
        else:
            delattr(_resolve(self, state, _caller()), attr)

    def __repr__(self):
        state = _namespace_of(self).get(_STATE)
        if state is None:
            return ModuleType.__repr__(self)
        return f"<lazy module {state.name!r} (not imported yet)>"


def _resolving_here(state):
    """Whether this thread is already resolving one of the placeholder's
    entries further up its stack."""
    me = get_ident()
    return any(_resolving_threads.get(entry.name) == me for entry in state.entries)


def _caller():
    """The frame that accessed the placeholder (two levels up), or None when
    C code with no Python frame under it did."""
    try:
        return sys._getframe(2)
    except ValueError:
        return None


def _placeholder(state):
    placeholder = LazyModule(state.name)
    _namespace_of(placeholder)[_STATE] = state
    return placeholder


def _child(state, attr):
    name = f"{state.name}.{attr}"
    return _placeholder(Deferred(name, state.entries, state.globals, state.file, state.line))


def _resolve(placeholder, state, frame):
    """Imports what the placeholder stands for and rebinds; returns the module."""
    if frame is None:
        access_file, access_line = None, 0
    else:
        access_file, access_line = frame.f_code.co_filename, frame.f_lineno or 0
    for index, entry in enumerate(state.entries):
        if entry.is_resolved():
            if _in_sys_modules(entry.name):
                continue
            # Another importer's resolution of this entry imported the
            # module, but a package body failed since and took it out of
            # `sys.modules`: this placeholder imports it again.
            entry = state.entries[index] = _entry_for(entry.name, state.file, state.line)
        entry.resolve(access_file, access_line)
    real = sys.modules.get(state.name)
    if real is None:
        real = _walk(state.name)
    _rebind(state.globals, placeholder, real)
    if _namespace_of(placeholder).get(_STATE) is state:
        _native.adopt_namespace(placeholder, real)
        placeholder.__class__ = ModuleType
    return real


def _walk(name):
    """`a.b.c` as attributes from `a` (a package may replace its entries)."""
    head, *rest = name.split(".")
    value = sys.modules[head]
    for part in rest:
        value = getattr(value, part)
    return value


def _rebind(namespace, placeholder, real):
    """Replaces the placeholder in the importer's globals, only where it is
    still bound (a rebinding by user code is never overwritten)."""
    for key, value in list(namespace.items()):
        if value is placeholder:
            # Compare-and-replace: another thread may have rebound it since.
            if namespace.get(key) is placeholder:
                namespace[key] = real


class eager:
    """``with lazy_bind.eager():`` imports eagerly on this thread inside
    (an engine eager scope; scopes nest)."""

    def __enter__(self):
        _native.eager_enter()
        return self

    def __exit__(self, *exc):
        _native.eager_leave()
        return False


def lazy_import(name, globals=None, locals=None, fromlist=(), level=0):
    """The replacement for ``builtins.__import__``."""
    if fromlist or level or globals is None:
        return _original_import(name, globals, locals, fromlist, level)
    frame = sys._getframe(1)
    if (
        frame.f_globals is not globals
        or frame.f_locals is not globals
        or frame.f_code.co_name != "<module>"
    ):
        flags = _NOT_MODULE_LEVEL
    else:
        context = _native.import_context(frame)
        if not context & _STATEMENT:
            return _original_import(name, globals, locals, fromlist, level)
        flags = (_IN_TRY if context & _HANDLER else 0) | (_IN_LOOP if context & _LOOP else 0)
    importer = globals.get("__name__")
    if not isinstance(importer, str) or not _native.decide(importer, name, flags):
        return _original_import(name, globals, locals, fromlist, level)
    top = name.partition(".")[0]
    # `import a.b` then `import a.c` (or `import a`): one placeholder for `a`
    # that imports both. `import a as c` and `import a.b as c` bind `c`, not
    # `a`: they must not join a placeholder bound to `a`.
    joined = _joinable(globals.get(top), top, globals) if _binds(frame, top) else None
    if joined is None and _loaded(name) and _pending_entry(name) is None:
        # Importing it now runs no module body: no placeholder needed.
        return _original_import(name, globals, locals, fromlist, level)
    file, line = frame.f_code.co_filename, frame.f_lineno or 0
    if joined is None:
        return _placeholder(Deferred(top, [_entry_for(name, file, line)], globals, file, line))
    if name != top:
        # Importing a submodule imports the package first: an entry for the
        # package alone gives way to the submodule's.
        entry = _entry_for(name, file, line)
        if joined.entries[0].name == top:
            joined.entries[0] = entry
        elif entry not in joined.entries:
            joined.entries.append(entry)
    return globals[top]


def _binds(frame, name):
    """Whether the IMPORT_NAME instruction running in ``frame`` is followed
    by a store to ``name`` (`import a.b` stores `a`; `import a.b as c` goes
    on with IMPORT_FROM, `import a as c` stores `c`)."""
    code = frame.f_code
    at = frame.f_lasti + 2
    arg = 0
    while code.co_code[at] == _EXTENDED_ARG:
        arg = (arg | code.co_code[at + 1]) << 8
        at += 2
    if code.co_code[at] not in _STORE_NAME_OPS:
        return False
    return code.co_names[arg | code.co_code[at + 1]] == name


def _joinable(bound, top, namespace):
    """The state of ``bound`` if it is an unresolved placeholder for the
    package ``top`` made by an import in ``namespace``, else None."""
    if type(bound) is not LazyModule:
        return None
    state = _namespace_of(bound).get(_STATE)
    if state is not None and state.name == top and state.globals is namespace:
        return state
    return None


def _in_sys_modules(name):
    """Whether ``name`` and every package above it are in ``sys.modules``."""
    return all(prefix in sys.modules for prefix in _prefixes(name))


def _loaded(name):
    """Whether ``name`` and every package above it are in ``sys.modules``
    and fully initialised (a submodule can stay there after its parent's
    body failed, and importing it would then run the parent again; a module
    still running its body is not bound eagerly, as a lazy binding of it
    would bind it later)."""
    for prefix in _prefixes(name):
        module = sys.modules.get(prefix)
        if module is None or _initializing(module):
            return False
    return True


def install():
    """Puts the hook in place, and importlib's module locks into the
    engine's wait-for graph (for good: they cost nothing when no lazy
    import waits)."""
    _native.mirror_module_locks()
    builtins.__import__ = lazy_import


def uninstall():
    """Puts the original ``__import__`` back."""
    builtins.__import__ = _original_import


def installed():
    """Whether the hook is in place."""
    return builtins.__import__ is lazy_import
