/* What the C files of lazy_bind._native (one extension module) share.
 *
 * _native.c      the module: engine, exceptions, policy, tracing, counters,
 *                and where an import statement sits in its code object
 *                (the shared glue's analysis, with dis.opmap's numbers);
 * _placeholder.c LazyModule, the placeholder bound in place of a module;
 * _importer.c    the engine importer's hooks and the builtins.__import__
 *                replacement that defers statements through it.
 *
 * Everything here runs attached to the interpreter (with the GIL held
 * where there is one). On a free-threaded build (3.13t) the module declares
 * that it does not need the GIL (Py_MOD_GIL_NOT_USED): the globals below
 * and those of each file are set once at module init, or read and written
 * under a mutex (_native.c's globals_lock), objects read from namespaces
 * are new references, a placeholder's rebind is one critical section on
 * the namespace, and a resolved placeholder never adopts its module's
 * namespace (_placeholder.c). */
#ifndef LAZY_BIND_NATIVE_H
#define LAZY_BIND_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>

#include "lazy_bind.h"

/* The import-site types of the shared glue (lazy_bind_cpython.h, included
 * whole by _native.c only). */
#define LAZY_BIND_CPYTHON_TYPES_ONLY
#include "lazy_bind_cpython.h"
#undef LAZY_BIND_CPYTHON_TYPES_ONLY

/* ---- _native.c ------------------------------------------------------------ */

/* The process's engine and the importer over it (created at module init). */
extern lazy_bind_engine *adaptor_engine;
extern lazy_bind_importer *adaptor_importer;

/* ImportError subclass for engine failures. */
extern PyObject *adaptor_LazyImportError;

/* Raises the Python exception for a failed lazy_bind_resolve: the
 * resolver's own exception with a note, or LazyImportCycleError /
 * LazyImportDeadlockError / LazyImportError naming the chain. */
void adaptor_raise_engine_error(lazy_bind_result status, const lazy_bind_error *error);

/* Asks the policy in force whether `importer`'s import of `target` with
 * LAZY_BIND_CONTEXT_* `flags` is deferred (recording the decision while
 * tracing): 1 defer, 0 eager (also when no policy is set), -1 with an
 * exception set. */
int adaptor_decide(const char *importer, const char *target, uint32_t flags);

/* The shared CPython glue, for the other files: hands the pending
 * exception to the engine from a failed hook. */
uint32_t adaptor_fail(void **runtime_error_out);

/* Whether `globals`' __lazy_modules__ names `target` (or its top-level
 * package): PEP 810's mark for a lazy import in mode normal. */
bool adaptor_marked_lazy(PyObject *globals, PyObject *target);

/* The shared glue's can_find import hook. */
bool adaptor_can_find(void *userdata, const char *name);

/* The shared glue's set_attr_if_absent import hook. */
uint32_t adaptor_set_attr_if_absent(void *userdata, void *module, const char *name, void *value,
                                    void **runtime_error_out);

/* Reads the opcode numbers of this interpreter from `opmap` (dis.opmap).
 * Returns 0, or -1 with an exception set. */
int adaptor_opcodes_configure(PyObject *opmap);

/* The IMPORT_NAME at byte offset `lasti` of `code` into `*site_out`,
 * analysed once per code object and cached with it: 1, 0 (no exception
 * set) if `lasti` is not an IMPORT_NAME, -1 with an exception set. */
int adaptor_import_site_at(PyCodeObject *code, int lasti,
                           const lazy_bind_cpython_import_site **site_out);

/* ---- _placeholder.c ------------------------------------------------------- */

/* Creates the LazyModule type and adds it to `module`. Returns 0 or -1. */
int adaptor_placeholder_init(PyObject *module);

/* A new placeholder for the binding `handle`: it stands for the module
 * `name` and is bound to `bound` in the namespace `globals` (declared at
 * `file`:`line`); `package` says a package statement (`import a...`) bound
 * it, standing for its top package. */
PyObject *adaptor_placeholder_new(lazy_bind_handle handle, PyObject *name, PyObject *globals,
                                  PyObject *bound, PyObject *file, int line, bool package);

/* Whether `value` is an unresolved placeholder; if so and `handle_out` is
 * not NULL, writes its handle there. Never raises. */
bool adaptor_placeholder_handle(PyObject *value, lazy_bind_handle *handle_out);

/* Whether `value` is an unresolved placeholder bound by a package statement
 * (`import a...`, standing for its top package) in namespace `globals`. */
bool adaptor_placeholder_is_package_of(PyObject *value, PyObject *globals);

/* ---- _importer.c ---------------------------------------------------------- */

/* Creates the importer over `engine` with this module's import hooks.
 * Returns 0, or -1 with an exception set. */
int adaptor_importer_create(void);

/* Remembers the `__import__` to fall back to. Returns
 * 0, or -1 with an exception set. */
int adaptor_importer_configure(PyObject *original_import);

/* The builtins.__import__ replacement (METH_FASTCALL | METH_KEYWORDS). */
PyObject *adaptor_lazy_import(PyObject *self, PyObject *const *args, Py_ssize_t nargsf,
                              PyObject *kwnames);


#endif /* LAZY_BIND_NATIVE_H */
