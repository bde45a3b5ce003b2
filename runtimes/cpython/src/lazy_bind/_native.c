/* lazy_bind._native: the C half of the CPython adaptor (this file: the
 * module itself; see _native.h for the others).
 *
 * Uses only include/lazy_bind.h, the shared CPython glue and the crate's
 * static library, as a CPython fork would. It owns the process's one engine
 * and the importer over it, and exposes:
 * - lazy_import, the builtins.__import__ replacement, and LazyModule, the
 *   placeholder it binds (_importer.c, _placeholder.c); configure() tells
 *   them this interpreter's opcodes and the original __import__;
 * - importlib's module locks in the engine's wait-for graph
 *   (mirror_module_locks, through the shared glue);
 * - the GIL hooks: a thread that waits for another thread's resolution
 *   releases the GIL in before_block and takes it back in after_wake;
 * - the policy (lazy_bind_policy_*): parse, explain, eager scopes and the
 *   phase switch;
 * - tracing (lazy_bind_recorder_*): the -X importtime report, the
 *   never-resolved list and the Chrome trace;
 * - counters and the fork hook.
 *
 * Every call into the engine happens with the GIL held, except the wait
 * itself (between before_block and after_wake).
 */
#include "_native.h"

#include "lazy_bind_cpython.h"

/* ---- engine and runtime hooks ------------------------------------------ */

lazy_bind_engine *adaptor_engine;
lazy_bind_importer *adaptor_importer;

uint32_t adaptor_fail(void **runtime_error_out) {
  return lazy_bind_cpython_fail(runtime_error_out);
}

/* "__lazy_modules__", interned at module init. */
static PyObject *lazy_modules_key;

bool adaptor_marked_lazy(PyObject *globals, PyObject *target) {
  /* Held: its __contains__ may run code that rebinds it. */
  PyObject *lazy_modules;
  (void)lazy_bind_cpython_dict_get_ref(globals, lazy_modules_key, &lazy_modules);
  PyErr_Clear();
  bool marked = lazy_bind_cpython_named_lazy(lazy_modules, target) > 0;
  Py_XDECREF(lazy_modules);
  return marked;
}

/* The interpreter's own importlib, taken when the importer is made:
 * test suites put other modules into sys.modules under its name. */
static PyObject *bootstrap;

bool adaptor_can_find(void *userdata, const char *name) {
  (void)userdata;
  return lazy_bind_cpython_can_find(bootstrap, name);
}

uint32_t adaptor_set_attr_if_absent(void *userdata, void *module, const char *name, void *value,
                                    void **runtime_error_out) {
  return lazy_bind_cpython_set_attr_if_absent(userdata, module, name, value, runtime_error_out);
}

/* ---- where an import statement sits in its code object ----------------- */

/* This interpreter's opcode numbers, from dis.opmap (configure). */
static lazy_bind_cpython_opcodes opcodes;
static bool opcodes_read;

/* opmap[name] into `*out`, -1 when this interpreter has no such opcode.
 * Returns 0, or -1 with an exception set. */
static int opcode_of(PyObject *opmap, const char *name, int *out) {
  PyObject *value = PyMapping_GetItemString(opmap, name);
  if (value == NULL) {
    if (!PyErr_ExceptionMatches(PyExc_KeyError)) {
      return -1;
    }
    PyErr_Clear();
    *out = -1;
    return 0;
  }
  long number = PyLong_AsLong(value);
  Py_DECREF(value);
  if (number == -1 && PyErr_Occurred()) {
    return -1;
  }
  if (number < 0 || number > 255) {
    PyErr_Format(PyExc_ValueError, "opmap['%s'] must be an opcode number (0-255)", name);
    return -1;
  }
  *out = (int)number;
  return 0;
}

int adaptor_opcodes_configure(PyObject *opmap) {
  lazy_bind_cpython_opcodes read;
  struct {
    const char *name;
    int *slot;
  } wanted[] = {
      {"CACHE", &read.cache},
      {"EXTENDED_ARG", &read.extended_arg},
      {"IMPORT_NAME", &read.import_name},
      {"IMPORT_FROM", &read.import_from},
      {"STORE_NAME", &read.store_name},
      {"STORE_GLOBAL", &read.store_global},
      {"SWAP", &read.swap},
      {"POP_TOP", &read.pop_top},
      {"PUSH_EXC_INFO", &read.push_exc_info},
      {"WITH_EXCEPT_START", &read.with_except_start},
      {"JUMP_BACKWARD", &read.jump_backward},
  };
  for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
    if (opcode_of(opmap, wanted[i].name, wanted[i].slot) < 0) {
      return -1;
    }
  }
  if (read.import_name < 0 || read.extended_arg < 0) {
    PyErr_SetString(PyExc_RuntimeError, "opmap lacks IMPORT_NAME or EXTENDED_ARG");
    return -1;
  }
  opcodes = read;
  opcodes_read = true;
  return 0;
}

int adaptor_import_site_at(PyCodeObject *code, int lasti,
                           const lazy_bind_cpython_import_site **site_out) {
  if (!opcodes_read) {
    PyErr_SetString(PyExc_RuntimeError, "lazy_bind._native.configure() was not called");
    return -1;
  }
  if (lasti < 0) {
    return 0;
  }
  return lazy_bind_cpython_import_site_at(code, lasti / 2, &opcodes, site_out);
}

/* ---- exceptions ---------------------------------------------------------- */

PyObject *adaptor_LazyImportError;
static PyObject *LazyImportCycleError;    /* same-thread cycle */
static PyObject *LazyImportDeadlockError; /* cross-thread deadlock */

void adaptor_raise_engine_error(lazy_bind_result status, const lazy_bind_error *error) {
  lazy_bind_cpython_error_types types = {adaptor_LazyImportError, LazyImportCycleError,
                                         LazyImportDeadlockError};
  lazy_bind_cpython_raise_error(status, error, &types);
}

/* ---- policy -------------------------------------------------------------- */

/* The policy in force, in a capsule that frees it; replaced by set_policy.
 * A call that may run Python code while it uses the policy (the filter in
 * decide and explain, imports in disable) may let another thread replace
 * it meanwhile, so it holds a reference of its own (hold_policy). The
 * capsule's context is a list of every filter callable set on the policy:
 * the engine calls a filter through a borrowed pointer, so a callable lives
 * as long as the policy it was set on, not only until the next set_filter.
 * policy_holder and recorder are read and written under globals_lock. */
static PyObject *policy_holder;
LAZY_BIND_CPYTHON_MUTEX(globals_lock);

static lazy_bind_policy *policy_in(PyObject *holder) {
  return (lazy_bind_policy *)PyCapsule_GetPointer(holder, "lazy_bind_policy");
}

static void free_policy(PyObject *holder) {
  lazy_bind_policy *held = policy_in(holder);
  lazy_bind_policy_free(&held);
  Py_XDECREF((PyObject *)PyCapsule_GetContext(holder));
}

/* The policy in force with a new reference to its holder in `*holder`
 * (release it with Py_XDECREF), or NULL when none is set. */
static lazy_bind_policy *hold_policy(PyObject **holder) {
  LAZY_BIND_CPYTHON_LOCK(globals_lock);
  *holder = Py_XNewRef(policy_holder);
  LAZY_BIND_CPYTHON_UNLOCK(globals_lock);
  return *holder != NULL ? policy_in(*holder) : NULL;
}

static PyObject *PolicyError; /* ValueError subclass: malformed policy text */

/* Takes an owned string from lazy_bind, returns it as str and frees it. */
static PyObject *take_string(char **string) {
  PyObject *text = PyUnicode_FromString(*string ? *string : "");
  lazy_bind_string_free(string);
  return text;
}

static PyObject *raise_status(const char *call, lazy_bind_result status) {
  PyErr_Format(adaptor_LazyImportError, "%s: %s", call, lazy_bind_result_message(status));
  return NULL;
}

/* The policy in force, held as in hold_policy, or NULL with RuntimeError
 * set when none is. */
static lazy_bind_policy *need_policy(PyObject **holder) {
  lazy_bind_policy *policy = hold_policy(holder);
  if (policy == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "no lazy_bind policy is set (call set_policy first)");
  }
  return policy;
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
  PyObject *filters = PyList_New(0);
  PyObject *holder = filters != NULL ? PyCapsule_New(parsed, "lazy_bind_policy", NULL) : NULL;
  if (holder == NULL || PyCapsule_SetContext(holder, filters) < 0 ||
      PyCapsule_SetDestructor(holder, free_policy) < 0) {
    Py_XDECREF(holder);
    Py_XDECREF(filters);
    lazy_bind_policy_free(&parsed);
    return NULL;
  }
  /* The old policy goes with its filters once no call holds it; the new
   * one starts without. */
  LAZY_BIND_CPYTHON_LOCK(globals_lock);
  PyObject *old = policy_holder;
  policy_holder = holder;
  LAZY_BIND_CPYTHON_UNLOCK(globals_lock);
  Py_XDECREF(old);
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
  if (callable != Py_None && !PyCallable_Check(callable)) {
    PyErr_SetString(PyExc_TypeError, "the filter must be callable or None");
    return NULL;
  }
  PyObject *holder;
  lazy_bind_policy *policy = need_policy(&holder);
  if (policy == NULL) {
    return NULL;
  }
  /* Kept with the policy first: the engine may call it from now on. */
  if (callable != Py_None &&
      PyList_Append((PyObject *)PyCapsule_GetContext(holder), callable) < 0) {
    Py_DECREF(holder);
    return NULL;
  }
  lazy_bind_result status =
      callable == Py_None ? lazy_bind_policy_set_filter(policy, NULL, NULL)
                          : lazy_bind_policy_set_filter(policy, filter_trampoline, callable);
  Py_DECREF(holder);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_set_filter", status);
  }
  Py_RETURN_NONE;
}

static PyObject *policy_mode(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  PyObject *holder;
  lazy_bind_policy *policy = need_policy(&holder);
  if (policy == NULL) {
    return NULL;
  }
  uint32_t mode = 0;
  lazy_bind_result status = lazy_bind_policy_mode(policy, &mode);
  Py_DECREF(holder);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_mode", status);
  }
  return PyLong_FromUnsignedLong(mode);
}

static PyObject *set_mode(PyObject *module, PyObject *args) {
  (void)module;
  unsigned int mode;
  PyObject *holder;
  lazy_bind_policy *policy;
  if (!PyArg_ParseTuple(args, "I", &mode) || (policy = need_policy(&holder)) == NULL) {
    return NULL;
  }
  lazy_bind_result status = lazy_bind_policy_set_mode(policy, mode);
  Py_DECREF(holder);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_policy_set_mode", status);
  }
  Py_RETURN_NONE;
}

/* The recorder attached to the engine while tracing, or NULL. Replaced by
 * trace_start and used (by engine calls that run no runtime code) with
 * globals_lock held, so a use never meets a freed one. */
static lazy_bind_recorder *recorder;

int adaptor_decide(const char *importer, const char *target, uint32_t flags) {
  PyObject *holder;
  lazy_bind_policy *policy = hold_policy(&holder);
  if (policy == NULL) {
    return 0;
  }
  bool defer = false;
  LAZY_BIND_CPYTHON_LOCK(globals_lock);
  bool tracing = recorder != NULL;
  LAZY_BIND_CPYTHON_UNLOCK(globals_lock);
  lazy_bind_result status;
  if (!tracing) {
    status = lazy_bind_policy_decide(policy, importer, target, NULL, 0, flags, &defer);
  } else {
    /* The filter may run here: no lock held. */
    char *reason = NULL;
    status = lazy_bind_policy_explain(policy, importer, target, NULL, 0, flags, &defer, &reason);
    LAZY_BIND_CPYTHON_LOCK(globals_lock);
    if (status == LAZY_BIND_OK && recorder != NULL) {
      status = lazy_bind_recorder_record_policy_decision(recorder, importer, target, defer,
                                                         reason);
    }
    LAZY_BIND_CPYTHON_UNLOCK(globals_lock);
    lazy_bind_string_free(&reason);
  }
  Py_DECREF(holder);
  if (status != LAZY_BIND_OK) {
    raise_status("lazy_bind_policy_decide", status);
    return -1;
  }
  return defer;
}

static PyObject *explain(PyObject *module, PyObject *args) {
  (void)module;
  const char *importer, *target;
  unsigned int flags = 0;
  PyObject *holder;
  lazy_bind_policy *policy;
  if (!PyArg_ParseTuple(args, "ss|I", &importer, &target, &flags) ||
      (policy = need_policy(&holder)) == NULL) {
    return NULL;
  }
  /* Mode normal: the importer's __lazy_modules__ marks the import. */
  PyObject *importer_name = PyUnicode_FromString(importer);
  PyObject *target_name = PyUnicode_FromString(target);
  PyObject *loaded = importer_name != NULL ? PyImport_GetModule(importer_name) : NULL;
  if (loaded != NULL && target_name != NULL && PyModule_Check(loaded) &&
      adaptor_marked_lazy(PyModule_GetDict(loaded), target_name)) {
    flags |= LAZY_BIND_CONTEXT_MARKED_LAZY;
  }
  Py_XDECREF(loaded);
  Py_XDECREF(importer_name);
  Py_XDECREF(target_name);
  PyErr_Clear();
  bool defer = false;
  char *sentence = NULL;
  lazy_bind_result status =
      lazy_bind_policy_explain(policy, importer, target, NULL, 0, flags, &defer, &sentence);
  Py_DECREF(holder);
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
  PyObject *holder;
  lazy_bind_policy *policy = need_policy(&holder);
  if (policy == NULL) {
    return NULL;
  }
  lazy_bind_error_list *errors = NULL;
  lazy_bind_result status = lazy_bind_policy_disable(policy, adaptor_engine, NULL, &errors);
  Py_DECREF(holder);
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
    status = lazy_bind_engine_set_recorder(adaptor_engine, fresh);
  }
  if (status != LAZY_BIND_OK) {
    lazy_bind_recorder_free(&fresh);
    return raise_status("lazy_bind_recorder_new", status);
  }
  /* The engine held its own reference to the old recorder until now. */
  LAZY_BIND_CPYTHON_LOCK(globals_lock);
  lazy_bind_recorder *old = recorder;
  recorder = fresh;
  LAZY_BIND_CPYTHON_UNLOCK(globals_lock);
  lazy_bind_recorder_free(&old);
  Py_RETURN_NONE;
}

/* Locks globals_lock and returns the recorder, or unlocks it again and
 * returns NULL with RuntimeError set when tracing is off. Unlock after
 * using the recorder. */
static lazy_bind_recorder *lock_recorder(void) {
  LAZY_BIND_CPYTHON_LOCK(globals_lock);
  if (recorder == NULL) {
    LAZY_BIND_CPYTHON_UNLOCK(globals_lock);
    PyErr_SetString(PyExc_RuntimeError, "tracing is off (call trace_start first)");
  }
  return recorder;
}

static PyObject *importtime_report(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  lazy_bind_recorder *held = lock_recorder();
  if (held == NULL) {
    return NULL;
  }
  char *report = NULL;
  lazy_bind_result status = lazy_bind_importtime_report(held, adaptor_engine, &report);
  LAZY_BIND_CPYTHON_UNLOCK(globals_lock);
  if (status != LAZY_BIND_OK) {
    return raise_status("lazy_bind_importtime_report", status);
  }
  return take_string(&report);
}

static PyObject *never_resolved_report(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  char *report = NULL;
  lazy_bind_result status = lazy_bind_never_resolved_report(adaptor_engine, &report);
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
  lazy_bind_recorder *held = lock_recorder();
  if (held == NULL) {
    Py_DECREF(path_bytes);
    return NULL;
  }
  lazy_bind_result status = lazy_bind_write_chrome_trace(held, PyBytes_AS_STRING(path_bytes));
  LAZY_BIND_CPYTHON_UNLOCK(globals_lock);
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
  return lazy_bind_cpython_counters(adaptor_engine, adaptor_LazyImportError);
}

static PyObject *after_fork_child(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  lazy_bind_fork_report report;
  lazy_bind_result status = lazy_bind_after_fork_child(adaptor_engine, &report);
  if (status != LAZY_BIND_OK) {
    PyErr_Format(adaptor_LazyImportError, "lazy_bind_after_fork_child: %s",
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

static PyObject *lazy_modules(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  return lazy_bind_cpython_lazy_modules(adaptor_importer, adaptor_LazyImportError);
}

/* lazy_bind's built-in opt-outs that this adaptor needs (not those that
 * only a runtime deferring `from` imports does), as [(rule, reason)]. */
static PyObject *builtin_rules(PyObject *module, PyObject *unused) {
  (void)module, (void)unused;
  PyObject *rules = PyList_New(0);
  const char *rule = NULL, *reason = NULL;
  bool lazy_from_only = false;
  for (size_t i = 0;
       rules != NULL && lazy_bind_builtin_rule(i, &rule, &reason, &lazy_from_only) == LAZY_BIND_OK;
       i++) {
    if (lazy_from_only) {
      continue;
    }
    PyObject *pair = Py_BuildValue("(ss)", rule, reason);
    if (pair == NULL || PyList_Append(rules, pair) < 0) {
      Py_CLEAR(rules);
    }
    Py_XDECREF(pair);
  }
  return rules;
}

static PyObject *configure(PyObject *module, PyObject *args) {
  (void)module;
  PyObject *opmap, *original_import;
  if (!PyArg_ParseTuple(args, "OO", &opmap, &original_import) ||
      adaptor_opcodes_configure(opmap) < 0 ||
      adaptor_importer_configure(original_import) < 0) {
    return NULL;
  }
  Py_RETURN_NONE;
}

static PyMethodDef native_methods[] = {
    {"lazy_modules", lazy_modules, METH_NOARGS,
     "lazy_modules()\n--\n\nThe modules lazily imported and not loaded yet (a new set)."},
    {"builtin_rules", builtin_rules, METH_NOARGS,
     "builtin_rules()\n--\n\nlazy_bind's built-in opt-outs for this adaptor: [(rule, reason)]."},
    {"configure", configure, METH_VARARGS,
     "configure(opmap, original_import)\n--\n\nTells lazy_import this interpreter's "
     "opcode numbers (dis.opmap) and the __import__ to fall back to."},
    {"lazy_import", (PyCFunction)(void (*)(void))adaptor_lazy_import,
     METH_FASTCALL | METH_KEYWORDS,
     "lazy_import(name, globals=None, locals=None, fromlist=(), level=0)\n--\n\n"
     "The replacement for builtins.__import__: defers an eligible module-level\n"
     "import statement (binding a LazyModule), imports everything else with the\n"
     "original __import__."},
    {"set_policy", set_policy, METH_VARARGS,
     "set_policy(text)\n--\n\nParses policy text (raises PolicyError naming line and column) "
     "and makes it the policy in force."},
    {"set_filter", set_filter, METH_O,
     "set_filter(callable)\n--\n\nInstalls filter(importer, target, fromlist) -> bool on the "
     "policy (False: import eagerly); None removes it."},
    {"policy_mode", policy_mode, METH_NOARGS,
     "policy_mode()\n--\n\nThe mode in force: 0 none, 1 normal, 2 all."},
    {"set_mode", set_mode, METH_VARARGS, "set_mode(mode)\n--\n\nSets the mode (0, 1 or 2)."},
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
  PyObject *module = PyModule_Create(&native_module);
  if (module == NULL) {
    return NULL;
  }
  if (add_exception(module, &adaptor_LazyImportError, "lazy_bind._native.LazyImportError",
                    PyExc_ImportError,
                    "A lazy import failed in the engine (its `chain` lists "
                    "(name, file, line, thread) links).") < 0 ||
      add_exception(module, &LazyImportCycleError, "lazy_bind._native.LazyImportCycleError",
                    adaptor_LazyImportError, "Resolving a lazy import needed itself on the same thread.") <
          0 ||
      add_exception(module, &LazyImportDeadlockError,
                    "lazy_bind._native.LazyImportDeadlockError", adaptor_LazyImportError,
                    "Threads resolving lazy imports waited for each other.") < 0) {
    Py_DECREF(module);
    return NULL;
  }
  if (add_exception(module, &PolicyError, "lazy_bind._native.PolicyError", PyExc_ValueError,
                    "Malformed policy text; the message names the line and column.") < 0) {
    Py_DECREF(module);
    return NULL;
  }
  if (lazy_modules_key == NULL &&
      (lazy_modules_key = PyUnicode_InternFromString("__lazy_modules__")) == NULL) {
    Py_DECREF(module);
    return NULL;
  }
  if (adaptor_placeholder_init(module) < 0) {
    Py_DECREF(module);
    return NULL;
  }
  if (adaptor_engine == NULL) {
    lazy_bind_runtime_hooks hooks = lazy_bind_cpython_hooks();
    lazy_bind_result status = lazy_bind_engine_new(&hooks, 0, &adaptor_engine);
    if (status != LAZY_BIND_OK) {
      Py_DECREF(module);
      PyErr_Format(PyExc_ImportError, "lazy_bind_engine_new: %s",
                   lazy_bind_result_message(status));
      return NULL;
    }
    /* At the first import of this module: the real one (frozen, in
     * sys.modules since start-up). Kept for the process, as the engine. */
    bootstrap = PyImport_ImportModule("_frozen_importlib");
    if (bootstrap == NULL || adaptor_importer_create() < 0) {
      Py_DECREF(module);
      return NULL;
    }
  }
  if (PyModule_AddStringConstant(module, "library_version", lazy_bind_version_string()) < 0) {
    Py_DECREF(module);
    return NULL;
  }
#ifdef Py_GIL_DISABLED
  /* Correct without the GIL: see "free-threaded CPython" in
   * lazy_bind_cpython.h and _native.h. */
  if (PyUnstable_Module_SetGIL(module, Py_MOD_GIL_NOT_USED) < 0) {
    Py_DECREF(module);
    return NULL;
  }
#endif
  return module;
}
