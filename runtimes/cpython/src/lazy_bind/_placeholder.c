/* LazyModule: the placeholder a deferred import statement binds.
 *
 * A placeholder is a types.ModuleType subclass of the same layout (so
 * `isinstance(placeholder, types.ModuleType)` holds and its class can be
 * set back to ModuleType). Until it is resolved its own namespace holds two
 * private items: its state (the engine handle of its binding, the module it
 * stands for, the name it is bound to) and the namespace it is bound in.
 *
 * The first attribute access (read, write or delete) resolves the binding
 * through the engine (lazy_bind_resolve: one thread imports, the others wait
 * with the GIL released), then follows the rebind contract: the slot is
 * replaced by the module only if it still holds a placeholder for the same
 * binding, so a rebinding by user code is never overwritten. Last, the
 * placeholder itself adopts the module's namespace and becomes a plain
 * ModuleType, so references copied before resolution behave like the module
 * (they differ only in identity). On a free-threaded build it stays a
 * placeholder that forwards every access (see adopt). */
#include "_native.h"

#include <frameobject.h>

/* ---- the state ------------------------------------------------------------ */

/* What a placeholder stands for. It holds no object that can be part of a
 * reference cycle (strings only), so it is not tracked by the cycle
 * collector: a placeholder costs the collector its module and namespace
 * only. The namespace the placeholder is bound in, which does make a cycle
 * (it holds the placeholder), is kept under its own key in the
 * placeholder's namespace, where the collector sees it. */
typedef struct {
  PyObject_HEAD
  lazy_bind_handle handle;
  PyObject *name;  /* the module the placeholder stands for */
  PyObject *bound; /* the name it is bound to in its namespace */
  PyObject *file;  /* the declaration's file */
  int line;        /* the declaration's line */
  bool package;    /* bound by `import a...`, standing for the top package */
} State;

static void State_dealloc(State *self) {
  Py_XDECREF(self->name);
  Py_XDECREF(self->bound);
  Py_XDECREF(self->file);
  PyObject_Free(self);
}

static PyTypeObject StateType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lazy_bind._native.PlaceholderState",
    .tp_basicsize = sizeof(State),
    .tp_dealloc = (destructor)State_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("The state of an unresolved LazyModule."),
};

/* The keys of the state and of the namespace in a placeholder's namespace,
 * and "__class__". */
static PyObject *state_key;
static PyObject *globals_key;
static PyObject *class_key;

static PyTypeObject *LazyModuleType;

/* The state of `self` and the namespace it is bound in (both borrowed), or
 * false once resolved (with an exception set if reading failed). */
static bool parts_of(PyObject *self, State **state_out, PyObject **globals_out) {
  PyObject *namespace = PyModule_GetDict(self);
  PyObject *state = PyDict_GetItemWithError(namespace, state_key);
  if (state == NULL || !Py_IS_TYPE(state, &StateType)) {
    return false;
  }
  PyObject *globals = PyDict_GetItemWithError(namespace, globals_key);
  if (globals == NULL || !PyDict_Check(globals)) {
    return false;
  }
  *state_out = (State *)state;
  *globals_out = globals;
  return true;
}

bool adaptor_placeholder_handle(PyObject *value, lazy_bind_handle *handle_out) {
  State *state;
  PyObject *globals;
  if (!Py_IS_TYPE(value, LazyModuleType) || !parts_of(value, &state, &globals)) {
    PyErr_Clear();
    return false;
  }
  if (handle_out != NULL) {
    *handle_out = state->handle;
  }
  return true;
}

bool adaptor_placeholder_is_package_of(PyObject *value, PyObject *globals) {
  State *state;
  PyObject *bound_in;
  if (!Py_IS_TYPE(value, LazyModuleType) || !parts_of(value, &state, &bound_in)) {
    PyErr_Clear();
    return false;
  }
  return state->package && bound_in == globals;
}

PyObject *adaptor_placeholder_new(lazy_bind_handle handle, PyObject *name, PyObject *globals,
                                  PyObject *bound, PyObject *file, int line, bool package) {
  PyObject *self = PyObject_CallOneArg((PyObject *)LazyModuleType, name);
  if (self == NULL) {
    return NULL;
  }
  State *state = PyObject_New(State, &StateType);
  if (state == NULL) {
    Py_DECREF(self);
    return NULL;
  }
  state->handle = handle;
  state->name = Py_NewRef(name);
  state->bound = Py_NewRef(bound);
  state->file = Py_NewRef(file);
  state->line = line;
  state->package = package;
  PyObject *namespace = PyModule_GetDict(self);
  int failed = PyDict_SetItem(namespace, state_key, (PyObject *)state) < 0 ||
               PyDict_SetItem(namespace, globals_key, globals) < 0;
  Py_DECREF(state);
  if (failed) {
    Py_DECREF(self);
    return NULL;
  }
  return self;
}

/* ---- resolution ----------------------------------------------------------- */

/* Replaces the binding's slot with `real` if it still holds a placeholder
 * for the same binding (the compare-and-replace of the rebind contract: one
 * step under the GIL, one critical section on the namespace without it).
 * Returns 0 or -1. */
static int rebind(const State *state, PyObject *globals, PyObject *real) {
  int result = 0;
  LAZY_BIND_CPYTHON_BEGIN_CRITICAL_SECTION(globals);
  PyObject *slot;
  result = lazy_bind_cpython_dict_get_ref(globals, state->bound, &slot);
  lazy_bind_handle held;
  if (result > 0 && adaptor_placeholder_handle(slot, &held) &&
      held.stamp == state->handle.stamp && held.index == state->handle.index) {
    result = PyDict_SetItem(globals, state->bound, real);
  }
  Py_XDECREF(slot);
  LAZY_BIND_CPYTHON_END_CRITICAL_SECTION();
  return result < 0 ? -1 : 0;
}

/* Makes `self` share `real`'s namespace and turns it into a plain module,
 * unless another access did so already or `real` is no module (a package
 * that replaced its sys.modules entry): then `self` stays a placeholder and
 * every access goes through the (resolved) binding. Returns 0 or -1. */
static int adopt(PyObject *self, const State *state, PyObject *real) {
#ifdef Py_GIL_DISABLED
  /* Without the GIL another thread may be reading the namespace being
   * replaced (through a borrowed reference, as CPython's own module
   * attribute lookup does), so the placeholder stays one: every access
   * forwards through the resolved binding, one acquire load in the engine. */
  (void)self, (void)state, (void)real;
  return 0;
#endif
  State *current;
  PyObject *globals;
  if (!parts_of(self, &current, &globals) || current != state) {
    return PyErr_Occurred() ? -1 : 0;
  }
  if (!PyModule_Check(real)) {
    return 0;
  }
  if (PyObject_GenericSetAttr(self, class_key, (PyObject *)&PyModule_Type) < 0) {
    return -1;
  }
  /* A module keeps its namespace at the offset its type publishes in
   * tp_dictoffset (the md_dict field). The old namespace goes last: freeing
   * it may run code, which must see the placeholder finished. */
  PyObject **slot = (PyObject **)((char *)self + PyModule_Type.tp_dictoffset);
  PyObject *old = *slot;
  *slot = Py_NewRef(PyModule_GetDict(real));
  Py_XDECREF(old);
  return 0;
}

/* Resolves the binding of `self` (whose state is `state`, bound in
 * `globals`), rebinds its slot and adopts the module; returns the module (a
 * new reference) or NULL. */
static PyObject *resolve(PyObject *self, State *state, PyObject *globals) {
  /* The access site: the innermost Python frame, if any (C code with no
   * Python frame under it may touch a placeholder too). */
  PyFrameObject *frame = PyEval_GetFrame();
  PyCodeObject *code = frame != NULL ? PyFrame_GetCode(frame) : NULL;
  const char *file = NULL;
  unsigned int line = 0;
  if (code != NULL) {
    file = PyUnicode_AsUTF8(code->co_filename);
    if (file == NULL) {
      PyErr_Clear();
    }
    int number = PyFrame_GetLineNumber(frame);
    line = number > 0 ? (unsigned int)number : 0;
  }
  void *value = NULL;
  lazy_bind_error *error = NULL;
  lazy_bind_result status =
      lazy_bind_resolve(adaptor_engine, state->handle, file, line, &value, &error);
  Py_XDECREF(code);
  if (status != LAZY_BIND_OK) {
    /* A resolver whose error the engine replaced (a nested cycle, say) may
     * have left its exception set: the engine's report wins. */
    PyErr_Clear();
    adaptor_raise_engine_error(status, error);
    lazy_bind_error_free(&error);
    return NULL;
  }
  PyObject *real = Py_NewRef((PyObject *)value);
  if (rebind(state, globals, real) < 0 || adopt(self, state, real) < 0) {
    Py_DECREF(real);
    return NULL;
  }
  return real;
}

/* ---- the type ------------------------------------------------------------- */

/* Resolves `self` if it is still a placeholder: 1 with the module in
 * *real, 0 if it is resolved already, -1 on error. */
static int resolve_if_pending(PyObject *self, PyObject **real) {
  State *state;
  PyObject *globals;
  if (!parts_of(self, &state, &globals)) {
    return PyErr_Occurred() ? -1 : 0;
  }
  /* Resolution runs code that may replace the namespace holding them. */
  Py_INCREF(state);
  Py_INCREF(globals);
  *real = resolve(self, state, globals);
  Py_DECREF(state);
  Py_DECREF(globals);
  return *real != NULL ? 1 : -1;
}

static PyObject *LazyModule_getattro(PyObject *self, PyObject *attr) {
  PyObject *real = NULL;
  int pending = resolve_if_pending(self, &real);
  if (pending <= 0) {
    return pending < 0 ? NULL : PyModule_Type.tp_getattro(self, attr);
  }
  PyObject *value = PyObject_GetAttr(real, attr);
  Py_DECREF(real);
  return value;
}

static int LazyModule_setattro(PyObject *self, PyObject *attr, PyObject *value) {
  PyObject *real = NULL;
  int pending = resolve_if_pending(self, &real);
  if (pending <= 0) {
    return pending < 0 ? -1 : PyModule_Type.tp_setattro(self, attr, value);
  }
  int result = PyObject_SetAttr(real, attr, value); /* value NULL: delete */
  Py_DECREF(real);
  return result;
}

static PyObject *LazyModule_repr(PyObject *self) {
  State *state;
  PyObject *globals;
  if (!parts_of(self, &state, &globals)) {
    return PyErr_Occurred() ? NULL : PyModule_Type.tp_repr(self);
  }
  /* A placeholder that stays one after its resolution (see adopt) shows the
   * module's repr; peeking never resolves. */
  lazy_bind_state where;
  void *value = NULL;
  if (lazy_bind_peek(adaptor_engine, state->handle, &where, &value, NULL, NULL) == LAZY_BIND_OK &&
      where == LAZY_BIND_STATE_RESOLVED) {
    /* The engine keeps the value while the handle lives: the state holds it. */
    PyObject *real = Py_NewRef((PyObject *)value);
    PyObject *text = PyObject_Repr(real);
    Py_DECREF(real);
    return text;
  }
  return PyUnicode_FromFormat("<lazy module %R (not imported yet)>", state->name);
}

PyDoc_STRVAR(LazyModule_doc,
             "A module placeholder: resolves on first attribute access.\n\n"
             "isinstance(placeholder, types.ModuleType) holds. After resolution the\n"
             "object is a plain module sharing the real module's namespace.");

int adaptor_placeholder_init(PyObject *module) {
  if (PyType_Ready(&StateType) < 0) {
    return -1;
  }
  state_key = PyUnicode_InternFromString("__lazy_bind_state__");
  globals_key = PyUnicode_InternFromString("__lazy_bind_namespace__");
  class_key = PyUnicode_InternFromString("__class__");
  if (state_key == NULL || globals_key == NULL || class_key == NULL) {
    return -1;
  }
  /* The dealloc of a ModuleType subclass made by a class statement
   * (subtype_dealloc): it releases the instance's reference to its heap type,
   * which module_dealloc does not, and `__class__` assignment between
   * LazyModule and ModuleType accepts only it or module_dealloc itself. */
  PyObject *probe = PyObject_CallFunction((PyObject *)&PyType_Type, "s(O){s:()}", "probe",
                                          (PyObject *)&PyModule_Type, "__slots__");
  if (probe == NULL) {
    return -1;
  }
  destructor dealloc = ((PyTypeObject *)probe)->tp_dealloc;
  Py_DECREF(probe);
  PyType_Slot slots[] = {
      {Py_tp_dealloc, (void *)dealloc},
      {Py_tp_getattro, (void *)LazyModule_getattro},
      {Py_tp_setattro, (void *)LazyModule_setattro},
      {Py_tp_repr, (void *)LazyModule_repr},
      {Py_tp_doc, (void *)LazyModule_doc},
      {0, NULL},
  };
  PyType_Spec spec = {
      .name = "lazy_bind.LazyModule",
      .basicsize = 0, /* ModuleType's layout, so __class__ can go back to it */
      .itemsize = 0,
      .flags = Py_TPFLAGS_DEFAULT,
      .slots = slots,
  };
  LazyModuleType = (PyTypeObject *)PyType_FromSpecWithBases(&spec, (PyObject *)&PyModule_Type);
  if (LazyModuleType == NULL) {
    return -1;
  }
  /* LazyModuleType keeps its reference; the module takes one of its own. */
  return PyModule_AddObjectRef(module, "LazyModule", (PyObject *)LazyModuleType);
}
