"""The import hook: ``builtins.__import__`` replaced by ``_native.lazy_import``.

The approach is Mercurial's demandimport, carried out by the lazy_bind
engine's import bindings (``lazy_bind_importer_*``, as the CPython fork
uses them). An eligible ``import a.b.c`` at module level binds a
:class:`LazyModule` placeholder for ``a`` instead of importing;
``import a.b`` then ``import a.c`` in the same namespace share one binding,
whose resolution imports both. ``import a as c`` and ``import a.b as c``
bind ``c`` to a placeholder for the module itself. The first attribute
access resolves the binding (one thread imports, the others wait with the
GIL released), rebinds the importer's name if it still holds a placeholder
for that binding, and turns the placeholder itself into a plain module that
shares the real module's namespace, so references copied before resolution
behave like the module (they differ only in identity).

Whether an import statement is deferred is the engine's policy decision,
given the context read from the importing frame: outside module scope
(functions, class bodies), inside try/except/finally or with, inside a
loop. Never deferred, before asking the policy: ``from`` imports (the
statement needs the attribute now; imports inside the imported module stay
lazy), which covers star imports and ``__future__``, and
``__import__``/``importlib.import_module`` calls made by user code (only
the IMPORT_NAME instruction is deferred). All of this runs in C
(``_native.c``, ``_importer.c``, ``_placeholder.c`` and the glue shared
with the CPython fork, ``lazy_bind_cpython.h``); an import that is not
deferred goes to the original ``__import__`` with its arguments unchanged
and no frame of lazy_bind in between.
"""

import builtins
import opcode

from . import _native

_original_import = builtins.__import__
_native.configure(opcode.opmap, _original_import)

LazyModule = _native.LazyModule
lazy_import = _native.lazy_import


class eager:
    """``with lazy_bind.eager():`` imports eagerly on this thread inside
    (an engine eager scope; scopes nest)."""

    def __enter__(self):
        _native.eager_enter()
        return self

    def __exit__(self, *exc):
        _native.eager_leave()
        return False


def install():
    """Puts the hook in place, and importlib's module locks into the
    engine's wait-for graph (from then on, for good)."""
    _native.mirror_module_locks()
    builtins.__import__ = lazy_import


def uninstall():
    """Puts the original ``__import__`` back."""
    builtins.__import__ = _original_import


def installed():
    """Whether the hook is in place."""
    return builtins.__import__ is lazy_import
