"""Policy rules applied by default, and why each is needed.

They are lazy_bind's built-in opt-outs (``lazy_bind::policy::BUILTIN_RULES``
in the engine, one table for every runtime): packages whose import has side
effects that other code relies on at import time, found by running real
programs lazily. ``eager-importer P.*`` keeps the package's own imports
eager while the program's ``import P`` stays deferred. The rules that only
a runtime deferring ``from`` imports needs (the fork's) are left out: this
adaptor runs ``from a import x`` at once.
"""

from . import _native

DEFAULT_OPT_OUT = dict(_native.builtin_rules())
