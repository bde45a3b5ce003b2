/* The engine importer's hooks, and the builtins.__import__ replacement that
 * defers import statements through it.
 *
 * lazy_import (installed as builtins.__import__) defers an eligible
 * `import a.b.c`, `import a as c` or `import a.b as c` at module level:
 * lazy_bind_importer_defer_import / _defer_import_as make (or, for
 * `import a.b` then `import a.c` in one namespace, join) the binding, and
 * the statement stores a LazyModule placeholder for it. Which statements are
 * eligible is the engine's policy decision (lazy_bind_policy_decide), given
 * the context read from the importing frame (_context.c). Never deferred,
 * before asking the policy: `from` imports (the statement needs the
 * attribute now; imports inside the imported module stay lazy), which covers
 * star imports and `__future__`, and direct `__import__` calls (only the
 * IMPORT_NAME instruction is deferred). Not deferred either, after the
 * policy: a module that is loaded already, with all its parents (no body
 * would run), unless the statement joins a pending binding. Everything else
 * goes to the original `__import__` unchanged, arguments and all, from C:
 * no frame of lazy_bind shows in its tracebacks or warnings. A module-level
 * statement inside `try` runs as a guarded import
 * (lazy_bind_guarded_import_enter/_leave around it): while it runs, an
 * import of a module that cannot be found is not deferred, so that its
 * ModuleNotFoundError reaches the `except`, as in eager Python.
 *
 * The binding's resolver is the engine's import plan, carried out through
 * the hooks below with the original `__import__`: every dotted prefix,
 * parents first, binding a partly initialised submodule onto its parent
 * without overwriting an attribute. */
#include "_native.h"

#include <frameobject.h>

/* builtins.__import__ when the hook was configured. */
static PyObject *original_import;
static PyObject *module_code_name; /* "<module>" */
static PyObject *name_key;         /* "__name__" */
static PyObject *spec_key;         /* "__spec__" */
static PyObject *initializing_key; /* "_initializing" */
static PyObject *zero;

/* ---- modules -------------------------------------------------------------- */

/* sys.modules[name] as a new reference, or NULL (an exception set only if
 * the lookup failed otherwise than by a missing key). Unlike
 * PyImport_GetModule, never waits for another thread's import. */
static PyObject *modules_get(PyObject *name) {
  PyObject *modules = PyImport_GetModuleDict();
  if (PyDict_CheckExact(modules)) {
    PyObject *module;
    (void)lazy_bind_cpython_dict_get_ref(modules, name, &module);
    return module;
  }
  PyObject *module = PyObject_GetItem(modules, name);
  if (module == NULL && PyErr_ExceptionMatches(PyExc_KeyError)) {
    PyErr_Clear();
  }
  return module;
}

/* Module `name` if it is in sys.modules and not still running its body (a
 * new reference), else NULL; never raises. */
static PyObject *loaded(PyObject *name) {
  PyObject *module = modules_get(name);
  if (module == NULL) {
    PyErr_Clear();
    return NULL;
  }
  PyObject *spec = NULL;
  PyObject *flag = NULL;
  int running = 0;
  if (lazy_bind_cpython_optional_attr(module, spec_key, &spec) > 0 &&
      lazy_bind_cpython_optional_attr(spec, initializing_key, &flag) > 0) {
    running = PyObject_IsTrue(flag);
  }
  Py_XDECREF(spec);
  Py_XDECREF(flag);
  if (running != 0 || PyErr_Occurred()) {
    PyErr_Clear();
    Py_DECREF(module);
    return NULL;
  }
  return module;
}

/* Whether `name` and every package above it are loaded (see loaded()): a
 * submodule can stay in sys.modules after its parent's body failed, and
 * importing it would then run the parent again. */
static bool all_loaded(PyObject *name) {
  Py_ssize_t len = PyUnicode_GET_LENGTH(name);
  for (Py_ssize_t end = 0; end <= len; end++) {
    if (end < len && PyUnicode_READ_CHAR(name, end) != '.') {
      continue;
    }
    PyObject *prefix = end == len ? Py_NewRef(name) : PyUnicode_Substring(name, 0, end);
    PyObject *module = prefix != NULL ? loaded(prefix) : NULL;
    Py_XDECREF(prefix);
    if (module == NULL) {
      PyErr_Clear();
      return false;
    }
    Py_DECREF(module);
  }
  return true;
}

/* ---- the import hooks ----------------------------------------------------- */

/* Module `name` after `__import__(name)` returned `top`, as a new
 * reference: `top` itself for a top-level name, else sys.modules[name], or,
 * if a failed import took it out of sys.modules meanwhile (another thread's
 * import that this one waited for), the attributes from `top` down, as the
 * eager statement would read them. NULL with an exception set if none. */
static PyObject *imported(PyObject *name, PyObject *top) {
  Py_ssize_t len = PyUnicode_GET_LENGTH(name);
  Py_ssize_t dot = PyUnicode_FindChar(name, '.', 0, len, 1);
  if (dot == -1) {
    return Py_NewRef(top);
  }
  PyObject *module = dot == -2 ? NULL : modules_get(name);
  if (module != NULL || PyErr_Occurred()) {
    return module;
  }
  module = Py_NewRef(top);
  while (module != NULL && dot != -1) {
    Py_ssize_t next = PyUnicode_FindChar(name, '.', dot + 1, len, 1);
    PyObject *part = next == -2 ? NULL : PyUnicode_Substring(name, dot + 1, next < 0 ? len : next);
    PyObject *child = NULL;
    if (part != NULL && lazy_bind_cpython_optional_attr(module, part, &child) == 0) {
      PyErr_Format(PyExc_ModuleNotFoundError, "No module named %R", name);
    }
    Py_XDECREF(part);
    Py_SETREF(module, child);
    dot = next;
  }
  return module;
}

/* Imports module `name` with the original __import__ and returns it (not
 * its top package). The fromlist is for `from` imports, which this adaptor
 * does not defer. */
static uint32_t hook_import_module(void *userdata, const char *name, const char *const *fromlist,
                                   size_t fromlist_len, void **module_out,
                                   void **runtime_error_out) {
  (void)userdata, (void)fromlist, (void)fromlist_len;
  PyObject *py_name = PyUnicode_FromString(name);
  if (py_name == NULL) {
    return adaptor_fail(runtime_error_out);
  }
  PyObject *args[5] = {py_name, Py_None, Py_None, Py_None, zero};
  PyObject *top = PyObject_Vectorcall(original_import, args, 5, NULL);
  PyObject *module = top != NULL ? imported(py_name, top) : NULL;
  Py_XDECREF(top);
  Py_DECREF(py_name);
  if (module == NULL) {
    return adaptor_fail(runtime_error_out);
  }
  *module_out = module;
  return LAZY_BIND_OK;
}

static uint32_t hook_get_attr(void *userdata, void *module, const char *name, void **value_out,
                              void **runtime_error_out) {
  (void)userdata;
  PyObject *py_name = PyUnicode_FromString(name);
  PyObject *value = NULL;
  int found = py_name != NULL ? lazy_bind_cpython_optional_attr((PyObject *)module, py_name, &value) : -1;
  Py_XDECREF(py_name);
  if (found < 0) {
    return adaptor_fail(runtime_error_out);
  }
  *value_out = value;
  return LAZY_BIND_OK;
}

/* Binds submodule `value` as attribute `name` of `module` unless taken (a
 * partly initialised submodule is not on its parent yet). */
static void *hook_loaded_module(void *userdata, const char *name) {
  (void)userdata;
  PyObject *py_name = PyUnicode_FromString(name);
  if (py_name == NULL) {
    PyErr_Clear();
    return NULL;
  }
  PyObject *module = loaded(py_name);
  Py_DECREF(py_name);
  return module;
}

static bool hook_as_lazy(void *userdata, void *value, lazy_bind_handle *handle_out) {
  (void)userdata;
  return adaptor_placeholder_handle((PyObject *)value, handle_out);
}

/* ---- deferral ------------------------------------------------------------- */

/* Returned for `import a.b.c as d` in place of the module: IMPORT_FROM b and
 * IMPORT_FROM c read the placeholder for `a.b.c` out of it, without
 * importing anything. */
typedef struct {
  PyObject_HEAD
  PyObject *placeholder;
  int remaining; /* IMPORT_FROM steps left */
} Steps;

static void Steps_dealloc(Steps *self) {
  Py_XDECREF(self->placeholder);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Steps_getattro(Steps *self, PyObject *attr) {
  (void)attr;
  if (--self->remaining > 0) {
    return Py_NewRef(self);
  }
  return Py_NewRef(self->placeholder);
}

static PyTypeObject StepsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lazy_bind._native.ImportSteps",
    .tp_basicsize = sizeof(Steps),
    .tp_dealloc = (destructor)Steps_dealloc,
    .tp_getattro = (getattrofunc)Steps_getattro,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("What `import a.b as c` takes its placeholder from."),
};

static PyObject *steps_new(PyObject *placeholder, int steps) {
  Steps *self = PyObject_New(Steps, &StepsType);
  if (self == NULL) {
    return NULL;
  }
  self->placeholder = Py_NewRef(placeholder);
  self->remaining = steps;
  return (PyObject *)self;
}

/* The number of dots in `name`. */
static Py_ssize_t dots_in(PyObject *name) {
  Py_ssize_t count = 0;
  for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(name); i++) {
    count += PyUnicode_READ_CHAR(name, i) == '.';
  }
  return count;
}

/* Whether a deferral of `name` must give way to an eager import: a guarded
 * import is running and `name` cannot be found. 1 (import now), 0, -1. */
static int missing_under_guard(const char *name) {
  bool missing = false;
  lazy_bind_result status =
      lazy_bind_importer_missing_under_guard(adaptor_importer, name, &missing);
  if (status != LAZY_BIND_OK) {
    PyErr_Format(adaptor_LazyImportError, "lazy_bind_importer_missing_under_guard: %s",
                 lazy_bind_result_message(status));
    return -1;
  }
  return missing;
}

/* Makes (or joins) the engine binding of the statement and returns in
 * *result what the statement's IMPORT_NAME returns: the placeholder bound to
 * `bound`, or the IMPORT_FROM steps that lead to it. Returns 1, 0 when the
 * engine rejects the name (CPython reports it at the eager import), or -1. */
static int bind(PyCodeObject *code, const lazy_bind_cpython_import_site *site,
                PyObject *globals, PyObject *importer, PyObject *name, PyObject *bound,
                PyObject *stands_for, bool package, PyObject **result) {
  const char *importer_utf8 = PyUnicode_AsUTF8(importer);
  const char *target = PyUnicode_AsUTF8(name);
  const char *file = PyUnicode_AsUTF8(code->co_filename);
  const char *alias = package ? NULL : PyUnicode_AsUTF8(bound);
  if (importer_utf8 == NULL || target == NULL || file == NULL || (!package && alias == NULL)) {
    return -1;
  }
  int missing = missing_under_guard(target);
  if (missing != 0) {
    return missing < 0 ? -1 : 0; /* missing: the eager import raises */
  }
  /* The namespace lives while a placeholder bound in it does (it holds it). */
  uint64_t namespace = (uint64_t)(uintptr_t)globals;
  uint32_t line = site->line > 0 ? (uint32_t)site->line : 0;
  lazy_bind_handle handle;
  char *message = NULL;
  lazy_bind_result status =
      package ? lazy_bind_importer_defer_import(adaptor_importer, namespace, importer_utf8,
                                                target, file, line, &handle, &message)
              : lazy_bind_importer_defer_import_as(adaptor_importer, namespace, importer_utf8,
                                                   target, alias, file, line, &handle, &message);
  if (status == LAZY_BIND_INVALID_IMPORT) {
    lazy_bind_string_free(&message);
    return 0;
  }
  if (status != LAZY_BIND_OK) {
    PyErr_Format(adaptor_LazyImportError, "lazy_bind_importer_defer_import: %s",
                 message != NULL ? message : lazy_bind_result_message(status));
    lazy_bind_string_free(&message);
    return -1;
  }
  /* A joined statement gets the same handle: the placeholder already bound
   * to it stays (so `import a.b` then `import a.c` keep one object). */
  PyObject *slot;
  if (lazy_bind_cpython_dict_get_ref(globals, bound, &slot) < 0) {
    return -1;
  }
  lazy_bind_handle held;
  PyObject *placeholder =
      slot != NULL && adaptor_placeholder_handle(slot, &held) && held.stamp == handle.stamp &&
              held.index == handle.index
          ? Py_NewRef(slot)
          : adaptor_placeholder_new(handle, stands_for, globals, bound, code->co_filename,
                                    site->line, package);
  Py_XDECREF(slot);
  if (placeholder == NULL) {
    return -1;
  }
  if (site->steps == 0) {
    *result = placeholder;
    return 1;
  }
  *result = steps_new(placeholder, site->steps);
  Py_DECREF(placeholder);
  return *result != NULL ? 1 : -1;
}

/* Defers the module-level statement whose IMPORT_NAME is `site` of `code`,
 * importing `name` (absolute) in namespace `globals` of module `importer`:
 * `import a.b.c` binds `a`, `import a as c` and `import a.b as c` bind `c`.
 * Returns 1 with the statement's value in *result, 0 to import eagerly
 * instead (a shape not deferred, or nothing left to defer), or -1. */
static int defer_statement(PyCodeObject *code, const lazy_bind_cpython_import_site *site,
                           PyObject *globals, PyObject *importer, PyObject *name,
                           PyObject **result) {
  if (site->store_name < 0 || site->store_name >= PyTuple_GET_SIZE(code->co_names)) {
    return 0;
  }
  PyObject *stored = PyTuple_GET_ITEM(code->co_names, site->store_name);
  Py_ssize_t dots = dots_in(name);
  PyObject *top = NULL;
  bool package = false;
  if (site->steps == 0) {
    Py_ssize_t dot = PyUnicode_FindChar(name, '.', 0, PyUnicode_GET_LENGTH(name), 1);
    top = dot == -2 ? NULL : dot < 0 ? Py_NewRef(name) : PyUnicode_Substring(name, 0, dot);
    if (top == NULL) {
      return -1;
    }
    package = PyUnicode_Compare(top, stored) == 0;
    if (!package && dots > 0) {
      Py_DECREF(top);
      return 0;
    }
  } else if (site->steps != dots) {
    return 0;
  }
  PyObject *bound = package ? top : stored;
  int deferred = 0;
  PyObject *slot;
  if (lazy_bind_cpython_dict_get_ref(globals, bound, &slot) < 0) {
    deferred = -1;
  } else if ((package && slot != NULL && adaptor_placeholder_is_package_of(slot, globals)) ||
             !all_loaded(name)) {
    deferred = bind(code, site, globals, importer, name, bound, package ? top : name, package,
                    result);
  }
  Py_XDECREF(slot);
  Py_XDECREF(top);
  return deferred;
}

/* Whether `code` is a module body (not a function or class body). */
static bool module_code(PyCodeObject *code) {
  return !(code->co_flags & (CO_OPTIMIZED | CO_NEWLOCALS)) &&
         (code->co_name == module_code_name || PyUnicode_Compare(code->co_name, module_code_name) == 0);
}

/* Defers the import `args` (the five arguments IMPORT_NAME passes) if it
 * is eligible: 1 with the statement's value in *result, 0 to import it
 * eagerly, 2 to import it eagerly as a guarded import (a module-level
 * statement inside `try`; see lazy_bind_guarded_import_enter), -1 on
 * error. */
static int try_defer(PyObject *const *args, PyObject **result) {
  PyObject *name = args[0], *globals = args[1], *locals = args[2], *fromlist = args[3];
  if (!PyUnicode_CheckExact(name) || !PyDict_CheckExact(globals) || !PyLong_CheckExact(args[4])) {
    return 0;
  }
  long level = PyLong_AsLong(args[4]);
  PyFrameObject *frame = PyEval_GetFrame();
  if (level == -1 || frame == NULL) {
    PyErr_Clear();
    return 0;
  }
  PyCodeObject *code = PyFrame_GetCode(frame);
  const lazy_bind_cpython_import_site *site = NULL;
  uint32_t flags = LAZY_BIND_CONTEXT_NOT_MODULE_LEVEL;
  if (PyEval_GetGlobals() == globals && locals == globals && module_code(code)) {
    int found = adaptor_import_site_at(code, PyFrame_GetLasti(frame), &site);
    if (found <= 0) {
      /* Not an import statement (an `__import__` call), or a failure. */
      Py_DECREF(code);
      return found;
    }
    flags = site->flags;
  }
  int deferred = 0;
  /* Held: the policy's filter may run code that rebinds `__name__`. */
  PyObject *importer;
  if (lazy_bind_cpython_dict_get_ref(globals, name_key, &importer) < 0) {
    deferred = -1;
  } else if (fromlist != Py_None || level != 0 || importer == NULL) {
    /* A `from` or relative import: never deferred here. */
  } else if (PyUnicode_Check(importer)) {
    if (site != NULL && adaptor_marked_lazy(globals, name)) {
      flags |= LAZY_BIND_CONTEXT_MARKED_LAZY;
    }
    const char *importer_utf8 = PyUnicode_AsUTF8(importer);
    const char *target = PyUnicode_AsUTF8(name);
    deferred = importer_utf8 != NULL && target != NULL
                   ? adaptor_decide(importer_utf8, target, flags)
                   : -1;
    if (deferred > 0) {
      deferred = site != NULL ? defer_statement(code, site, globals, importer, name, result) : 0;
    }
  }
  Py_XDECREF(importer);
  Py_DECREF(code);
  if (deferred == 0 && (flags & LAZY_BIND_CONTEXT_IN_TRY) &&
      !(flags & LAZY_BIND_CONTEXT_NOT_MODULE_LEVEL)) {
    deferred = 2;
  }
  return deferred;
}


PyObject *adaptor_lazy_import(PyObject *self, PyObject *const *args, Py_ssize_t nargsf,
                              PyObject *kwnames) {
  (void)self;
  if (original_import == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "lazy_bind._native.configure() was not called");
    return NULL;
  }
  int deferred = 0;
  if (PyVectorcall_NARGS(nargsf) == 5 && kwnames == NULL) {
    PyObject *result = NULL;
    deferred = try_defer(args, &result);
    if (deferred == 1 || deferred == -1) {
      return result;
    }
  }
  if (deferred == 2 && lazy_bind_guarded_import_enter() != LAZY_BIND_OK) {
    PyErr_SetString(PyExc_SystemError, "lazy_bind_guarded_import_enter failed");
    return NULL;
  }
  PyObject *module = PyObject_Vectorcall(original_import, args, nargsf, kwnames);
  if (deferred == 2) {
    /* Balanced with the enter above on this thread, so it cannot fail. */
    (void)!lazy_bind_guarded_import_leave();
  }
  return module;
}

/* ---- set-up --------------------------------------------------------------- */

int adaptor_importer_create(void) {
  if (PyType_Ready(&StepsType) < 0) {
    return -1;
  }
  lazy_bind_import_hooks hooks = {
      .size = sizeof(lazy_bind_import_hooks),
      .import_module = hook_import_module,
      .get_attr = hook_get_attr,
      .set_attr_if_absent = adaptor_set_attr_if_absent,
      .loaded_module = hook_loaded_module,
      .can_find = adaptor_can_find,
      .as_lazy = hook_as_lazy,
  };
  lazy_bind_result status = lazy_bind_importer_new(adaptor_engine, &hooks, &adaptor_importer);
  if (status != LAZY_BIND_OK) {
    PyErr_Format(PyExc_ImportError, "lazy_bind_importer_new: %s",
                 lazy_bind_result_message(status));
    return -1;
  }
  module_code_name = PyUnicode_InternFromString("<module>");
  name_key = PyUnicode_InternFromString("__name__");
  spec_key = PyUnicode_InternFromString("__spec__");
  initializing_key = PyUnicode_InternFromString("_initializing");
  zero = PyLong_FromLong(0);
  if (module_code_name == NULL || name_key == NULL || spec_key == NULL ||
      initializing_key == NULL || zero == NULL) {
    return -1;
  }
  return 0;
}

int adaptor_importer_configure(PyObject *import) {
  if (!PyCallable_Check(import)) {
    PyErr_SetString(PyExc_TypeError, "the original __import__ must be callable");
    return -1;
  }
  Py_XSETREF(original_import, Py_NewRef(import));
  return 0;
}
