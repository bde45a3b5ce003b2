"""Modules imported eagerly by default, and why.

Each entry is a module whose import has side effects that other code relies
on at import time, so deferring it breaks real programs. Every name covers
its submodules (``eager-target NAME.*``).
"""

DEFAULT_OPT_OUT = {}
