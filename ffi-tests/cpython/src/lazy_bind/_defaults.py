"""Modules imported eagerly by default, and why.

Each entry is a module whose import has side effects that other code relies
on at import time, so deferring it breaks real programs.
"""

DEFAULT_OPT_OUT = frozenset()
