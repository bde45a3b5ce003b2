/* The fork's built-in opt-outs: packages whose import has side effects that
 * other code relies on at import time, found by running real programs in
 * mode all. Added under the user's policy (LAZY_BIND_POLICY) at start-up;
 * -X lazy_imports_defaults=0 or PYTHON_LAZY_IMPORTS_DEFAULTS=0 leaves them
 * out. `eager-importer P.*` keeps the package's own imports eager while a
 * program's `import P` stays deferred. Included by Python/lazy_imports.c
 * only. */
#ifndef Py_INTERNAL_LAZY_IMPORTS_DEFAULTS_H
#define Py_INTERNAL_LAZY_IMPORTS_DEFAULTS_H

static const char lazy_imports_default_rules[] =
    /* pandas/_libs/__init__.py imports pandas_parser and pandas_datetime
     * only so that their exec stores C API capsules on `pandas`, and
     * pandas.core.config_init registers options other modules read at
     * import time. */
    "eager-importer pandas.*\n"
    /* matplotlib modules register docstring substitutions
     * (_docstring.interpd.register) that class bodies elsewhere use
     * (KeyError: '_legend_kw_axes' otherwise). */
    "eager-importer matplotlib.*\n"
    /* torch imports its own submodules in an order it depends on:
     * torch/_jit_internal.py imports torch.distributed.rpc first, which
     * needs torch.autograd and torch.nn that torch/__init__.py imports
     * earlier (ImportError: cannot import name '_overload' from partially
     * initialized torch._jit_internal otherwise), and torch.jit._builtins
     * walks every attribute of torch, resolving them all while one of
     * them is being resolved (a lazy-import cycle otherwise). */
    "eager-importer torch.*\n"
    /* mpmath.functions' submodules add their functions to the contexts by
     * decorators when imported ('FPContext' object has no attribute
     * 'zetazero' otherwise). */
    "eager-importer mpmath.*\n"
    /* sympy classes register into the singleton registry S when their
     * module runs (Attribute 'Catalan' was not installed on SymPy registry
     * S otherwise). */
    "eager-importer sympy.*\n"
    /* hypothesis.strategies checks at import time that every strategy it
     * exports was registered into _all_strategies by the @defines_strategy
     * decorators of the modules it imports names from (AssertionError
     * listing the unregistered names otherwise). */
    "eager-importer hypothesis.*\n"
    /* pytest's assertion-rewriting import hook runs for every import,
     * including those of the modules its own code uses: find_spec calls
     * _pytest.pathlib.fnmatch_ex, which needs fnmatch while fnmatch itself
     * is being found (a lazy-import cycle otherwise). Eager Python has
     * imported them before the hook is installed. */
    "eager-importer _pytest.assertion.rewrite\n"
    "eager-importer _pytest.pathlib\n";

#endif /* Py_INTERNAL_LAZY_IMPORTS_DEFAULTS_H */
