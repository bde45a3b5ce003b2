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

from . import _locks, _native

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


def _make_resolver(name):
    def resolve():
        _locks.resolving[name] = get_ident()
        try:
            _original_import(name, None, None, None, 0)
            return sys.modules[name]
        finally:
            _locks.resolving.pop(name, None)

    return resolve


def _entry_for(name, file, line):
    entry = _entries.get(name)
    if entry is None or entry.is_resolved():
        entry = _native.Entry(name, file, line, _make_resolver(name))
        _entries[name] = entry
    return entry


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
        try:
            real = _resolve(self, state, frame)
        except _native.LazyImportCycleError as cycle:
            # The module is importing itself further up this thread's stack
            # (a circular import). Python hands out the partially
            # initialised module there; so do we, and report the cycle only
            # if that module lacks the attribute.
            partial = sys.modules.get(state.name)
            if partial is None:
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
    for entry in state.entries:
        if entry.is_resolved():
            continue
        with _locks.waiting_for(entry.name, state.file, state.line):
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
    if _loaded(name) and _pending_entry(name) is None:
        # Importing it now runs no module body: no placeholder needed.
        return _original_import(name, globals, locals, fromlist, level)
    file, line = frame.f_code.co_filename, frame.f_lineno or 0
    entry = _entry_for(name, file, line)
    bound = globals.get(top)
    # `import a.b as c` (IMPORT_NAME followed by IMPORT_FROM) binds `c`, not
    # `a`: it must not join a placeholder bound to `a`.
    aliased = frame.f_code.co_code[frame.f_lasti + 2] == _IMPORT_FROM
    if type(bound) is LazyModule and not aliased:
        state = _namespace_of(bound).get(_STATE)
        if state is not None and state.name == top and state.globals is globals:
            # `import a.b` then `import a.c`: one placeholder for `a` that
            # imports both.
            if entry not in state.entries:
                state.entries.append(entry)
            return bound
    return _placeholder(Deferred(top, [entry], globals, file, line))


def _loaded(name):
    """Whether ``name`` and every package above it are in ``sys.modules``
    (a submodule can stay there after its parent's body failed, and
    importing it would then run the parent again)."""
    parts = name.split(".")
    return all(".".join(parts[:i]) in sys.modules for i in range(1, len(parts) + 1))


def install():
    """Puts the hook in place."""
    builtins.__import__ = lazy_import


def uninstall():
    """Puts the original ``__import__`` back."""
    builtins.__import__ = _original_import


def installed():
    """Whether the hook is in place."""
    return builtins.__import__ is lazy_import
