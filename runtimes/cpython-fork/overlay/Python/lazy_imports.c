/* Lazy imports on lazy_bind: the engine, the IMPORT_NAME hook, the policy
 * and modes, the sys functions, tracing and the fork hook.
 *
 * One lazy_bind engine and one lazy_bind importer serve the main
 * interpreter. Every call into them happens with the GIL held, except a
 * thread's wait for another thread's resolution: the engine calls
 * before_block (which releases the GIL) and after_wake (which takes it back)
 * around it. Resolvers run on the accessing thread, with the GIL, through
 * the import hooks below (importlib via PyImport_ImportModuleLevelObject).
 *
 * Module state is process-global and guarded by the GIL (only the main
 * interpreter defers imports; subinterpreters share the GIL in 3.11).
 */
#define Py_LAZY_IMPORTS_IMPL
#include "Python.h"
#include "opcode.h"
#include "pycore_fileutils.h"
#include "pycore_frame.h"
#include "pycore_initconfig.h"
#include "pycore_interp.h"
#include "pycore_lazy_imports.h"
#include "lazy_bind_cpython.h"               // the hooks, the filter, import sites
#include "pycore_pystate.h"
#include "pycore_runtime.h"

#include <string.h>
#include <unistd.h>
#include <wchar.h>

lazy_bind_engine *_PyLazyImports_engine;
PyObject *_PyLazyImports_CycleError;
PyObject *_PyLazyImports_DeadlockError;

static struct {
    lazy_bind_importer *importer;
    lazy_bind_policy *policy;
    int policy_file;       /* LAZY_BIND_POLICY was given: rules may opt in */
    uint32_t mode;         /* mirrors the policy's mode (a lazy_bind_mode) */
    PyObject *filter;      /* sys.set_lazy_imports_filter's callable */
    lazy_bind_recorder *recorder; /* set while tracing (-X lazy_imports_trace) */
    char *trace_path;      /* where the Chrome trace goes at exit */
    int report;            /* print the never-resolved report at exit */
    PyObject *lazy_modules_str; /* "__lazy_modules__" */
    /* Dotted names of submodules that deferred statements will import
     * (`a.b` and `a.b.c` for `import a.b.c`): eager statements would have
     * bound them on their parents already. */
    PyObject *pending_submodules;
    /* Dotted names `P.c` of submodules for which a deferred statement run
     * in package P's own body bound a placeholder for `c` in P's namespace
     * (see bind_own_submodule): when P.c is loaded, whatever P's body did
     * with that name since (rebinding it, deleting it) wins over the
     * submodule, as it would have after the eager import. Kept for the
     * process: the engine's import plan binds submodules on their parents
     * after importlib has loaded them (bound_submodule_set_attr). */
    PyObject *bound_submodules;
} lazy;

/* ---- engine hooks -------------------------------------------------------- */

/* ---- import hooks (the resolvers' steps) --------------------------------- */

/* Imports module `name` and returns it (not its top package). The fromlist
 * is not handed to importlib: its _handle_fromlist would read each name
 * through getattr, which resolves a placeholder bound under that name, and
 * for `from . import sub` in a package that placeholder is the very entry
 * being resolved. The importer takes each name itself (hook_get_attr,
 * falling back to the submodule), as IMPORT_FROM does. */
static uint32_t
hook_import_module(void *userdata, const char *name, const char *const *fromlist,
                   size_t fromlist_len, void **module_out, void **runtime_error_out)
{
    (void)userdata, (void)fromlist, (void)fromlist_len;
    PyObject *py_name = PyUnicode_FromString(name);
    if (py_name == NULL) {
        return lazy_bind_cpython_fail(runtime_error_out);
    }
    PyObject *module = PyImport_ImportModuleLevelObject(py_name, NULL, NULL, NULL, 0);
    if (module != NULL && strchr(name, '.') != NULL) {
        /* importlib returns the top package. */
        Py_DECREF(module);
        module = PyImport_GetModule(py_name);
        if (module == NULL && !PyErr_Occurred()) {
            PyErr_Format(PyExc_ModuleNotFoundError, "No module named %R", py_name);
        }
    }
    Py_DECREF(py_name);
    if (module == NULL) {
        return lazy_bind_cpython_fail(runtime_error_out);
    }
    *module_out = module;
    return LAZY_BIND_OK;
}

/* Whether `value` is a placeholder whose entry this thread is resolving
 * right now. */
static int
resolving_here(PyObject *value)
{
    if (!_PyLazyImport_CheckExact(value)) {
        return 0;
    }
    _PyLazyImportObject *placeholder = (_PyLazyImportObject *)value;
    lazy_bind_state state = LAZY_BIND_STATE_PENDING;
    uint64_t owner = 0;
    return placeholder->handle.stamp != 0 &&
           lazy_bind_peek(_PyLazyImports_engine, placeholder->handle, &state, NULL, &owner,
                          NULL) == LAZY_BIND_OK &&
           state == LAZY_BIND_STATE_RESOLVING && owner == lazy_bind_thread_key();
}

static uint32_t
hook_get_attr(void *userdata, void *module, const char *name, void **value_out,
              void **runtime_error_out)
{
    (void)userdata;
    PyObject *owner = (PyObject *)module;
    PyObject *py_name = PyUnicode_FromString(name);
    if (py_name == NULL) {
        return lazy_bind_cpython_fail(runtime_error_out);
    }
    if (PyModule_Check(owner)) {
        /* The raw dict value: another placeholder is handed back as it is
         * and the engine resolves it (so a cycle through it is detected). */
        PyObject *value = PyDict_GetItemWithError(PyModule_GetDict(owner), py_name);
        if (value != NULL) {
            /* `from . import sub` in package p binds p.sub to the entry
             * being resolved: that is no attribute yet, the importer falls
             * back to importing the submodule p.sub. */
            Py_DECREF(py_name);
            *value_out = resolving_here(value) ? NULL : Py_NewRef(value);
            return LAZY_BIND_OK;
        }
        if (PyErr_Occurred()) {
            Py_DECREF(py_name);
            return lazy_bind_cpython_fail(runtime_error_out);
        }
    }
    PyObject *value = NULL;
    int found = _PyObject_LookupAttr(owner, py_name, &value);
    Py_DECREF(py_name);
    if (found < 0) {
        return lazy_bind_cpython_fail(runtime_error_out);
    }
    *value_out = value;
    return LAZY_BIND_OK;
}

static bool
hook_as_lazy(void *userdata, void *value, lazy_bind_handle *handle_out)
{
    (void)userdata;
    PyObject *object = (PyObject *)value;
    if (!_PyLazyImport_CheckExact(object)) {
        return false;
    }
    _PyLazyImportObject *placeholder = (_PyLazyImportObject *)object;
    if (placeholder->handle.stamp == 0) {
        return false;
    }
    *handle_out = placeholder->handle;
    return true;
}

/* ---- errors -------------------------------------------------------------- */

/* Raises the Python exception for a failed lazy_bind_resolve. */
static void
raise_engine_error(lazy_bind_result status, const lazy_bind_error *error)
{
    lazy_bind_cpython_error_types types = {PyExc_ImportError, _PyLazyImports_CycleError,
                                           _PyLazyImports_DeadlockError};
    lazy_bind_cpython_raise_error(status, error, &types);
}

PyObject *
_PyLazyImports_ResolveHandle(_PyLazyImportObject *placeholder)
{
    /* The access site: the innermost complete frame of this thread. */
    PyThreadState *tstate = _PyThreadState_GET();
    _PyInterpreterFrame *frame = tstate->cframe->current_frame;
    while (frame != NULL && _PyFrame_IsIncomplete(frame)) {
        frame = frame->previous;
    }
    const char *file = NULL;
    unsigned int line = 0;
    if (frame != NULL) {
        file = PyUnicode_AsUTF8(frame->f_code->co_filename);
        if (file == NULL) {
            PyErr_Clear();
        }
        int number = _PyInterpreterFrame_GetLine(frame);
        line = number > 0 ? (unsigned int)number : 0;
    }
    void *value = NULL;
    lazy_bind_error *error = NULL;
    lazy_bind_result status = lazy_bind_resolve(_PyLazyImports_engine, placeholder->handle,
                                                file, line, &value, &error);
    if (status == LAZY_BIND_OK) {
        return Py_NewRef((PyObject *)value);
    }
    /* A resolver whose error the engine replaced (a nested cycle, say) may
     * have left its exception set: the engine's report wins. */
    PyErr_Clear();
    raise_engine_error(status, error);
    lazy_bind_error_free(&error);
    return NULL;
}

/* ---- eligibility: where in the code the import statement is --------------- */

/* This build's opcode numbers, for the shared glue's analysis. */
static const lazy_bind_cpython_opcodes opcodes = {
    .cache = CACHE,
    .extended_arg = EXTENDED_ARG,
    .import_name = IMPORT_NAME,
    .import_from = IMPORT_FROM,
    .store_name = STORE_NAME,
    .store_global = STORE_GLOBAL,
    .swap = SWAP,
    .pop_top = POP_TOP,
    .push_exc_info = PUSH_EXC_INFO,
    .with_except_start = WITH_EXCEPT_START,
    .jump_backward = JUMP_BACKWARD,
};

/* The IMPORT_NAME at `unit` of `code` (its context, line and what follows,
 * analysed once per code object by the shared glue), or NULL with an
 * exception set. */
static const lazy_bind_cpython_import_site *
import_site(PyCodeObject *code, long unit)
{
    const lazy_bind_cpython_import_site *site = NULL;
    int found = lazy_bind_cpython_import_site_at(code, unit, &opcodes, &site);
    if (found == 0) {
        PyErr_SetString(PyExc_SystemError, "lazy imports: no IMPORT_NAME at this instruction");
    }
    return found > 0 ? site : NULL;
}

/* ---- eligibility: names ---------------------------------------------------- */

/* The importer's package for a relative import (CPython's rule:
 * __package__, else __spec__.parent, else __name__ or its parent), as a new
 * reference, or NULL (no exception set) if there is none. */
static PyObject *
importer_package(PyObject *globals)
{
    PyObject *package = PyDict_GetItemWithError(globals, &_Py_ID(__package__));
    if (package != NULL && package != Py_None) {
        return PyUnicode_Check(package) ? Py_NewRef(package) : NULL;
    }
    PyObject *spec = PyDict_GetItemWithError(globals, &_Py_ID(__spec__));
    if (spec != NULL && spec != Py_None) {
        PyObject *parent = PyObject_GetAttr(spec, &_Py_ID(parent));
        if (parent != NULL && PyUnicode_Check(parent)) {
            return parent;
        }
        Py_XDECREF(parent);
        PyErr_Clear();
        return NULL;
    }
    PyObject *name = PyDict_GetItemWithError(globals, &_Py_ID(__name__));
    if (name == NULL || !PyUnicode_Check(name)) {
        PyErr_Clear();
        return NULL;
    }
    if (PyDict_GetItemWithError(globals, &_Py_ID(__path__)) != NULL) {
        return Py_NewRef(name);
    }
    PyErr_Clear();
    Py_ssize_t dot = PyUnicode_FindChar(name, '.', 0, PyUnicode_GET_LENGTH(name), -1);
    if (dot < 0) {
        PyErr_Clear();
        return PyUnicode_FromStringAndSize("", 0);
    }
    return PyUnicode_Substring(name, 0, dot);
}

/* The absolute target of the statement as a new reference, or NULL (no
 * exception set) when it cannot be computed here (eager import reports). */
static PyObject *
absolute_target(PyObject *globals, PyObject *name, int level)
{
    if (level == 0) {
        return Py_NewRef(name);
    }
    PyObject *package = importer_package(globals);
    if (package == NULL) {
        PyErr_Clear();
        return NULL;
    }
    const char *package_utf8 = PyUnicode_AsUTF8(package);
    const char *name_utf8 = PyUnicode_AsUTF8(name);
    char *absolute = NULL;
    PyObject *target = NULL;
    if (package_utf8 != NULL && name_utf8 != NULL &&
        lazy_bind_resolve_name(package_utf8, (uint32_t)level, name_utf8, &absolute, NULL) ==
            LAZY_BIND_OK)
    {
        target = PyUnicode_FromString(absolute);
    }
    lazy_bind_string_free(&absolute);
    Py_DECREF(package);
    PyErr_Clear();
    return target;
}

/* The top-level package of a dotted name (new reference). */
static PyObject *
top_package(PyObject *target)
{
    Py_ssize_t dot = PyUnicode_FindChar(target, '.', 0, PyUnicode_GET_LENGTH(target), 1);
    if (dot == -2) {
        return NULL;
    }
    return dot < 0 ? Py_NewRef(target) : PyUnicode_Substring(target, 0, dot);
}

/* Borrowed UTF-8 pointers to the names of a fromlist tuple (all str). */
typedef struct {
    const char *names[16];
    const char **items;
    size_t len;
} FromNames;

static int
from_names_init(FromNames *out, PyObject *fromlist)
{
    out->items = out->names;
    out->len = 0;
    if (fromlist == NULL || fromlist == Py_None) {
        return 0;
    }
    Py_ssize_t len = PyTuple_GET_SIZE(fromlist);
    if (len > 16) {
        out->items = PyMem_Malloc(sizeof(char *) * (size_t)len);
        if (out->items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        out->items[i] = PyUnicode_AsUTF8(PyTuple_GET_ITEM(fromlist, i));
        if (out->items[i] == NULL) {
            return -1;
        }
        out->len++;
    }
    return 0;
}

static void
from_names_clear(FromNames *names)
{
    if (names->items != names->names) {
        PyMem_Free(names->items);
    }
}

/* Asks the policy (recording the decision while tracing). Returns 1 to
 * defer, 0 for eager, -1 on error. */
static int
policy_decides(const char *importer, const char *target, PyObject *fromlist, uint32_t flags)
{
    FromNames names;
    if (from_names_init(&names, fromlist) < 0) {
        from_names_clear(&names);
        return -1;
    }
    bool defer = false;
    lazy_bind_result status;
    if (lazy.recorder == NULL) {
        status = lazy_bind_policy_decide(lazy.policy, importer, target, names.items, names.len,
                                         flags, &defer);
    }
    else {
        char *reason = NULL;
        status = lazy_bind_policy_explain(lazy.policy, importer, target, names.items, names.len,
                                          flags, &defer, &reason);
        if (status == LAZY_BIND_OK) {
            status = lazy_bind_recorder_record_policy_decision(lazy.recorder, importer, target,
                                                               defer, reason);
        }
        lazy_bind_string_free(&reason);
    }
    from_names_clear(&names);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_ImportError, "lazy_bind_policy_decide: %s",
                     lazy_bind_result_message(status));
        return -1;
    }
    return defer;
}

/* ---- the IMPORT_NAME and IMPORT_FROM hooks --------------------------------- */

/* `name` if it is in sys.modules and has finished running its body (a
 * borrowed reference), else NULL; never raises. */
static PyObject *
initialised_module(PyObject *name)
{
    PyObject *module = PyDict_GetItemWithError(PyImport_GetModuleDict(), name);
    if (module == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *spec = NULL, *initializing = NULL;
    int running = _PyObject_LookupAttr(module, &_Py_ID(__spec__), &spec) > 0 &&
                  _PyObject_LookupAttr(spec, &_Py_ID(_initializing), &initializing) > 0 &&
                  PyObject_IsTrue(initializing) != 0;
    Py_XDECREF(spec);
    Py_XDECREF(initializing);
    PyErr_Clear();
    return running ? NULL : module;
}

/* The import hooks' loaded_module: `name` if loaded and initialised (a new
 * reference), else NULL. */
static void *
hook_loaded_module(void *userdata, const char *name)
{
    (void)userdata;
    PyObject *py_name = PyUnicode_FromString(name);
    PyObject *module = py_name != NULL ? Py_XNewRef(initialised_module(py_name)) : NULL;
    Py_XDECREF(py_name);
    PyErr_Clear();
    return module;
}

/* The import hooks' can_find, with the interpreter's own importlib. */
static bool
hook_can_find(void *userdata, const char *name)
{
    (void)userdata;
    return lazy_bind_cpython_can_find(_PyInterpreterState_GET()->importlib, name);
}

/* Whether running the statement now runs no module body: `target` and each
 * package above it have been imported, and each name a from-import takes is
 * already a (non-lazy) attribute of `target`. A placeholder would then
 * defer nothing, only hide the value from code that reads the importer's
 * dict for identity (dataclasses looking up `ClassVar` there, say), so the
 * statement runs eagerly, as it does under the stock adaptor. For `import
 * a.b` whose `a` this namespace binds to a pending placeholder, no: the
 * statement joins that binding. */
static int
runs_no_body(PyObject *target, PyObject *fromlist, PyObject *globals)
{
    Py_ssize_t len = PyUnicode_GET_LENGTH(target);
    PyObject *module = NULL; /* borrowed from sys.modules */
    for (Py_ssize_t end = 0; end <= len; end++) {
        end = PyUnicode_FindChar(target, '.', end, len, 1);
        end = end < 0 ? len : end;
        PyObject *prefix = PyUnicode_Substring(target, 0, end);
        module = prefix != NULL ? initialised_module(prefix) : NULL;
        Py_XDECREF(prefix);
        if (module == NULL) {
            PyErr_Clear();
            return 0;
        }
    }
    if (fromlist == Py_None) {
        PyObject *top = top_package(target);
        PyObject *bound = top != NULL ? PyDict_GetItemWithError(globals, top) : NULL;
        Py_XDECREF(top);
        PyErr_Clear();
        return bound == NULL || !_PyLazyImport_CheckExact(bound);
    }
    if (!PyModule_Check(module)) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fromlist); i++) {
        PyObject *value =
            PyDict_GetItemWithError(PyModule_GetDict(module), PyTuple_GET_ITEM(fromlist, i));
        if (value == NULL || _PyLazyImport_CheckExact(value)) {
            PyErr_Clear();
            return 0;
        }
    }
    return 1;
}

/* Whether the statement's fromlist (None or a tuple) is deferrable: a tuple
 * of str without "*". */
static int
plain_fromlist(PyObject *fromlist)
{
    if (fromlist == Py_None) {
        return 1;
    }
    if (!PyTuple_CheckExact(fromlist) || PyTuple_GET_SIZE(fromlist) == 0) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fromlist); i++) {
        PyObject *item = PyTuple_GET_ITEM(fromlist, i);
        if (!PyUnicode_CheckExact(item) || _PyUnicode_EqualToASCIIString(item, "*")) {
            return 0;
        }
    }
    return 1;
}

/* Records `a.b`, `a.b.c` for a deferred statement on `a.b.c`. */
static int
add_pending_submodules(PyObject *target)
{
    Py_ssize_t len = PyUnicode_GET_LENGTH(target);
    Py_ssize_t dot = PyUnicode_FindChar(target, '.', 0, len, 1);
    while (dot >= 0) {
        Py_ssize_t next = PyUnicode_FindChar(target, '.', dot + 1, len, 1);
        if (next == -2) {
            return -1;
        }
        PyObject *prefix = PyUnicode_Substring(target, 0, next < 0 ? len : next);
        if (prefix == NULL || PySet_Add(lazy.pending_submodules, prefix) < 0) {
            Py_XDECREF(prefix);
            return -1;
        }
        Py_DECREF(prefix);
        dot = next;
    }
    return dot == -2 ? -1 : 0;
}

/* Whether the pending exception says module `full` does not exist: then
 * the attribute is simply missing (the exception is cleared). */
static int
missing_module(PyObject *full)
{
    if (!PyErr_ExceptionMatches(PyExc_ModuleNotFoundError)) {
        return 0;
    }
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    PyObject *name = value ? PyObject_GetAttrString(value, "name") : NULL;
    int missing = name != NULL && PyUnicode_Check(name) && PyUnicode_Compare(name, full) == 0;
    Py_XDECREF(name);
    if (missing) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
    }
    else {
        PyErr_Restore(type, value, traceback);
    }
    return missing;
}

PyObject *
_PyLazyImport_PendingSubmodule(PyObject *module, PyObject *name)
{
    if (lazy.pending_submodules == NULL || PySet_GET_SIZE(lazy.pending_submodules) == 0) {
        return NULL;
    }
    PyObject *module_name = PyDict_GetItemWithError(PyModule_GetDict(module),
                                                    &_Py_ID(__name__));
    if (module_name == NULL || !PyUnicode_Check(module_name)) {
        return NULL;
    }
    PyObject *full = PyUnicode_FromFormat("%U.%U", module_name, name);
    if (full == NULL) {
        return NULL;
    }
    /* Taken out first, so the lookup below cannot come back here; put
     * back if the import fails (the next access retries). */
    int pending = PySet_Discard(lazy.pending_submodules, full);
    PyObject *attr = NULL;
    if (pending == 1) {
        PyObject *top = PyImport_ImportModuleLevelObject(full, NULL, NULL, NULL, 0);
        if (top == NULL) {
            /* No such module: the attribute is simply missing. Any other
             * failure is raised, and the submodule stays pending. */
            if (!missing_module(full)) {
                PyObject *type, *value, *traceback;
                PyErr_Fetch(&type, &value, &traceback);
                if (PySet_Add(lazy.pending_submodules, full) < 0) {
                    PyErr_Clear();
                }
                PyErr_Restore(type, value, traceback);
            }
        }
        else {
            Py_DECREF(top);
            attr = PyObject_GetAttr(module, name);
            if (attr == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
                PyErr_Clear();
            }
        }
    }
    Py_DECREF(full);
    return attr;
}

/* A deferred statement of package P's own body that imports a submodule
 * `P.c...` (`from .c import x`, say): the eager statement would have bound
 * the submodule P.c as `c` in P's namespace, a side effect that code relies
 * on (`del c` after it, or `c.x` without importing it). Binds a placeholder
 * for the module P.c under `c` in `globals`, unless P.c is imported already
 * (importlib binds a submodule only when it loads it) or `c` holds such a
 * placeholder already, and records P.c in lazy.bound_submodules. Returns 0,
 * or -1 with an exception set. */
static int
bind_own_submodule(PyObject *globals, PyObject *importer, PyObject *target, PyObject *file,
                   int line, uint64_t ns)
{
    Py_ssize_t prefix = PyUnicode_GET_LENGTH(importer);
    Py_ssize_t len = PyUnicode_GET_LENGTH(target);
    if (len <= prefix + 1 || PyUnicode_Tailmatch(target, importer, 0, prefix, -1) != 1 ||
        PyUnicode_READ_CHAR(target, prefix) != '.')
    {
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_ssize_t end = PyUnicode_FindChar(target, '.', prefix + 1, len, 1);
    if (end == -2) {
        return -1;
    }
    PyObject *full = PyUnicode_Substring(target, 0, end < 0 ? len : end);
    PyObject *child = PyUnicode_Substring(target, prefix + 1, end < 0 ? len : end);
    int status = full == NULL || child == NULL ? -1 : 0;
    PyObject *loaded = status == 0 ? PyDict_GetItemWithError(PyImport_GetModuleDict(), full)
                                   : NULL;
    PyObject *bound = status == 0 && loaded == NULL && !PyErr_Occurred()
                          ? PyDict_GetItemWithError(globals, child)
                          : NULL;
    if (PyErr_Occurred()) {
        status = -1;
    }
    else if (status == 0 && loaded == NULL &&
             !(bound != NULL && _PyLazyImport_CheckExact(bound) &&
               PyUnicode_Compare(((_PyLazyImportObject *)bound)->name, full) == 0))
    {
        const char *importer_utf8 = PyUnicode_AsUTF8(importer);
        const char *full_utf8 = PyUnicode_AsUTF8(full);
        const char *child_utf8 = PyUnicode_AsUTF8(child);
        const char *file_utf8 = PyUnicode_AsUTF8(file);
        lazy_bind_handle handle;
        char *message = NULL;
        lazy_bind_result result =
            importer_utf8 == NULL || full_utf8 == NULL || child_utf8 == NULL || file_utf8 == NULL
                ? LAZY_BIND_INVALID_ARGUMENT
                : lazy_bind_importer_defer_import_as(lazy.importer, ns, importer_utf8, full_utf8,
                                                     child_utf8, file_utf8,
                                                     (uint32_t)(line > 0 ? line : 0), &handle,
                                                     &message);
        PyObject *placeholder = NULL;
        if (result == LAZY_BIND_OK) {
            placeholder = _PyLazyImport_New(handle, full_utf8, file, line);
        }
        else if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_ImportError, "lazy_bind_importer_defer_import_as: %s",
                         message ? message : lazy_bind_result_message(result));
        }
        lazy_bind_string_free(&message);
        status = placeholder != NULL && PyDict_SetItem(globals, child, placeholder) == 0 &&
                         PySet_Add(lazy.bound_submodules, full) == 0
                     ? 0
                     : -1;
        Py_XDECREF(placeholder);
    }
    Py_XDECREF(full);
    Py_XDECREF(child);
    return status;
}

PyObject *
_PyLazyImport_ImpPending(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_lazy_import_pending() takes 2 arguments");
        return NULL;
    }
    PyObject *parent = args[0], *name = args[1];
    if (!PyModule_Check(parent) || !PyUnicode_Check(name)) {
        Py_RETURN_FALSE;
    }
    PyObject *dict = PyModule_GetDict(parent);
    PyObject *value = PyDict_GetItemWithError(dict, name);
    if (value == NULL && PyErr_Occurred()) {
        return NULL;
    }
    int bound_here = 0;
    PyObject *parent_name = PyDict_GetItemWithError(dict, &_Py_ID(__name__));
    if (lazy.bound_submodules != NULL && PySet_GET_SIZE(lazy.bound_submodules) > 0 &&
        parent_name != NULL && PyUnicode_Check(parent_name))
    {
        PyObject *full = PyUnicode_FromFormat("%U.%U", parent_name, name);
        bound_here = full == NULL ? -1 : PySet_Contains(lazy.bound_submodules, full);
        if (bound_here == 1 && value != NULL && _PyLazyImport_CheckExact(value)) {
            /* Still the placeholder bind_own_submodule made (or another
             * one for the same module): the submodule replaces it. */
            bound_here = PyUnicode_Compare(((_PyLazyImportObject *)value)->name, full) == 0
                             ? 2
                             : 1;
        }
        Py_XDECREF(full);
    }
    if (bound_here < 0 || PyErr_Occurred()) {
        return NULL;
    }
    if (bound_here == 1) {
        /* The package's body rebound or deleted the name since. */
        Py_RETURN_TRUE;
    }
    return PyBool_FromLong(bound_here == 0 && value != NULL && _PyLazyImport_CheckExact(value));
}

/* The import hooks' set_attr_if_absent: the shared one, except for a
 * submodule in lazy.bound_submodules, whose binding on its parent importlib
 * decided already (see _PyLazyImport_ImpPending). */
static uint32_t
bound_submodule_set_attr(void *userdata, void *module, const char *name, void *value,
                         void **runtime_error_out)
{
    PyObject *parent = (PyObject *)module;
    if (PyModule_Check(parent) && lazy.bound_submodules != NULL &&
        PySet_GET_SIZE(lazy.bound_submodules) > 0)
    {
        PyObject *parent_name =
            PyDict_GetItemWithError(PyModule_GetDict(parent), &_Py_ID(__name__));
        PyObject *full = parent_name != NULL && PyUnicode_Check(parent_name)
                             ? PyUnicode_FromFormat("%U.%s", parent_name, name)
                             : NULL;
        int bound = full != NULL ? PySet_Contains(lazy.bound_submodules, full) : 0;
        Py_XDECREF(full);
        if (bound != 0 || PyErr_Occurred()) {
            return bound < 0 || PyErr_Occurred() ? lazy_bind_cpython_fail(runtime_error_out)
                                                 : LAZY_BIND_OK;
        }
    }
    return lazy_bind_cpython_set_attr_if_absent(userdata, module, name, value,
                                                runtime_error_out);
}

/* Binds the deferred statement whose IMPORT_NAME is `site` of `code`: a
 * placeholder for `import a.b.c` (bound to `a`), or a statement placeholder
 * for the IMPORT_FROMs that follow. */
static PyObject *
defer_statement(PyCodeObject *code, const lazy_bind_cpython_import_site *site,
                PyObject *globals, PyObject *importer, PyObject *target, PyObject *fromlist)
{
    int line = site->line;
    uint64_t ns = (uint64_t)(uintptr_t)globals;
    if (add_pending_submodules(target) < 0 ||
        bind_own_submodule(globals, importer, target, code->co_filename, line, ns) < 0)
    {
        return NULL;
    }
    if (fromlist != Py_None) {
        return _PyLazyImport_NewStatement(target, NULL, NULL, importer, code->co_filename, line,
                                          ns);
    }
    /* `import a.b as c`: IMPORT_FROM steps (a `from` import has a fromlist
     * instead). */
    if (site->steps > 0) {
        PyObject *top = top_package(target);
        if (top == NULL) {
            return NULL;
        }
        PyObject *alias = site->store_name >= 0
                              ? PyTuple_GET_ITEM(code->co_names, site->store_name)
                              : NULL;
        PyObject *step = _PyLazyImport_NewStatement(top, target, alias, importer,
                                                    code->co_filename, line, ns);
        Py_DECREF(top);
        return step;
    }
    const char *importer_utf8 = PyUnicode_AsUTF8(importer);
    const char *target_utf8 = PyUnicode_AsUTF8(target);
    const char *file = PyUnicode_AsUTF8(code->co_filename);
    if (importer_utf8 == NULL || target_utf8 == NULL || file == NULL) {
        return NULL;
    }
    lazy_bind_handle handle;
    char *message = NULL;
    lazy_bind_result status = lazy_bind_importer_defer_import(
        lazy.importer, ns, importer_utf8, target_utf8, file, (uint32_t)(line > 0 ? line : 0),
        &handle, &message);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_ImportError, "lazy_bind_importer_defer_import: %s",
                     message ? message : lazy_bind_result_message(status));
        lazy_bind_string_free(&message);
        return NULL;
    }
    return _PyLazyImport_New(handle, target_utf8, code->co_filename, line);
}

/* 1 if a deferral of `target` may go ahead, 0 if it must be imported now
 * (a guarded import runs and `target` cannot be found: its
 * ModuleNotFoundError must reach the guard), -1 on error. */
static int
missing_under_guard(const char *target)
{
    bool missing = false;
    lazy_bind_result status =
        lazy_bind_importer_missing_under_guard(lazy.importer, target, &missing);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_ImportError, "lazy_bind_importer_missing_under_guard: %s",
                     lazy_bind_result_message(status));
        return -1;
    }
    return missing ? 0 : 1;
}

void
_PyLazyImport_LeaveGuarded(void)
{
    /* Balanced with the enter in _PyLazyImport_Defer on this thread, so it
     * cannot fail. */
    (void)!lazy_bind_guarded_import_leave();
}

int
_PyLazyImport_Defer(PyThreadState *tstate, _PyInterpreterFrame *frame, PyObject *name,
                    PyObject *fromlist, PyObject *level, PyObject **result)
{
    if (lazy.mode == LAZY_BIND_MODE_NONE || lazy.importer == NULL ||
        !_Py_IsMainInterpreter(tstate->interp))
    {
        return 0;
    }
    PyObject *globals = frame->f_globals;
    PyCodeObject *code = frame->f_code;
    /* Module level: the frame's locals are its globals, and it is not a
     * function (class bodies have locals of their own). */
    if (frame->f_locals != globals || !PyDict_CheckExact(globals) ||
        (code->co_flags & (CO_OPTIMIZED | CO_NEWLOCALS)) || !plain_fromlist(fromlist))
    {
        return 0;
    }
    /* Mode normal with no policy rules defers only what __lazy_modules__
     * names: without one, nothing more to look at. */
    PyObject *lazy_modules = PyDict_GetItemWithError(globals, lazy.lazy_modules_str);
    if (lazy_modules == NULL && (PyErr_Occurred() || (lazy.mode == LAZY_BIND_MODE_NORMAL &&
                                                       !lazy.policy_file)))
    {
        PyErr_Clear();
        return 0;
    }
    /* An overridden builtins.__import__ sees every import, eagerly. */
    PyObject *import_func = PyDict_GetItemWithError(frame->f_builtins, &_Py_ID(__import__));
    PyObject *importer = PyDict_GetItemWithError(globals, &_Py_ID(__name__));
    int ilevel = _PyLong_AsInt(level);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (import_func != tstate->interp->import_func || importer == NULL ||
        !PyUnicode_Check(importer) || ilevel < 0 ||
        (ilevel == 0 && _PyUnicode_EqualToASCIIString(name, "__future__")))
    {
        return 0;
    }
    /* Computing a relative target may run Python code (__spec__.parent):
     * hold what was borrowed from the namespace. */
    Py_INCREF(importer);
    Py_XINCREF(lazy_modules);
    int deferred = 0;
    PyObject *target = absolute_target(globals, name, ilevel);
    int marked = target != NULL && lazy_bind_cpython_named_lazy(lazy_modules, target);
    if (target != NULL && (marked || lazy.mode == LAZY_BIND_MODE_ALL || lazy.policy_file) &&
        !runs_no_body(target, fromlist, globals))
    {
        long unit = (long)_PyInterpreterFrame_LASTI(frame);
        const lazy_bind_cpython_import_site *site = import_site(code, unit);
        uint32_t flags = site == NULL ? 0 : site->flags;
        if (marked) {
            flags |= LAZY_BIND_CONTEXT_MARKED_LAZY;
        }
        const char *importer_utf8 = PyUnicode_AsUTF8(importer);
        const char *target_utf8 = PyUnicode_AsUTF8(target);
        deferred = site == NULL || importer_utf8 == NULL || target_utf8 == NULL
                       ? -1
                       : policy_decides(importer_utf8, target_utf8, fromlist, flags);
        if (deferred > 0) {
            deferred = missing_under_guard(target_utf8);
        }
        if (deferred > 0) {
            *result = defer_statement(code, site, globals, importer, target, fromlist);
            deferred = *result == NULL ? -1 : 1;
        }
        else if (deferred == 0 && (site->flags & LAZY_BIND_CONTEXT_IN_TRY)) {
            deferred = lazy_bind_guarded_import_enter() == LAZY_BIND_OK ? 2 : -1;
            if (deferred < 0) {
                PyErr_SetString(PyExc_SystemError, "lazy_bind_guarded_import_enter failed");
            }
        }
    }
    Py_XDECREF(target);
    Py_XDECREF(lazy_modules);
    Py_DECREF(importer);
    return deferred;
}

PyObject *
_PyLazyImports_DeferModuleAs(_PyLazyImportObject *statement)
{
    const char *importer = PyUnicode_AsUTF8(statement->importer);
    const char *module = PyUnicode_AsUTF8(statement->full);
    const char *alias = PyUnicode_AsUTF8(statement->alias);
    const char *file = PyUnicode_AsUTF8(statement->file);
    if (importer == NULL || module == NULL || alias == NULL || file == NULL) {
        return NULL;
    }
    lazy_bind_handle handle;
    char *message = NULL;
    lazy_bind_result status = lazy_bind_importer_defer_import_as(
        lazy.importer, statement->ns, importer, module, alias, file,
        (uint32_t)(statement->line > 0 ? statement->line : 0), &handle, &message);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_ImportError, "lazy_bind_importer_defer_import_as: %s",
                     message ? message : lazy_bind_result_message(status));
        lazy_bind_string_free(&message);
        return NULL;
    }
    return _PyLazyImport_New(handle, module, statement->file, statement->line);
}

PyObject *
_PyLazyImports_DeferAttribute(_PyLazyImportObject *statement, PyObject *name)
{
    const char *importer = PyUnicode_AsUTF8(statement->importer);
    const char *module = PyUnicode_AsUTF8(statement->module);
    const char *attribute = PyUnicode_AsUTF8(name);
    const char *file = PyUnicode_AsUTF8(statement->file);
    if (importer == NULL || module == NULL || attribute == NULL || file == NULL) {
        return NULL;
    }
    const char *names[1] = {attribute};
    lazy_bind_handle handle;
    char *message = NULL;
    lazy_bind_result status = lazy_bind_importer_defer_from(
        lazy.importer, statement->ns, importer, NULL, 0, module, names, NULL, 1, file,
        (uint32_t)(statement->line > 0 ? statement->line : 0), &handle, &message);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_ImportError, "lazy_bind_importer_defer_from: %s",
                     message ? message : lazy_bind_result_message(status));
        lazy_bind_string_free(&message);
        return NULL;
    }
    PyObject *entry_name = PyUnicode_FromFormat("%U.%U", statement->module, name);
    if (entry_name == NULL) {
        return NULL;
    }
    const char *entry_utf8 = PyUnicode_AsUTF8(entry_name);
    PyObject *placeholder =
        entry_utf8 ? _PyLazyImport_New(handle, entry_utf8, statement->file, statement->line)
                   : NULL;
    Py_DECREF(entry_name);
    return placeholder;
}

/* ---- modes and the sys functions ------------------------------------------ */

static const char *const mode_names[] = {"none", "normal", "all"};

/* The lazy_bind_mode named `text`, or -1. */
static int
parse_mode(const char *text)
{
    for (int mode = 0; mode < 3; mode++) {
        if (strcmp(text, mode_names[mode]) == 0) {
            return mode;
        }
    }
    return -1;
}

static int
need_main_interpreter(void)
{
    if (lazy.policy == NULL || !_Py_IsMainInterpreter(_PyInterpreterState_GET())) {
        PyErr_SetString(PyExc_RuntimeError,
                        "lazy imports are available in the main interpreter only");
        return -1;
    }
    return 0;
}

static int
set_mode(uint32_t mode)
{
    lazy_bind_result status = lazy_bind_policy_set_mode(lazy.policy, mode);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_RuntimeError, "lazy_bind_policy_set_mode: %s",
                     lazy_bind_result_message(status));
        return -1;
    }
    lazy.mode = mode;
    return 0;
}

static PyObject *
sys_set_lazy_imports(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "set_lazy_imports() expects a str, not %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    const char *text = PyUnicode_AsUTF8(arg);
    if (text == NULL) {
        return NULL;
    }
    int mode = parse_mode(text);
    if (mode < 0) {
        PyErr_Format(PyExc_ValueError,
                     "invalid lazy imports mode %R (expected 'all', 'normal' or 'none')", arg);
        return NULL;
    }
    if (need_main_interpreter() < 0 || set_mode((uint32_t)mode) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
sys_get_lazy_imports(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    uint32_t mode = lazy.policy != NULL && _Py_IsMainInterpreter(_PyInterpreterState_GET())
                        ? lazy.mode
                        : LAZY_BIND_MODE_NONE;
    return PyUnicode_FromString(mode_names[mode]);
}

/* The policy's filter: the Python callable `userdata` gets
 * (importer, target, fromlist), fromlist None for a plain import (PEP 810). */
static bool
filter_trampoline(void *userdata, const char *importer, const char *target,
                  const char *const *fromlist, size_t fromlist_len)
{
    return lazy_bind_cpython_call_filter((PyObject *)userdata, importer, target, fromlist,
                                         fromlist_len, true);
}

static PyObject *
sys_set_lazy_imports_filter(PyObject *self, PyObject *callable)
{
    (void)self;
    if (callable != Py_None && !PyCallable_Check(callable)) {
        PyErr_SetString(PyExc_TypeError, "the lazy imports filter must be callable or None");
        return NULL;
    }
    if (need_main_interpreter() < 0) {
        return NULL;
    }
    lazy_bind_result status =
        callable == Py_None ? lazy_bind_policy_set_filter(lazy.policy, NULL, NULL)
                            : lazy_bind_policy_set_filter(lazy.policy, filter_trampoline, callable);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_RuntimeError, "lazy_bind_policy_set_filter: %s",
                     lazy_bind_result_message(status));
        return NULL;
    }
    /* Every decision runs with the GIL held, as this call does: none can
     * still be using the old callable, so it may go now. */
    Py_XSETREF(lazy.filter, callable == Py_None ? NULL : Py_NewRef(callable));
    Py_RETURN_NONE;
}

static PyObject *
sys_get_lazy_imports_filter(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    return Py_NewRef(lazy.filter != NULL ? lazy.filter : Py_None);
}

/* sys.__getattr__ (PEP 562): `sys.lazy_modules`, CPython 3.15's set of
 * the modules lazily imported and not loaded yet, made on each access. */
static PyObject *
sys_getattr(PyObject *self, PyObject *name)
{
    (void)self;
    if (PyUnicode_Check(name) && _PyUnicode_EqualToASCIIString(name, "lazy_modules")) {
        const lazy_bind_importer *importer =
            _Py_IsMainInterpreter(_PyInterpreterState_GET()) ? lazy.importer : NULL;
        return lazy_bind_cpython_lazy_modules(importer, PyExc_RuntimeError);
    }
    PyErr_Format(PyExc_AttributeError, "module 'sys' has no attribute %R", name);
    return NULL;
}

static PyMethodDef sys_functions[] = {
    {"set_lazy_imports", sys_set_lazy_imports, METH_O,
     PyDoc_STR("set_lazy_imports(mode, /)\n--\n\n"
               "Set the lazy imports mode: 'all' (every eligible module-level import is\n"
               "deferred), 'normal' (only imports named in the importer's\n"
               "__lazy_modules__) or 'none'. Overrides -X lazy_imports and\n"
               "PYTHON_LAZY_IMPORTS; affects imports executed from now on.")},
    {"get_lazy_imports", sys_get_lazy_imports, METH_NOARGS,
     PyDoc_STR("get_lazy_imports()\n--\n\nReturn the lazy imports mode: 'all', 'normal' or "
               "'none'.")},
    {"set_lazy_imports_filter", sys_set_lazy_imports_filter, METH_O,
     PyDoc_STR("set_lazy_imports_filter(filter, /)\n--\n\n"
               "Install filter(importer, target, fromlist) -> bool, asked about every\n"
               "import that would be deferred; False makes it eager. None removes it.")},
    {"get_lazy_imports_filter", sys_get_lazy_imports_filter, METH_NOARGS,
     PyDoc_STR("get_lazy_imports_filter()\n--\n\nReturn the filter, or None.")},
    {"__getattr__", sys_getattr, METH_O,
     PyDoc_STR("__getattr__(name, /)\n--\n\n"
               "sys.lazy_modules: the set of the modules lazily imported and not\n"
               "loaded yet (PEP 810), made on each access.")},
    {NULL, NULL, 0, NULL},
};

static int
add_sys_functions(PyInterpreterState *interp)
{
    PyObject *module_name = PyUnicode_FromString("sys");
    if (module_name == NULL) {
        return -1;
    }
    for (PyMethodDef *def = sys_functions; def->ml_name != NULL; def++) {
        PyObject *function = PyCFunction_NewEx(def, NULL, module_name);
        int failed = function == NULL ||
                     PyDict_SetItemString(interp->sysdict, def->ml_name, function) < 0;
        Py_XDECREF(function);
        if (failed) {
            Py_DECREF(module_name);
            return -1;
        }
    }
    Py_DECREF(module_name);
    return 0;
}

/* ---- _lazy_imports helpers ------------------------------------------------- */

PyObject *
_PyLazyImports_Explain(const char *importer, const char *target, PyObject *fromlist)
{
    if (need_main_interpreter() < 0) {
        return NULL;
    }
    /* Mode normal: the importer's __lazy_modules__ marks the import. */
    uint32_t flags = 0;
    PyObject *py_importer = PyUnicode_FromString(importer);
    PyObject *py_target = PyUnicode_FromString(target);
    PyObject *module = py_importer ? PyImport_GetModule(py_importer) : NULL;
    if (module != NULL && PyModule_Check(module)) {
        PyObject *lazy_modules =
            PyDict_GetItemWithError(PyModule_GetDict(module), lazy.lazy_modules_str);
        if (py_target != NULL && lazy_bind_cpython_named_lazy(lazy_modules, py_target)) {
            flags |= LAZY_BIND_CONTEXT_MARKED_LAZY;
        }
    }
    Py_XDECREF(module);
    Py_XDECREF(py_importer);
    Py_XDECREF(py_target);
    PyErr_Clear();
    FromNames names;
    if (from_names_init(&names, fromlist) < 0) {
        from_names_clear(&names);
        return NULL;
    }
    bool defer = false;
    char *sentence = NULL;
    lazy_bind_result status = lazy_bind_policy_explain(lazy.policy, importer, target, names.items,
                                                       names.len, flags, &defer, &sentence);
    from_names_clear(&names);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_ValueError, "lazy_bind_policy_explain: %s",
                     lazy_bind_result_message(status));
        return NULL;
    }
    PyObject *text = PyUnicode_FromString(sentence);
    lazy_bind_string_free(&sentence);
    return text;
}

PyObject *
_PyLazyImports_NeverResolved(void)
{
    if (_PyLazyImports_engine == NULL) {
        return PyList_New(0);
    }
    char *report = NULL;
    lazy_bind_result status = lazy_bind_never_resolved_report(_PyLazyImports_engine, &report);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_RuntimeError, "lazy_bind_never_resolved_report: %s",
                     lazy_bind_result_message(status));
        return NULL;
    }
    PyObject *text = PyUnicode_FromString(report);
    lazy_bind_string_free(&report);
    if (text == NULL) {
        return NULL;
    }
    PyObject *lines = PyUnicode_Splitlines(text, 0);
    Py_DECREF(text);
    return lines;
}

PyObject *
_PyLazyImports_Counters(void)
{
    return lazy_bind_cpython_counters(_PyLazyImports_engine, PyExc_RuntimeError);
}

/* ---- start-up, exit and fork ------------------------------------------------ */

/* The value of -X `key`=VALUE as a new UTF-8 string (PyMem_RawFree), "" for
 * a bare -X `key`, NULL when absent; the last occurrence wins. */
static char *
xoption(const PyConfig *config, const wchar_t *key)
{
    char *found = NULL;
    size_t key_len = wcslen(key);
    for (Py_ssize_t i = 0; i < config->xoptions.length; i++) {
        const wchar_t *option = config->xoptions.items[i];
        if (wcsncmp(option, key, key_len) != 0 ||
            (option[key_len] != L'=' && option[key_len] != L'\0'))
        {
            continue;
        }
        const wchar_t *value = option[key_len] == L'=' ? option + key_len + 1 : L"";
        char *utf8 = NULL;
        if (_Py_EncodeUTF8Ex(value, &utf8, NULL, NULL, 1, _Py_ERROR_SURROGATEESCAPE) == 0) {
            PyMem_RawFree(found);
            found = utf8;
        }
    }
    return found;
}

/* Whether the built-in opt-outs apply: not with -X lazy_imports_defaults=0
 * or PYTHON_LAZY_IMPORTS_DEFAULTS=0 (the environment only without -E). */
static int
defaults_wanted(const PyConfig *config)
{
    char *option = xoption(config, L"lazy_imports_defaults");
    const char *env = config->use_environment ? getenv("PYTHON_LAZY_IMPORTS_DEFAULTS") : NULL;
    const char *value = option != NULL ? option : env;
    int wanted = value == NULL || strcmp(value, "0") != 0;
    PyMem_RawFree(option);
    return wanted;
}

/* At finalisation: the Chrome trace (-X lazy_imports_trace) and the
 * never-resolved report (-X lazy_imports_report), if asked for. */
static void
write_reports(void)
{
    if (lazy.recorder != NULL && lazy.trace_path != NULL &&
        lazy_bind_write_chrome_trace(lazy.recorder, lazy.trace_path) != LAZY_BIND_OK)
    {
        fprintf(stderr, "lazy imports: cannot write the trace to %s\n", lazy.trace_path);
    }
    if (lazy.report && _PyLazyImports_engine != NULL) {
        char *report = NULL;
        if (lazy_bind_never_resolved_report(_PyLazyImports_engine, &report) == LAZY_BIND_OK) {
            size_t count = 0;
            for (const char *p = report; *p; p++) {
                count += *p == '\n';
            }
            fprintf(stderr, "lazy imports never resolved: %zu\n%s", count, report);
            lazy_bind_string_free(&report);
        }
    }
}

static PyStatus
init_error(const char *what, lazy_bind_result status)
{
    static char message[256];
    snprintf(message, sizeof(message), "lazy imports: %s: %s", what,
             lazy_bind_result_message(status));
    return _PyStatus_ERR(message);
}

/* Creates the engine (once per process), and for this interpreter the
 * importer and policy, and applies the configuration: -X lazy_imports >
 * PYTHON_LAZY_IMPORTS > the policy's own `mode` line > normal. */
static PyStatus
init_main(const PyConfig *config)
{
    lazy_bind_result status;
    if (_PyLazyImports_engine == NULL) {
        lazy_bind_runtime_hooks hooks = lazy_bind_cpython_hooks();
        status = lazy_bind_engine_new(&hooks, 0, &_PyLazyImports_engine);
        if (status != LAZY_BIND_OK) {
            return init_error("lazy_bind_engine_new", status);
        }
    }
    lazy_bind_import_hooks import_hooks = {
        .size = sizeof(lazy_bind_import_hooks),
        .import_module = hook_import_module,
        .get_attr = hook_get_attr,
        .set_attr_if_absent = bound_submodule_set_attr,
        .loaded_module = hook_loaded_module,
        .can_find = hook_can_find,
        .as_lazy = hook_as_lazy,
    };
    status = lazy_bind_importer_new(_PyLazyImports_engine, &import_hooks, &lazy.importer);
    if (status != LAZY_BIND_OK) {
        return init_error("lazy_bind_importer_new", status);
    }
    char *message = NULL;
    bool policy_set = false;
    if (config->use_environment) {
        status = lazy_bind_policy_from_env(&lazy.policy, &policy_set, &message);
    }
    else {
        status = lazy_bind_policy_parse("", &lazy.policy, &message);
    }
    if (status != LAZY_BIND_OK) {
        static char text[512];
        /* lazy_bind's message names the variable (and file, line, column). */
        snprintf(text, sizeof(text), "lazy imports: %s",
                 message ? message : lazy_bind_result_message(status));
        lazy_bind_string_free(&message);
        return _PyStatus_ERR(text);
    }
    lazy.policy_file = policy_set;
    if (defaults_wanted(config)) {
        /* lazy_bind's built-in opt-outs, with those that only a runtime
         * deferring `from` imports needs. */
        status = lazy_bind_policy_add_builtin_rules(lazy.policy, LAZY_BIND_BUILTIN_LAZY_FROM);
        if (status != LAZY_BIND_OK) {
            return init_error("lazy_bind_policy_add_builtin_rules", status);
        }
    }
    uint32_t mode = LAZY_BIND_MODE_NORMAL;
    status = lazy_bind_policy_mode(lazy.policy, &mode);
    if (status != LAZY_BIND_OK) {
        return init_error("lazy_bind_policy_mode", status);
    }
    char *chosen = xoption(config, L"lazy_imports");
    const char *env = config->use_environment ? getenv("PYTHON_LAZY_IMPORTS") : NULL;
    const char *text = chosen != NULL ? chosen : (env != NULL && *env ? env : NULL);
    if (text != NULL) {
        int parsed = parse_mode(text);
        if (parsed < 0) {
            static char invalid[256];
            snprintf(invalid, sizeof(invalid),
                     "lazy imports: %s: invalid mode '%.100s' (expected all, normal or none)",
                     chosen != NULL ? "-X lazy_imports" : "PYTHON_LAZY_IMPORTS", text);
            PyMem_RawFree(chosen);
            return _PyStatus_ERR(invalid);
        }
        mode = (uint32_t)parsed;
    }
    PyMem_RawFree(chosen);
    status = lazy_bind_policy_set_mode(lazy.policy, mode);
    if (status != LAZY_BIND_OK) {
        return init_error("lazy_bind_policy_set_mode", status);
    }
    lazy.mode = mode;

    lazy.trace_path = xoption(config, L"lazy_imports_trace");
    char *report = xoption(config, L"lazy_imports_report");
    const char *report_env = config->use_environment ? getenv("PYTHON_LAZY_IMPORTS_REPORT")
                                                     : NULL;
    lazy.report = report != NULL || (report_env != NULL && *report_env && strcmp(report_env, "0"));
    PyMem_RawFree(report);
    if (lazy.trace_path != NULL) {
        if (*lazy.trace_path == '\0') {
            return _PyStatus_ERR("lazy imports: -X lazy_imports_trace needs a file name");
        }
        status = lazy_bind_recorder_new((size_t)1 << 20, &lazy.recorder);
        if (status == LAZY_BIND_OK) {
            status = lazy_bind_engine_set_recorder(_PyLazyImports_engine, lazy.recorder);
        }
        if (status != LAZY_BIND_OK) {
            return init_error("lazy_bind_recorder_new", status);
        }
    }
    return _PyStatus_OK();
}

PyStatus
_PyLazyImports_Init(PyThreadState *tstate)
{
    if (PyType_Ready(&_PyLazyImport_Type) < 0) {
        return _PyStatus_ERR("lazy imports: cannot ready the placeholder type");
    }
    if (lazy.lazy_modules_str == NULL) {
        lazy.lazy_modules_str = PyUnicode_InternFromString("__lazy_modules__");
        lazy.pending_submodules = PySet_New(NULL);
        lazy.bound_submodules = PySet_New(NULL);
        _PyLazyImports_CycleError = PyErr_NewExceptionWithDoc(
            "_lazy_imports.LazyImportCycleError",
            "Resolving a lazy import needed itself on the same thread; the message\n"
            "and `chain` ((name, file, line, thread) links) name the whole cycle.",
            PyExc_ImportError, NULL);
        _PyLazyImports_DeadlockError = PyErr_NewExceptionWithDoc(
            "_lazy_imports.LazyImportDeadlockError",
            "Threads resolving lazy imports waited for each other; the message and\n"
            "`chain` ((name, file, line, thread) links) name both chains.",
            PyExc_ImportError, NULL);
        if (lazy.lazy_modules_str == NULL || lazy.pending_submodules == NULL ||
            lazy.bound_submodules == NULL ||
            _PyLazyImports_CycleError == NULL ||
            _PyLazyImports_DeadlockError == NULL)
        {
            return _PyStatus_ERR("lazy imports: cannot create the exceptions");
        }
    }
    if (add_sys_functions(tstate->interp) < 0) {
        return _PyStatus_ERR("lazy imports: cannot add the sys functions");
    }
    if (!_Py_IsMainInterpreter(tstate->interp)) {
        return _PyStatus_OK();
    }
    /* Waits on importlib's module locks go into the engine's wait-for
     * graph (the class keeps the exception type it raises). */
    PyObject *lock_deadlock = lazy_bind_cpython_mirror_module_locks(
        _PyLazyImports_DeadlockError, "_lazy_imports.ModuleLockDeadlockError");
    if (lock_deadlock == NULL) {
        return _PyStatus_ERR("lazy imports: cannot mirror importlib's module locks");
    }
    Py_DECREF(lock_deadlock);
    if (lazy_bind_version() != LAZY_BIND_VERSION) {
        return _PyStatus_ERR("lazy imports: lazy_bind header/library version mismatch");
    }
    return init_main(_PyInterpreterState_GetConfig(tstate->interp));
}

void
_PyLazyImports_Fini(PyThreadState *tstate)
{
    if (!_Py_IsMainInterpreter(tstate->interp) || lazy.importer == NULL) {
        return;
    }
    write_reports();
    /* From here on every import is eager; placeholders still reachable
     * (module teardown) resolve through the engine as before. */
    lazy.mode = LAZY_BIND_MODE_NONE;
    if (lazy.recorder != NULL &&
        lazy_bind_engine_set_recorder(_PyLazyImports_engine, NULL) == LAZY_BIND_OK)
    {
        lazy_bind_recorder_free(&lazy.recorder);
    }
    lazy.recorder = NULL;
    PyMem_RawFree(lazy.trace_path);
    lazy.trace_path = NULL;
    lazy.report = 0;
    lazy_bind_policy_free(&lazy.policy);
    Py_CLEAR(lazy.filter);
    lazy_bind_importer_free(&lazy.importer);
    /* The objects and the code-extra slot belong to this interpreter; a
     * later Py_Initialize makes its own. The engine stays for the process:
     * a daemon thread may still be waiting inside it, and the values its
     * entries hold are never released (they are this interpreter's). */
    Py_CLEAR(lazy.lazy_modules_str);
    Py_CLEAR(lazy.pending_submodules);
    Py_CLEAR(lazy.bound_submodules);
    Py_CLEAR(_PyLazyImports_CycleError);
    Py_CLEAR(_PyLazyImports_DeadlockError);
    lazy_bind_cpython_forget_code_extra();
}

void
_PyLazyImports_AfterForkChild(void)
{
    if (_PyLazyImports_engine == NULL) {
        return;
    }
    lazy_bind_fork_report report = {0};
    if (lazy_bind_after_fork_child(_PyLazyImports_engine, &report) != LAZY_BIND_OK ||
        report.allocation_lost)
    {
        /* No new entry may be created in this engine: stay eager. The
         * policy is live (the parent made it), so this cannot fail; the
         * fork's own mode already says none either way. */
        lazy.mode = LAZY_BIND_MODE_NONE;
        if (lazy_bind_policy_set_mode(lazy.policy, LAZY_BIND_MODE_NONE) != LAZY_BIND_OK) {
            lazy.mode = LAZY_BIND_MODE_NONE;
        }
    }
    /* The recorder's lock may have been held by a vanished thread, and the
     * trace and report belong to the parent: the child records nothing.
     * Detaching from a live engine cannot fail; if it did, the recorder
     * stays attached and is only never written out. */
    if (lazy.recorder != NULL) {
        if (lazy_bind_engine_set_recorder(_PyLazyImports_engine, NULL) == LAZY_BIND_OK) {
            lazy.recorder = NULL;
        }
    }
    lazy.trace_path = NULL;
    lazy.report = 0;
}
