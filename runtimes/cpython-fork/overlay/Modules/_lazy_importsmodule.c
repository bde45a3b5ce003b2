/* _lazy_imports: the Python face of the interpreter's lazy imports
 * (Python/lazy_imports.c, Objects/lazyimportobject.c). */
#ifndef Py_BUILD_CORE_BUILTIN
#  define Py_BUILD_CORE_MODULE 1
#endif
#define Py_LAZY_IMPORTS_IMPL
#include "Python.h"
#include "pycore_lazy_imports.h"

PyDoc_STRVAR(resolve_doc,
"resolve(obj, /)\n--\n\n"
"Return the value a lazy import placeholder stands for (importing it now if\n"
"needed), or obj itself if it is not a placeholder.");

static PyObject *
lazy_resolve(PyObject *module, PyObject *obj)
{
    (void)module;
    if (_PyLazyImport_CheckExact(obj)) {
        return _PyLazyImport_Resolve(obj);
    }
    return Py_NewRef(obj);
}

PyDoc_STRVAR(is_lazy_doc,
"is_lazy(obj, /)\n--\n\nWhether obj is a lazy import placeholder.");

static PyObject *
lazy_is_lazy(PyObject *module, PyObject *obj)
{
    (void)module;
    return PyBool_FromLong(_PyLazyImport_CheckExact(obj));
}

PyDoc_STRVAR(explain_doc,
"explain(importer, target, fromlist=None)\n--\n\n"
"Say which rule, mode or filter decides whether a module-level import of\n"
"target run by importer is deferred, e.g. \"eager: target opt-out rule\n"
"'eager-target torch.*'\". The importer's __lazy_modules__ is honoured if\n"
"it is loaded.");

static PyObject *
lazy_explain(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"importer", "target", "fromlist", NULL};
    const char *importer, *target;
    PyObject *fromlist = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ss|O:explain", keywords, &importer, &target,
                                     &fromlist)) {
        return NULL;
    }
    if (fromlist != Py_None) {
        PyObject *names = PySequence_Tuple(fromlist);
        if (names == NULL) {
            return NULL;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
            if (!PyUnicode_Check(PyTuple_GET_ITEM(names, i))) {
                Py_DECREF(names);
                PyErr_SetString(PyExc_TypeError, "fromlist must hold str");
                return NULL;
            }
        }
        PyObject *text = _PyLazyImports_Explain(importer, target, names);
        Py_DECREF(names);
        return text;
    }
    return _PyLazyImports_Explain(importer, target, NULL);
}

static PyObject *
lazy_never_resolved(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return _PyLazyImports_NeverResolved();
}

static PyObject *
lazy_counters(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return _PyLazyImports_Counters();
}

static PyObject *
lazy_thread_key(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return PyLong_FromUnsignedLongLong(lazy_bind_thread_key());
}

static PyMethodDef lazy_methods[] = {
    {"resolve", lazy_resolve, METH_O, resolve_doc},
    {"is_lazy", lazy_is_lazy, METH_O, is_lazy_doc},
    {"explain", (PyCFunction)(void (*)(void))lazy_explain, METH_VARARGS | METH_KEYWORDS,
     explain_doc},
    {"never_resolved", lazy_never_resolved, METH_NOARGS,
     PyDoc_STR("never_resolved()\n--\n\nOne line per lazy import never resolved: "
               "'name (declared at file:line)'.")},
    {"counters", lazy_counters, METH_NOARGS,
     PyDoc_STR("counters()\n--\n\nThe engine's counters: deferred, resolved, failed, "
               "pending.")},
    {"thread_key", lazy_thread_key, METH_NOARGS,
     PyDoc_STR("thread_key()\n--\n\nThe calling thread's lazy_bind key, as in the `chain` "
               "of cycle and deadlock errors.")},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef lazy_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_lazy_imports",
    .m_doc = PyDoc_STR("Lazy imports on lazy_bind: the placeholder type, its errors and "
                       "introspection."),
    .m_size = -1,
    .m_methods = lazy_methods,
};

PyMODINIT_FUNC
PyInit__lazy_imports(void)
{
    if (_PyLazyImports_CycleError == NULL) {
        PyErr_SetString(PyExc_ImportError, "lazy imports were not initialised");
        return NULL;
    }
    PyObject *module = PyModule_Create(&lazy_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "LazyImportType", (PyObject *)&_PyLazyImport_Type) < 0 ||
        PyModule_AddObjectRef(module, "LazyImportCycleError", _PyLazyImports_CycleError) < 0 ||
        PyModule_AddObjectRef(module, "LazyImportDeadlockError", _PyLazyImports_DeadlockError) <
            0 ||
        PyModule_AddStringConstant(module, "library_version", lazy_bind_version_string()) < 0)
    {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
