/* lazy_bind._native: the C half of the CPython adaptor.
 *
 * Uses only include/lazy_bind.h and the crate's static library, as a CPython
 * fork would. It owns the process's one engine and exposes:
 * - Entry: one deferred module import (a lazy_bind entry whose resolver calls
 *   a Python callable with the GIL held), resolved exactly once through
 *   lazy_bind_get_fast / lazy_bind_resolve;
 * - the GIL hooks: a thread that waits for another thread's resolution
 *   releases the GIL in before_block and takes it back in after_wake;
 * - import_context(frame): whether the frame is running an import statement
 *   and whether that statement is inside a try/except/finally or with block
 *   (the code object's exception table) or a loop;
 * - adopt_namespace(placeholder, module): makes a placeholder module share
 *   the real module's namespace, so copied references behave like it;
 * - the policy (lazy_bind_policy_*): parse, decide, explain, eager scopes and
 *   the phase switch;
 * - tracing (lazy_bind_recorder_*): the -X importtime report, the
 *   never-resolved list and the Chrome trace;
 * - counters and the fork hook.
 *
 * Every call into the engine happens with the GIL held, except the wait
 * itself (between before_block and after_wake).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include "lazy_bind.h"
#include "lazy_bind_cpython.h"

/* ---- engine and runtime hooks ------------------------------------------ */

static lazy_bind_engine *engine;

/* ---- exceptions ---------------------------------------------------------- */

static PyObject *LazyImportError;   /* ImportError subclass: engine failures */
static PyObject *LazyImportCycleError;    /* same-thread cycle */
static PyObject *LazyImportDeadlockError; /* cross-thread deadlock */

/* Raises the Python exception for a failed lazy_bind_resolve; returns NULL. */
static PyObject *raise_engine_error(lazy_bind_result status, lazy_bind_error *error) {
  lazy_bind_cpython_error_types types = {LazyImportError, LazyImportCycleError,
                                         LazyImportDeadlockError};
  lazy_bind_cpython_raise_error(status, error, &types);
  return NULL;
}

/* ---- Entry ---------------------------------------------------------------- */

typedef struct {
  PyObject_HEAD
  lazy_bind_handle handle;
  const lazy_bind_slot *slot;
  PyObject *name;
} EntryObject;

/* The resolver of every entry: calls the Python callable (its userdata)
 * with the GIL held (the accessing thread holds it) and hands back its
 * result or its exception. */
static uint32_t entry_resolver(void *entry_userdata, const lazy_bind_engine *engine_arg,
                               lazy_bind_handle handle, void **value_out,
                               void **runtime_error_out) {
  (void)engine_arg, (void)handle;
  PyObject *value = PyObject_CallNoArgs((PyObject *)entry_userdata);
  if (value != NULL) {
    *value_out = value;
    return LAZY_BIND_OK;
  }
  return lazy_bind_cpython_fail(runtime_error_out);
}

static void entry_drop(void *entry_userdata) {
  PyGILState_STATE gil = PyGILState_Ensure();
  Py_DECREF((PyObject *)entry_userdata);
  PyGILState_Release(gil);
}

static PyObject *Entry_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  static char *keywords[] = {"name", "file", "line", "resolver", NULL};
  PyObject *name;
  const char *file;
  unsigned int line;
  PyObject *resolver;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "UzIO", keywords, &name, &file, &line,
                                   &resolver)) {
    return NULL;
  }
  if (!PyCallable_Check(resolver)) {
    PyErr_SetString(PyExc_TypeError, "resolver must be callable");
    return NULL;
  }
  const char *utf8 = PyUnicode_AsUTF8(name);
  if (utf8 == NULL) {
    return NULL;
  }
  EntryObject *self = (EntryObject *)type->tp_alloc(type, 0);
  if (self == NULL) {
    return NULL;
  }
  Py_INCREF(resolver);
  lazy_bind_result status = lazy_bind_entry_create(engine, utf8, file, line, entry_resolver,
                                                   resolver, entry_drop, &self->handle);
  if (status != LAZY_BIND_OK) {
    Py_DECREF(resolver);
    Py_DECREF(self);
    PyErr_Format(LazyImportError, "lazy_bind_entry_create: %s", lazy_bind_result_message(status));
    return NULL;
  }
  status = lazy_bind_engine_slot(engine, self->handle, &self->slot);
  if (status != LAZY_BIND_OK) {
    Py_DECREF(self);
    PyErr_Format(LazyImportError, "lazy_bind_engine_slot: %s", lazy_bind_result_message(status));
    return NULL;
  }
  Py_INCREF(name);
  self->name = name;
  return (PyObject *)self;
}

static void Entry_dealloc(EntryObject *self) {
  /* The entry stays in the engine: other placeholders may share its value,
   * and a resolved value must outlive every borrowed pointer to it. */
  Py_XDECREF(self->name);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(Entry_resolve_doc,
             "resolve(access_file=None, access_line=0)\n--\n\n"
             "The entry's value: resolved now on first access (exactly once across\n"
             "threads; waiters release the GIL), or raises the resolver's original\n"
             "exception with a note naming the declaration, or LazyImportCycleError /\n"
             "LazyImportDeadlockError naming the chain.");

static PyObject *Entry_resolve(EntryObject *self, PyObject *args) {
  void *fast = lazy_bind_get_fast(self->slot, self->handle.stamp);
  if (fast != NULL) {
    Py_INCREF((PyObject *)fast);
    return (PyObject *)fast;
  }
  const char *access_file = NULL;
  unsigned int access_line = 0;
  if (!PyArg_ParseTuple(args, "|zI", &access_file, &access_line)) {
    return NULL;
  }
  void *value = NULL;
  lazy_bind_error *error = NULL;
  lazy_bind_result status =
      lazy_bind_resolve(engine, self->handle, access_file, access_line, &value, &error);
  if (status == LAZY_BIND_OK) {
    Py_INCREF((PyObject *)value);
    return (PyObject *)value;
  }
  /* A resolver that failed may have left its exception unraised if the
   * engine reported something else (a nested cycle, say): drop it. */
  PyErr_Clear();
  raise_engine_error(status, error);
  lazy_bind_error_free(&error);
  return NULL;
}

static PyObject *Entry_state(EntryObject *self, PyObject *unused) {
  (void)unused;
  lazy_bind_state state;
  lazy_bind_result status = lazy_bind_peek(engine, self->handle, &state, NULL, NULL, NULL);
  if (status != LAZY_BIND_OK) {
    PyErr_Format(LazyImportError, "lazy_bind_peek: %s", lazy_bind_result_message(status));
    return NULL;
  }
  static const char *names[] = {"pending", "resolving", "resolved", "failed"};
  return PyUnicode_FromString(state < 4 ? names[state] : "unknown");
}

static PyObject *Entry_is_resolved(EntryObject *self, PyObject *unused) {
  (void)unused;
  return PyBool_FromLong(lazy_bind_get_fast(self->slot, self->handle.stamp) != NULL);
}

static PyMethodDef Entry_methods[] = {
    {"resolve", (PyCFunction)Entry_resolve, METH_VARARGS, Entry_resolve_doc},
    {"state", (PyCFunction)Entry_state, METH_NOARGS,
     "state()\n--\n\n'pending', 'resolving', 'resolved' or 'failed' (never blocks)."},
    {"is_resolved", (PyCFunction)Entry_is_resolved, METH_NOARGS,
     "is_resolved()\n--\n\nWhether the entry is resolved (the inline fast path)."},
    {NULL, NULL, 0, NULL},
};

static PyObject *Entry_get_name(EntryObject *self, void *closure) {
  (void)closure;
  Py_INCREF(self->name);
  return self->name;
}

static PyGetSetDef Entry_getset[] = {
    {"name", (getter)Entry_get_name, NULL, "The entry's name (the module it imports).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject EntryType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lazy_bind._native.Entry",
    .tp_basicsize = sizeof(EntryObject),
    .tp_dealloc = (destructor)Entry_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("Entry(name, file, line, resolver)\n--\n\n"
                        "One deferred binding in the process's lazy_bind engine. `resolver` is\n"
                        "called with no arguments, at most once per attempt, on first access."),
    .tp_methods = Entry_methods,
    .tp_getset = Entry_getset,
    .tp_new = Entry_new,
};

/* ---- import_context ------------------------------------------------------ */

/* Opcodes, from dis.opmap at configure() time (they differ between
 * CPython versions). */
static int op_import_name = -1;
static int op_extended_arg = -1;
static int op_jump_backward[2] = {-1, -1};

#define CONTEXT_STATEMENT 1 /* the frame is executing IMPORT_NAME */
#define CONTEXT_HANDLER 2   /* inside try/except/finally or with */
#define CONTEXT_LOOP 4      /* inside a loop body */

/* Whether a backward jump after `unit` lands at or before it. */
static int inside_loop(PyObject *code_bytes, long unit) {
  const unsigned char *code = (const unsigned char *)PyBytes_AS_STRING(code_bytes);
  long units = (long)(PyBytes_GET_SIZE(code_bytes) / 2);
  long arg = 0;
  for (long i = 0; i < units; i++) {
    int op = code[2 * i];
    arg = (arg << 8) | code[2 * i + 1];
    if (op == op_extended_arg) {
      continue;
    }
    if (i > unit && (op == op_jump_backward[0] || op == op_jump_backward[1]) &&
        i + 1 - arg <= unit) {
      return 1;
    }
    arg = 0;
  }
  return 0;
}

/* The full argument of each instruction (EXTENDED_ARG folded in): the
 * argument of instruction `unit`, or -1 if it is out of range. */
static long argument_at(const unsigned char *code, long units, long unit) {
  long arg = 0;
  for (long i = 0; i < units; i++) {
    arg = (arg << 8) | code[2 * i + 1];
    if (code[2 * i] == op_extended_arg) {
      continue;
    }
    if (i == unit) {
      return arg;
    }
    arg = 0;
  }
  return -1;
}

/* Whether the same import (an IMPORT_NAME with the same name) also appears
 * covered by a handler: CPython compiles a `finally` body twice, once for
 * the normal exit (not covered by the exception table) and once for the
 * exceptional one (covered). Either copy counts as inside `finally`. */
static int copy_covered_by_handler(PyObject *code_bytes, PyObject *table, long unit) {
  const unsigned char *code = (const unsigned char *)PyBytes_AS_STRING(code_bytes);
  long units = (long)(PyBytes_GET_SIZE(code_bytes) / 2);
  long wanted = argument_at(code, units, unit);
  long arg = 0;
  for (long i = 0; i < units; i++) {
    arg = (arg << 8) | code[2 * i + 1];
    if (code[2 * i] == op_extended_arg) {
      continue;
    }
    if (i != unit && code[2 * i] == op_import_name && arg == wanted &&
        lazy_bind_cpython_handler_of(table, i) >= 0) {
      return 1;
    }
    arg = 0;
  }
  return 0;
}

static PyObject *import_context(PyObject *module, PyObject *frame) {
  (void)module;
  if (!PyFrame_Check(frame)) {
    PyErr_SetString(PyExc_TypeError, "import_context() needs a frame");
    return NULL;
  }
  if (op_import_name < 0) {
    PyErr_SetString(PyExc_RuntimeError, "lazy_bind._native.configure() was not called");
    return NULL;
  }
  int lasti = PyFrame_GetLasti((PyFrameObject *)frame);
  PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)frame);
  PyObject *code_bytes = PyObject_GetAttrString((PyObject *)code, "co_code");
  PyObject *table = PyObject_GetAttrString((PyObject *)code, "co_exceptiontable");
  Py_DECREF(code);
  if (code_bytes == NULL || table == NULL || !PyBytes_Check(code_bytes) || !PyBytes_Check(table)) {
    Py_XDECREF(code_bytes);
    Py_XDECREF(table);
    if (!PyErr_Occurred()) {
      PyErr_SetString(PyExc_TypeError, "co_code and co_exceptiontable must be bytes");
    }
    return NULL;
  }
  long flags = 0;
  if (lasti >= 0 && lasti + 1 < PyBytes_GET_SIZE(code_bytes)) {
    long unit = lasti / 2;
    if ((unsigned char)PyBytes_AS_STRING(code_bytes)[lasti] == op_import_name) {
      flags |= CONTEXT_STATEMENT;
    }
    if (lazy_bind_cpython_handler_of(table, unit) >= 0 ||
        ((flags & CONTEXT_STATEMENT) && copy_covered_by_handler(code_bytes, table, unit))) {
      flags |= CONTEXT_HANDLER;
    }
    if (inside_loop(code_bytes, unit)) {
      flags |= CONTEXT_LOOP;
    }
  }
  Py_DECREF(code_bytes);
  Py_DECREF(table);
  return PyLong_FromLong(flags);
}

static PyObject *configure(PyObject *module, PyObject *args) {
  (void)module;
  int import_name, extended_arg, jump_a, jump_b;
  if (!PyArg_ParseTuple(args, "iiii", &import_name, &extended_arg, &jump_a, &jump_b)) {
    return NULL;
  }
  op_import_name = import_name;
  op_extended_arg = extended_arg;
  op_jump_backward[0] = jump_a;
  op_jump_backward[1] = jump_b;
  Py_RETURN_NONE;
}

/* ---- adopt_namespace ----------------------------------------------------- */

static PyObject *adopt_namespace(PyObject *module, PyObject *args) {
  (void)module;
  PyObject *placeholder, *real;
  if (!PyArg_ParseTuple(args, "O!O", &PyModule_Type, &placeholder, &real)) {
    return NULL;
  }
  PyObject *dict = PyObject_GetAttrString(real, "__dict__");
  if (dict == NULL) {
    return NULL;
  }
  if (!PyDict_Check(dict)) {
    Py_DECREF(dict);
    PyErr_SetString(PyExc_TypeError, "the module's __dict__ is not a dict");
    return NULL;
  }
  /* A module keeps its namespace at the offset its type publishes in
   * tp_dictoffset (the md_dict field); swap in the real module's. */
  Py_ssize_t offset = Py_TYPE(placeholder)->tp_dictoffset;
  if (offset <= 0) {
    Py_DECREF(dict);
    PyErr_SetString(PyExc_TypeError, "the placeholder has no namespace slot");
    return NULL;
  }
  PyObject **slot = (PyObject **)((char *)placeholder + offset);
  PyObject *old = *slot;
  *slot = dict; /* takes the reference from PyObject_GetAttrString */
  Py_XDECREF(old);
  Py_RETURN_NONE;
}

/* ---- policy -------------------------------------------------------------- */

/* The policy in force: replaced only by set_policy, with the GIL held, and
 * read only with the GIL held, so no decide call can see it freed. */
static lazy_bind_policy *policy;

static PyObject *PolicyError; /* ValueError subclass: malformed policy text */

/* The Python filter installed on `policy` (a strong reference), or NULL. */
static PyObject *filter_callable;

/* Takes an owned string from lazy_bind, returns it as str and frees it. */
static PyObject *take_string(char **string) {
  PyObject *text = PyUnicode_FromString(*string ? *string : "");
  lazy_bind_string_free(string);
  return text;
}

static PyObject *raise_status(const char *call, lazy_bind_result status) {
  PyErr_Format(LazyImportError, "%s: %s", call, lazy_bind_result_message(status));
  return NULL;
}

static int need_policy(void) {
  if (policy == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "no lazy_bind policy is set (call set_policy first)");
    return -1;
  }
  return 0;
}

static PyObject *set_policy(PyObject *module, PyObject *args) {
  (void)module;
  const char *text;
  if (!PyArg_ParseTuple(args, "s", &text)) {
    return NULL;
  }
  lazy_bind_policy *parsed = NULL;
  char *message = NULL;
  lazy_bind_result status = lazy_bind_policy_parse(text, &parsed, &message);
  if (status == LAZY_BIND_POLICY_SYNTAX) {
    PyObject *py_message = take_string(&message);
    if (py_message != NULL) {
      PyErr_SetObject(PolicyError, py_message);
      Py_DECREF(py_message);
    }
    return NULL;
  }
  lazy_bind_string_free(&message);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_parse", status);
  }
  /* The old policy goes with its filter; the new one starts without. */
  lazy_bind_policy_free(&policy);
  Py_CLEAR(filter_callable);
  policy = parsed;
  Py_RETURN_NONE;
}

/* The policy's filter: the Python callable `userdata` gets
 * (importer, target, fromlist tuple, () for a plain import). */
static bool filter_trampoline(void *userdata, const char *importer, const char *target,
                              const char *const *fromlist, size_t fromlist_len) {
  return lazy_bind_cpython_call_filter((PyObject *)userdata, importer, target, fromlist,
                                       fromlist_len, false);
}

static PyObject *set_filter(PyObject *module, PyObject *callable) {
  (void)module;
  if (need_policy() < 0) {
    return NULL;
  }
  if (callable != Py_None && !PyCallable_Check(callable)) {
    PyErr_SetString(PyExc_TypeError, "the filter must be callable or None");
    return NULL;
  }
  lazy_bind_result status =
      callable == Py_None ? lazy_bind_policy_set_filter(policy, NULL, NULL)
                          : lazy_bind_policy_set_filter(policy, filter_trampoline, callable);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_set_filter", status);
  }
  /* Every decide call runs with the GIL held, as does this one: none can
   * still be using the old callable, so it may go now. */
  PyObject *kept = callable == Py_None ? NULL : callable;
  Py_XINCREF(kept);
  Py_XSETREF(filter_callable, kept);
  Py_RETURN_NONE;
}

static PyObject *policy_mode(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  if (need_policy() < 0) {
    return NULL;
  }
  uint32_t mode = 0;
  lazy_bind_result status = lazy_bind_policy_mode(policy, &mode);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_mode", status);
  }
  return PyLong_FromUnsignedLong(mode);
}

static PyObject *set_mode(PyObject *module, PyObject *args) {
  (void)module;
  unsigned int mode;
  if (!PyArg_ParseTuple(args, "I", &mode) || need_policy() < 0) {
    return NULL;
  }
  lazy_bind_result status = lazy_bind_policy_set_mode(policy, mode);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_set_mode", status);
  }
  Py_RETURN_NONE;
}

static lazy_bind_recorder *recorder; /* attached to the engine while tracing */

static PyObject *decide(PyObject *module, PyObject *args) {
  (void)module;
  const char *importer, *target;
  unsigned int flags;
  if (!PyArg_ParseTuple(args, "ssI", &importer, &target, &flags) || need_policy() < 0) {
    return NULL;
  }
  bool defer = false;
  lazy_bind_result status;
  if (recorder == NULL) {
    status = lazy_bind_policy_decide(policy, importer, target, NULL, 0, flags, &defer);
  } else {
    char *reason = NULL;
    status = lazy_bind_policy_explain(policy, importer, target, NULL, 0, flags, &defer, &reason);
    if (status == LAZY_BIND_OK) {
      status = lazy_bind_recorder_record_policy_decision(recorder, importer, target, defer,
                                                         reason);
    }
    lazy_bind_string_free(&reason);
  }
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_decide", status);
  }
  return PyBool_FromLong(defer);
}

static PyObject *explain(PyObject *module, PyObject *args) {
  (void)module;
  const char *importer, *target;
  unsigned int flags = 0;
  if (!PyArg_ParseTuple(args, "ss|I", &importer, &target, &flags) || need_policy() < 0) {
    return NULL;
  }
  bool defer = false;
  char *sentence = NULL;
  lazy_bind_result status =
      lazy_bind_policy_explain(policy, importer, target, NULL, 0, flags, &defer, &sentence);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_explain", status);
  }
  PyObject *text = take_string(&sentence);
  if (text == NULL) {
    return NULL;
  }
  return Py_BuildValue("(ON)", defer ? Py_True : Py_False, text);
}

static PyObject *eager_enter(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  lazy_bind_result status = lazy_bind_eager_scope_enter();
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_eager_scope_enter", status);
  }
  Py_RETURN_NONE;
}

static PyObject *eager_leave(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  lazy_bind_result status = lazy_bind_eager_scope_leave();
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_eager_scope_leave", status);
  }
  Py_RETURN_NONE;
}

/* A list of the messages of every error in `errors`, which it frees. */
static PyObject *error_messages(lazy_bind_error_list **errors) {
  size_t len = lazy_bind_error_list_len(*errors);
  PyObject *list = PyList_New(0);
  for (size_t i = 0; list != NULL && i < len; i++) {
    const lazy_bind_error *error = lazy_bind_error_list_get(*errors, i);
    PyObject *message = PyUnicode_FromString(lazy_bind_error_message(error));
    if (message == NULL || PyList_Append(list, message) < 0) {
      Py_CLEAR(list);
    }
    Py_XDECREF(message);
  }
  lazy_bind_error_list_free(errors);
  return list;
}

static PyObject *policy_disable(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  if (need_policy() < 0) {
    return NULL;
  }
  lazy_bind_error_list *errors = NULL;
  lazy_bind_result status = lazy_bind_policy_disable(policy, engine, NULL, &errors);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_disable", status);
  }
  /* The resolvers handed their exceptions to the engine; none is set. */
  PyErr_Clear();
  return error_messages(&errors);
}

/* ---- tracing ------------------------------------------------------------- */

static PyObject *trace_start(PyObject *module, PyObject *args) {
  (void)module;
  Py_ssize_t capacity;
  if (!PyArg_ParseTuple(args, "n", &capacity)) {
    return NULL;
  }
  if (capacity <= 0) {
    PyErr_SetString(PyExc_ValueError, "the trace capacity must be positive");
    return NULL;
  }
  lazy_bind_recorder *fresh = NULL;
  lazy_bind_result status = lazy_bind_recorder_new((size_t)capacity, &fresh);
  if (status == LAZY_BIND_OK) {
    status = lazy_bind_engine_set_recorder(engine, fresh);
  }
  if (status != LAZY_BIND_OK) {
    lazy_bind_recorder_free(&fresh);
    return raise_status("lazy_bind_recorder_new", status);
  }
  /* The engine holds its own reference to the old recorder until now. */
  lazy_bind_recorder_free(&recorder);
  recorder = fresh;
  Py_RETURN_NONE;
}

static int need_recorder(void) {
  if (recorder == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "tracing is off (call trace_start first)");
    return -1;
  }
  return 0;
}

static PyObject *importtime_report(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  if (need_recorder() < 0) {
    return NULL;
  }
  char *report = NULL;
  lazy_bind_result status = lazy_bind_importtime_report(recorder, engine, &report);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_importtime_report", status);
  }
  return take_string(&report);
}

static PyObject *never_resolved_report(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  char *report = NULL;
  lazy_bind_result status = lazy_bind_never_resolved_report(engine, &report);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_never_resolved_report", status);
  }
  return take_string(&report);
}

static PyObject *write_chrome_trace(PyObject *module, PyObject *args) {
  (void)module;
  PyObject *path_bytes;
  if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &path_bytes)) {
    return NULL;
  }
  if (need_recorder() < 0) {
    Py_DECREF(path_bytes);
    return NULL;
  }
  lazy_bind_result status = lazy_bind_write_chrome_trace(recorder, PyBytes_AS_STRING(path_bytes));
  if (status == LAZY_BIND_IO) {
    PyErr_Format(PyExc_OSError, "cannot write the trace to %s", PyBytes_AS_STRING(path_bytes));
    Py_DECREF(path_bytes);
    return NULL;
  }
  Py_DECREF(path_bytes);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_write_chrome_trace", status);
  }
  Py_RETURN_NONE;
}

/* ---- engine-wide calls --------------------------------------------------- */

static PyObject *counters(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  return lazy_bind_cpython_counters(engine, LazyImportError);
}

static PyObject *after_fork_child(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  lazy_bind_fork_report report;
  lazy_bind_result status = lazy_bind_after_fork_child(engine, &report);
  if (status != LAZY_BIND_OK) {
    PyErr_Format(LazyImportError, "lazy_bind_after_fork_child: %s",
                 lazy_bind_result_message(status));
    return NULL;
  }
  return Py_BuildValue("{snsnsO}", "reset", (Py_ssize_t)report.reset, "lost",
                       (Py_ssize_t)report.lost, "allocation_lost",
                       report.allocation_lost ? Py_True : Py_False);
}

/* The exception type the module-lock mirror raises, once installed. */
static PyObject *ModuleLockDeadlockError;

static PyObject *mirror_module_locks(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  if (ModuleLockDeadlockError == NULL) {
    ModuleLockDeadlockError = lazy_bind_cpython_mirror_module_locks(
        LazyImportDeadlockError, "lazy_bind._native.ModuleLockDeadlockError");
    if (ModuleLockDeadlockError == NULL) {
      return NULL;
    }
  }
  return Py_NewRef(ModuleLockDeadlockError);
}

static PyObject *thread_key(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  return PyLong_FromUnsignedLongLong(lazy_bind_thread_key());
}

static PyMethodDef native_methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(IMPORT_NAME, EXTENDED_ARG, JUMP_BACKWARD, JUMP_BACKWARD_NO_INTERRUPT)\n--\n\n"
     "Tells import_context() this interpreter's opcode numbers."},
    {"import_context", import_context, METH_O,
     "import_context(frame)\n--\n\nFlags: 1 = executing an import statement, 2 = inside "
     "try/except/finally or with, 4 = inside a loop."},
    {"adopt_namespace", adopt_namespace, METH_VARARGS,
     "adopt_namespace(placeholder, module)\n--\n\nMakes `placeholder` (a module) share "
     "`module`'s namespace dict."},
    {"set_policy", set_policy, METH_VARARGS,
     "set_policy(text)\n--\n\nParses policy text (raises PolicyError naming line and column) "
     "and makes it the policy in force."},
    {"set_filter", set_filter, METH_O,
     "set_filter(callable)\n--\n\nInstalls filter(importer, target, fromlist) -> bool on the "
     "policy (False: import eagerly); None removes it."},
    {"policy_mode", policy_mode, METH_NOARGS,
     "policy_mode()\n--\n\nThe mode in force: 0 none, 1 normal, 2 all."},
    {"set_mode", set_mode, METH_VARARGS, "set_mode(mode)\n--\n\nSets the mode (0, 1 or 2)."},
    {"decide", decide, METH_VARARGS,
     "decide(importer, target, context_flags)\n--\n\nWhether the import is deferred "
     "(recorded as a policy decision while tracing)."},
    {"explain", explain, METH_VARARGS,
     "explain(importer, target, context_flags=0)\n--\n\n(deferred, the sentence saying which "
     "rule or context decided)."},
    {"eager_enter", eager_enter, METH_NOARGS,
     "eager_enter()\n--\n\nOpens an eager scope on this thread."},
    {"eager_leave", eager_leave, METH_NOARGS,
     "eager_leave()\n--\n\nCloses this thread's innermost eager scope."},
    {"policy_disable", policy_disable, METH_NOARGS,
     "policy_disable()\n--\n\nThe phase switch: mode none, then resolve everything pending; "
     "returns every failure message."},
    {"trace_start", trace_start, METH_VARARGS,
     "trace_start(capacity)\n--\n\nRecords up to `capacity` events from now on."},
    {"importtime_report", importtime_report, METH_NOARGS,
     "importtime_report()\n--\n\nThe -X importtime-shaped report of the recorded resolutions."},
    {"never_resolved_report", never_resolved_report, METH_NOARGS,
     "never_resolved_report()\n--\n\nOne line per entry never resolved."},
    {"write_chrome_trace", write_chrome_trace, METH_VARARGS,
     "write_chrome_trace(path)\n--\n\nWrites the recorded events as Chrome trace JSON."},
    {"counters", counters, METH_NOARGS, "counters()\n--\n\nThe engine's counters as a dict."},
    {"after_fork_child", after_fork_child, METH_NOARGS,
     "after_fork_child()\n--\n\nRecovers the engine in a forked child."},
    {"mirror_module_locks", mirror_module_locks, METH_NOARGS,
     "mirror_module_locks()\n--\n\nPuts importlib's module locks into the engine's wait-for "
     "graph (from now on); returns the exception type raised for a deadlock through one."},
    {"thread_key", thread_key, METH_NOARGS,
     "thread_key()\n--\n\nThe calling thread's lazy_bind key (as in error chains)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "lazy_bind._native",
    .m_doc = "The lazy_bind engine for CPython, through include/lazy_bind.h.",
    .m_size = -1,
    .m_methods = native_methods,
};

static int add_exception(PyObject *module, PyObject **slot, const char *name, PyObject *base,
                         const char *doc) {
  *slot = PyErr_NewExceptionWithDoc(name, doc, base, NULL);
  if (*slot == NULL) {
    return -1;
  }
  /* `*slot` keeps its reference; the module takes one of its own. */
  return PyModule_AddObjectRef(module, strrchr(name, '.') + 1, *slot);
}

PyMODINIT_FUNC PyInit__native(void) {
  if (lazy_bind_version() != LAZY_BIND_VERSION) {
    PyErr_Format(PyExc_ImportError,
                 "lazy_bind header/library mismatch: header %u.%u.%u, library %s",
                 LAZY_BIND_VERSION_MAJOR, LAZY_BIND_VERSION_MINOR, LAZY_BIND_VERSION_PATCH,
                 lazy_bind_version_string());
    return NULL;
  }
  if (PyType_Ready(&EntryType) < 0) {
    return NULL;
  }
  PyObject *module = PyModule_Create(&native_module);
  if (module == NULL) {
    return NULL;
  }
  if (add_exception(module, &LazyImportError, "lazy_bind._native.LazyImportError",
                    PyExc_ImportError,
                    "A lazy import failed in the engine (its `chain` lists "
                    "(name, file, line, thread) links).") < 0 ||
      add_exception(module, &LazyImportCycleError, "lazy_bind._native.LazyImportCycleError",
                    LazyImportError, "Resolving a lazy import needed itself on the same thread.") <
          0 ||
      add_exception(module, &LazyImportDeadlockError,
                    "lazy_bind._native.LazyImportDeadlockError", LazyImportError,
                    "Threads resolving lazy imports waited for each other.") < 0) {
    Py_DECREF(module);
    return NULL;
  }
  if (add_exception(module, &PolicyError, "lazy_bind._native.PolicyError", PyExc_ValueError,
                    "Malformed policy text; the message names the line and column.") < 0) {
    Py_DECREF(module);
    return NULL;
  }
  Py_INCREF(&EntryType);
  if (PyModule_AddObject(module, "Entry", (PyObject *)&EntryType) < 0) {
    Py_DECREF(&EntryType);
    Py_DECREF(module);
    return NULL;
  }
  if (engine == NULL) {
    lazy_bind_runtime_hooks hooks = lazy_bind_cpython_hooks();
    lazy_bind_result status = lazy_bind_engine_new(&hooks, 0, &engine);
    if (status != LAZY_BIND_OK) {
      Py_DECREF(module);
      PyErr_Format(PyExc_ImportError, "lazy_bind_engine_new: %s",
                   lazy_bind_result_message(status));
      return NULL;
    }
  }
  if (PyModule_AddStringConstant(module, "library_version", lazy_bind_version_string()) < 0) {
    Py_DECREF(module);
    return NULL;
  }
  return module;
}
