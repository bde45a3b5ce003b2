"""Policy rules applied by default, and why each is needed.

Each rule covers a package whose import has side effects that other code
relies on at import time, found by running real programs under
``python -m lazy_bind``. ``eager-importer P.*`` keeps the package's own
imports eager while the program's ``import P`` stays deferred; that is
the choice when the side effects are spread over many modules.
"""

DEFAULT_OPT_OUT = {
    # pandas imports modules for their side effects all over the package:
    # pandas/_libs/__init__.py imports `pandas._libs.pandas_parser` and
    # `pandas._libs.pandas_datetime` only so that their exec stores the C
    # API capsules on the top-level `pandas` module (PyCapsule_Import fails
    # otherwise: "numpy._core.multiarray failed to import"), and
    # `import pandas.core.config_init` registers the options that other
    # modules read at import time (`KeyError: 'compute'` otherwise).
    "eager-importer pandas.*": "C API capsules and options registered by import",
    # matplotlib modules register docstring substitutions
    # (`_docstring.interpd.register(...)`) at import time, and other modules
    # use them in class bodies (`KeyError: '_legend_kw_axes'` otherwise).
    "eager-importer matplotlib.*": "docstring registrations at import time",
    # torch imports its own submodules in an order it depends on:
    # torch/_jit_internal.py imports torch.distributed.rpc first "explicitly"
    # (its comment), and that import needs torch.autograd and torch.nn,
    # which torch/__init__.py imports earlier; deferred, torch.nn.functional
    # meets a partly initialised torch._jit_internal ("cannot import name
    # '_overload'"), and torch.jit._builtins walks every attribute of torch
    # while one of them is being resolved (a lazy-import cycle).
    "eager-importer torch.*": "submodules imported in an order torch depends on",
}
