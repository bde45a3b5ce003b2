/* Lazy imports on lazy_bind: the interpreter's internal interface.
 *
 * A module-level import statement that the lazy-imports mode and policy
 * allow binds a placeholder (a `_lazy_imports.lazy_import` object holding a
 * lazy_bind handle) instead of the module. Placeholders live only as values
 * in namespaces (module dicts, a frame's locals at module level). Every
 * read that hands a value to user code (LOAD_GLOBAL, LOAD_NAME, module
 * attribute access) calls _PyLazyImport_ResolveLoaded when it finds one:
 * that resolves the entry through lazy_bind (exactly once across threads)
 * and writes the value back into the namespace only if the slot still holds
 * the same placeholder. Raw reads (globals(), __dict__, dir()) see the
 * placeholder.
 *
 * The specialised loads (LOAD_GLOBAL_MODULE, LOAD_GLOBAL_BUILTIN,
 * LOAD_ATTR_MODULE, LOAD_METHOD_MODULE) never meet a placeholder, at no
 * cost to them: they are guarded by the dict's keys version, and
 * - the specializer (Python/specialize.c) refuses a load whose value is a
 *   placeholder, so the generic instruction runs and resolves it;
 * - a placeholder stored under an existing key (insertdict in
 *   Objects/dictobject.c) resets the dict's keys version, as a new key
 *   does already, so every specialised load of that dict deoptimises.
 */
#ifndef Py_INTERNAL_LAZY_IMPORTS_H
#define Py_INTERNAL_LAZY_IMPORTS_H
#ifdef __cplusplus
extern "C" {
#endif

#ifndef Py_BUILD_CORE
#  error "this header requires Py_BUILD_CORE define"
#endif

struct _PyInterpreterFrame;

/* The placeholder type (`_lazy_imports.LazyImportType`). */
extern PyTypeObject _PyLazyImport_Type;

#define _PyLazyImport_CheckExact(op) Py_IS_TYPE((op), &_PyLazyImport_Type)

/* Resolves the placeholder `placeholder` (a reference the caller owns and
 * that this call consumes) that a read of `name` found, and returns a new
 * reference to its value, or NULL with an exception set. `first`,
 * `second`, `third` (any may be NULL) are the namespaces the read searched,
 * in order: the first one that has `name` gets the value written back if
 * it still holds this very placeholder. */
PyObject *_PyLazyImport_ResolveLoaded(PyObject *placeholder, PyObject *name,
                                      PyObject *first, PyObject *second,
                                      PyObject *third);

/* The IMPORT_NAME hook. Returns 1 and stores a new reference in `*result`
 * when the statement is deferred; 0 when it must run eagerly (no
 * exception set); 2 when it must run eagerly as a guarded import (a
 * statement inside `try`: while it runs, an import of a module that cannot
 * be found is not deferred, so that its ModuleNotFoundError reaches the
 * guard), and the caller calls _PyLazyImport_LeaveGuarded once it has run;
 * -1 with an exception set. */
int _PyLazyImport_Defer(PyThreadState *tstate, struct _PyInterpreterFrame *frame,
                        PyObject *name, PyObject *fromlist, PyObject *level,
                        PyObject **result);

/* Ends the guarded import that _PyLazyImport_Defer's 2 began. */
void _PyLazyImport_LeaveGuarded(void);

/* The IMPORT_FROM hook for a placeholder on the stack: a new placeholder
 * for attribute `name` of the module `from` stands for (new reference), or
 * NULL with an exception set. */
PyObject *_PyLazyImport_ImportFrom(PyThreadState *tstate, PyObject *from, PyObject *name);

/* The attribute lookup of module `module` found no `name`: if a deferred
 * `import module.name...` statement is pending, import the submodule now,
 * as the eager statement would have done (binding it on its parent), and
 * return the attribute (new reference). NULL without an exception when
 * there is nothing pending, NULL with one if the import failed. */
PyObject *_PyLazyImport_PendingSubmodule(PyObject *module, PyObject *name);

/* `_imp._lazy_import_pending(parent, name)`: whether `parent` (a module)
 * binds `name` to a placeholder. importlib asks before binding a freshly
 * loaded submodule on its parent: a pending lazy binding of that name (say
 * `from .main import main`) is the statement's value and must not be
 * replaced by the submodule, as the eager statement would have run after
 * the submodule was bound. Nor must anything that `parent`'s own body did
 * with the name after a deferred `from .name import x` there bound the
 * submodule's placeholder (a function defined under that name, a `del`):
 * the eager statement would have bound the submodule before that. */
PyObject *_PyLazyImport_ImpPending(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
#define _PyLazyImport_IMP_METHODDEF \
    {"_lazy_import_pending", (PyCFunction)(void (*)(void))_PyLazyImport_ImpPending, \
     METH_FASTCALL, NULL},

/* The value IMPORT_STAR copies for `name` from `module` into `locals`: a
 * placeholder in the module's dict is copied as it is when `locals` is the
 * running frame's module namespace (it resolves on first use there, and a
 * package's `from sub import *` in a submodule does not force the package's
 * own pending bindings); otherwise getattr. New reference or NULL. */
PyObject *_PyLazyImport_StarValue(PyObject *module, PyObject *name, PyObject *locals);

/* Start-up: reads -X lazy_imports*, PYTHON_LAZY_IMPORTS*, LAZY_BIND_POLICY,
 * creates the engine (main interpreter only) and adds the sys functions. */
PyStatus _PyLazyImports_Init(PyThreadState *tstate);

/* Finalisation (Py_FinalizeEx, after the atexit functions, main interpreter
 * only): writes the trace and the never-resolved report, turns laziness
 * off and drops everything that belongs to this interpreter, so that a
 * later Py_Initialize starts afresh. The engine itself stays. */
void _PyLazyImports_Fini(PyThreadState *tstate);

/* The fork-child hook (called from PyOS_AfterFork_Child). */
void _PyLazyImports_AfterForkChild(void);

#ifdef Py_LAZY_IMPORTS_IMPL
/* Shared by Objects/lazyimportobject.c, Python/lazy_imports.c and
 * Modules/_lazy_importsmodule.c only. */
#include "lazy_bind.h"

/* A placeholder. `handle.stamp == 0` marks a statement placeholder: one
 * that only lives on the value stack between IMPORT_NAME and the
 * IMPORT_FROMs of the same statement, standing for the module `module`
 * (`from m import ...`, or each step of `import a.b.c as d`), and that
 * never reaches a namespace. */
typedef struct {
    PyObject_HEAD
    lazy_bind_handle handle;
    const lazy_bind_slot *slot;  /* for lazy_bind_get_fast */
    PyObject *name;              /* the entry's name, shown by repr */
    PyObject *file;              /* declaration file */
    int line;                    /* declaration line */
    /* Statement placeholders only (NULL otherwise): */
    PyObject *module;    /* absolute name of the module it stands for */
    PyObject *full;      /* `import a.b.c as d`: "a.b.c"; NULL for `from` */
    PyObject *alias;     /* `import a.b.c as d`: "d", where the statement's
                            store names it; NULL otherwise */
    PyObject *importer;  /* the importing module's __name__ */
    uint64_t ns;         /* the namespace id (the globals dict's address) */
} _PyLazyImportObject;

/* A placeholder bound to `handle` of the process's engine, declared at
 * `file`:`line` (new reference). */
PyObject *_PyLazyImport_New(lazy_bind_handle handle, const char *name, PyObject *file,
                            int line);

/* A statement placeholder (new reference). */
PyObject *_PyLazyImport_NewStatement(PyObject *module, PyObject *full, PyObject *alias,
                                     PyObject *importer, PyObject *file, int line, uint64_t ns);

/* The value of a placeholder (new reference), resolving it now if needed,
 * without writing it anywhere; NULL with an exception set. */
PyObject *_PyLazyImport_Resolve(PyObject *placeholder);

/* The engine (NULL until _PyLazyImports_Init ran in the main interpreter). */
extern lazy_bind_engine *_PyLazyImports_engine;

/* The slow path of _PyLazyImport_Resolve for a bound placeholder:
 * lazy_bind_resolve with the current frame as the access site; raises the
 * entry's error. */
PyObject *_PyLazyImports_ResolveHandle(_PyLazyImportObject *placeholder);

/* Defers `from module import name` for a statement placeholder (new
 * reference to the bound placeholder). */
PyObject *_PyLazyImports_DeferAttribute(_PyLazyImportObject *statement, PyObject *name);

/* Defers the module `import a.b.c as d` stands for, bound to its alias,
 * for the last IMPORT_FROM of a statement placeholder with an alias (new
 * reference to the bound placeholder). */
PyObject *_PyLazyImports_DeferModuleAs(_PyLazyImportObject *statement);

/* Exceptions and module-level helpers for _lazy_imports. */
extern PyObject *_PyLazyImports_CycleError;
extern PyObject *_PyLazyImports_DeadlockError;
PyObject *_PyLazyImports_Explain(const char *importer, const char *target, PyObject *fromlist);
PyObject *_PyLazyImports_NeverResolved(void);
PyObject *_PyLazyImports_Counters(void);
#endif /* Py_LAZY_IMPORTS_IMPL */

#ifdef __cplusplus
}
#endif
#endif /* !Py_INTERNAL_LAZY_IMPORTS_H */
