/* The lazy-import placeholder type (`_lazy_imports.LazyImportType`).
 *
 * A placeholder holds a lazy_bind handle and the address of its entry's
 * slot, so a resolved placeholder costs one acquire load
 * (lazy_bind_get_fast) and no call. Resolution and errors go through
 * Python/lazy_imports.c; this file only knows the object, the write-back
 * rule and the IMPORT_FROM step.
 */
#define Py_LAZY_IMPORTS_IMPL
#include "Python.h"
#include "pycore_frame.h"
#include "pycore_lazy_imports.h"
#include "pycore_pystate.h"

PyObject *
_PyLazyImport_New(lazy_bind_handle handle, const char *name, PyObject *file, int line)
{
    const lazy_bind_slot *slot = NULL;
    lazy_bind_result status = lazy_bind_engine_slot(_PyLazyImports_engine, handle, &slot);
    if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_ImportError, "lazy_bind_engine_slot: %s",
                     lazy_bind_result_message(status));
        return NULL;
    }
    PyObject *py_name = PyUnicode_FromString(name);
    if (py_name == NULL) {
        return NULL;
    }
    _PyLazyImportObject *self = PyObject_New(_PyLazyImportObject, &_PyLazyImport_Type);
    if (self == NULL) {
        Py_DECREF(py_name);
        return NULL;
    }
    self->handle = handle;
    self->slot = slot;
    self->name = py_name;
    self->file = Py_NewRef(file);
    self->line = line;
    self->module = self->full = self->alias = self->importer = NULL;
    self->ns = 0;
    return (PyObject *)self;
}

PyObject *
_PyLazyImport_NewStatement(PyObject *module, PyObject *full, PyObject *alias,
                           PyObject *importer, PyObject *file, int line, uint64_t ns)
{
    _PyLazyImportObject *self = PyObject_New(_PyLazyImportObject, &_PyLazyImport_Type);
    if (self == NULL) {
        return NULL;
    }
    self->handle.stamp = 0;
    self->handle.index = 0;
    self->slot = NULL;
    self->name = Py_NewRef(module);
    self->module = Py_NewRef(module);
    self->full = Py_XNewRef(full);
    self->alias = Py_XNewRef(alias);
    self->importer = Py_NewRef(importer);
    self->file = Py_NewRef(file);
    self->line = line;
    self->ns = ns;
    return (PyObject *)self;
}

static void
lazy_import_dealloc(_PyLazyImportObject *self)
{
    /* The entry stays in the engine: copies of the handle may live in
     * other placeholders (merged statements), and a resolved value must
     * outlive every pointer borrowed from it. */
    Py_XDECREF(self->name);
    Py_XDECREF(self->module);
    Py_XDECREF(self->full);
    Py_XDECREF(self->alias);
    Py_XDECREF(self->importer);
    Py_XDECREF(self->file);
    PyObject_Free(self);
}

static PyObject *
lazy_import_repr(_PyLazyImportObject *self)
{
    return PyUnicode_FromFormat("<lazy_import %R>", self->name);
}

/* A statement placeholder escaped its statement (only hand-written bytecode
 * can do that): import the module it stands for now. */
static PyObject *
resolve_statement(_PyLazyImportObject *self)
{
    PyObject *target = self->full != NULL ? self->full : self->module;
    PyObject *top = PyImport_ImportModuleLevelObject(target, NULL, NULL, NULL, 0);
    if (top == NULL) {
        return NULL;
    }
    Py_DECREF(top);
    PyObject *module = PyImport_GetModule(self->module);
    if (module == NULL && !PyErr_Occurred()) {
        /* Imported, then taken out of sys.modules by its own code. */
        PyErr_Format(PyExc_ModuleNotFoundError, "No module named %R", self->module);
    }
    return module;
}

PyObject *
_PyLazyImport_Resolve(PyObject *placeholder)
{
    _PyLazyImportObject *self = (_PyLazyImportObject *)placeholder;
    if (self->handle.stamp == 0) {
        return resolve_statement(self);
    }
    void *fast = lazy_bind_get_fast(self->slot, self->handle.stamp);
    if (fast != NULL) {
        return Py_NewRef((PyObject *)fast);
    }
    return _PyLazyImports_ResolveHandle(self);
}

/* Writes `value` under `name` in `ns` if `ns` still holds `placeholder`
 * there. Returns 1 if `ns` has `name` (whatever it holds), 0 if not, -1 on
 * error. */
static int
write_back(PyObject *ns, PyObject *name, PyObject *placeholder, PyObject *value)
{
    if (PyDict_Check(ns)) {
        PyObject *current = PyDict_GetItemWithError(ns, name);
        if (current == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        if (current == placeholder && PyDict_SetItem(ns, name, value) < 0) {
            return -1;
        }
        return 1;
    }
    PyObject *current = PyObject_GetItem(ns, name);
    if (current == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_KeyError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    int same = current == placeholder;
    Py_DECREF(current);
    if (same && PyObject_SetItem(ns, name, value) < 0) {
        return -1;
    }
    return 1;
}

PyObject *
_PyLazyImport_ResolveLoaded(PyObject *placeholder, PyObject *name, PyObject *first,
                            PyObject *second, PyObject *third)
{
    PyObject *value = _PyLazyImport_Resolve(placeholder);
    if (value != NULL) {
        PyObject *spaces[3] = {first, second, third};
        for (int i = 0; i < 3; i++) {
            if (spaces[i] == NULL) {
                continue;
            }
            int found = write_back(spaces[i], name, placeholder, value);
            if (found < 0) {
                Py_CLEAR(value);
            }
            if (found != 0) {
                break;
            }
        }
    }
    Py_DECREF(placeholder);
    return value;
}

PyObject *
_PyLazyImport_ImportFrom(PyThreadState *tstate, PyObject *from, PyObject *name)
{
    (void)tstate;
    _PyLazyImportObject *self = (_PyLazyImportObject *)from;
    if (self->handle.stamp != 0) {
        /* A bound placeholder on the stack (hand-written bytecode): take
         * the attribute of its value, as IMPORT_FROM would. */
        PyObject *module = _PyLazyImport_Resolve(from);
        if (module == NULL) {
            return NULL;
        }
        PyObject *value = PyObject_GetAttr(module, name);
        Py_DECREF(module);
        return value;
    }
    PyObject *child = PyUnicode_FromFormat("%U.%U", self->module, name);
    if (child == NULL) {
        return NULL;
    }
    if (self->full != NULL) {
        int last = PyUnicode_Compare(child, self->full);
        if (last == -1 && PyErr_Occurred()) {
            Py_DECREF(child);
            return NULL;
        }
        if (last != 0) {
            /* `import a.b.c as d`, a middle step: stands for `a.b` now. */
            PyObject *step = _PyLazyImport_NewStatement(child, self->full, self->alias,
                                                        self->importer, self->file, self->line,
                                                        self->ns);
            Py_DECREF(child);
            return step;
        }
        if (self->alias != NULL) {
            /* The last step: the submodule itself, imported as the eager
             * statement would (never an attribute of the same name). */
            Py_DECREF(child);
            return _PyLazyImports_DeferModuleAs(self);
        }
    }
    Py_DECREF(child);
    return _PyLazyImports_DeferAttribute(self, name);
}

PyObject *
_PyLazyImport_StarValue(PyObject *module, PyObject *name, PyObject *locals)
{
    _PyInterpreterFrame *frame = _PyThreadState_GET()->cframe->current_frame;
    if (PyModule_Check(module) && frame != NULL && locals == frame->f_globals) {
        PyObject *value = PyDict_GetItemWithError(PyModule_GetDict(module), name);
        if (value != NULL && _PyLazyImport_CheckExact(value)) {
            return Py_NewRef(value);
        }
        if (value == NULL && PyErr_Occurred()) {
            return NULL;
        }
    }
    return PyObject_GetAttr(module, name);
}

PyDoc_STRVAR(resolve_doc,
"resolve($self, /)\n--\n\n"
"Return the value this placeholder stands for, importing it now on first use\n"
"(exactly once across threads). Does not write it into any namespace.");

static PyObject *
lazy_import_resolve(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return _PyLazyImport_Resolve(self);
}

static PyMethodDef lazy_import_methods[] = {
    {"resolve", lazy_import_resolve, METH_NOARGS, resolve_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(lazy_import_doc,
"A deferred import bound in a module namespace (created by the interpreter\n"
"for an eligible import statement; it cannot be created from Python).\n"
"Reading the name through the module resolves it; globals(), __dict__ and\n"
"dir() show the placeholder itself.");

PyTypeObject _PyLazyImport_Type = {
    PyVarObject_HEAD_INIT(&PyType_Type, 0)
    .tp_name = "_lazy_imports.lazy_import",
    .tp_basicsize = sizeof(_PyLazyImportObject),
    .tp_dealloc = (destructor)lazy_import_dealloc,
    .tp_repr = (reprfunc)lazy_import_repr,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = lazy_import_doc,
    .tp_methods = lazy_import_methods,
};
