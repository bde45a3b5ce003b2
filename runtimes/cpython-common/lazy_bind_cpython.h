/* lazy_bind_cpython.h: the glue between CPython and lazy_bind that every
 * CPython embedding needs, shared by the stock adaptor (runtimes/cpython,
 * a C extension) and the CPython fork (runtimes/cpython-fork, inside the
 * interpreter, where build.sh copies this file to Include/internal/):
 * - the runtime hooks (values are PyObject pointers; a thread waiting for
 *   another thread's resolution releases the GIL; error objects are
 *   described as `Type: message`), the hand-over of a failed hook's
 *   exception, and raising it again where the binding was used;
 * - the Python exception for an engine error (`chain` and `name` set);
 * - importlib's module locks in the engine's wait-for graph, so that a
 *   deadlock through an entry and a module lock is reported, not hung;
 * - the body of a policy filter that calls a Python callable;
 * - the engine's counters as a dict;
 * - the lookup of 3.11's exception tables (which handler covers a code
 *   unit).
 * Header-only: include it, after Python.h and lazy_bind.h, from one file. */
#ifndef LAZY_BIND_CPYTHON_H
#define LAZY_BIND_CPYTHON_H

#include <stdbool.h>
#include <stdio.h>

/* The thread state a waiting thread gave up in before_block; a thread waits
 * for at most one resolution at a time, so one slot per thread. */
static _Thread_local PyThreadState *lazy_bind_cpython_waiting_state;

static inline void lazy_bind_cpython_retain(void *userdata, void *value) {
  (void)userdata;
  PyGILState_STATE gil = PyGILState_Ensure();
  Py_INCREF((PyObject *)value);
  PyGILState_Release(gil);
}

static inline void lazy_bind_cpython_release(void *userdata, void *value) {
  (void)userdata;
  PyGILState_STATE gil = PyGILState_Ensure();
  Py_DECREF((PyObject *)value);
  PyGILState_Release(gil);
}

static inline void lazy_bind_cpython_before_block(void *userdata) {
  (void)userdata;
  lazy_bind_cpython_waiting_state = PyEval_SaveThread();
}

static inline void lazy_bind_cpython_after_wake(void *userdata) {
  (void)userdata;
  PyThreadState *state = lazy_bind_cpython_waiting_state;
  lazy_bind_cpython_waiting_state = NULL;
  PyEval_RestoreThread(state);
}

/* The engine's text for an exception a resolver handed back: `Type: message`
 * (the engine asks right after the failing hook returned, GIL held). */
static inline size_t lazy_bind_cpython_describe(void *userdata, void *error, char *buffer,
                                                size_t capacity) {
  (void)userdata;
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  PyObject *exc = (PyObject *)error;
  PyObject *text = PyObject_Str(exc);
  const char *message = text != NULL ? PyUnicode_AsUTF8(text) : NULL;
  int written = message != NULL && *message
                    ? snprintf(buffer, capacity, "%s: %s", Py_TYPE(exc)->tp_name, message)
                    : snprintf(buffer, capacity, "%s", Py_TYPE(exc)->tp_name);
  Py_XDECREF(text);
  PyErr_Restore(type, value, traceback);
  return written < 0 ? 0 : (size_t)written;
}

/* Hands the pending exception (normalised, with its traceback) to the
 * engine as a failed hook's runtime error object; returns the status the
 * hook returns. */
static inline uint32_t lazy_bind_cpython_fail(void **runtime_error_out) {
  PyObject *type, *exc, *traceback;
  PyErr_Fetch(&type, &exc, &traceback);
  PyErr_NormalizeException(&type, &exc, &traceback);
  if (exc != NULL && traceback != NULL) {
    PyException_SetTraceback(exc, traceback);
  }
  Py_XDECREF(type);
  Py_XDECREF(traceback);
  *runtime_error_out = exc;
  return LAZY_BIND_RESOLVER_FAILED;
}

/* Raises `exc`, the exception a resolver failed with (the error's runtime
 * value), again at the point of use, with a note naming the lazy
 * declaration and the access that failed. Several waiters of one attempt
 * share the object: the note is added once. Always leaves an exception
 * set (another one if adding the note failed). */
static inline void lazy_bind_cpython_raise_original(PyObject *exc,
                                                    const lazy_bind_error *error) {
  const char *name = lazy_bind_error_declaration_name(error);
  const char *declared = lazy_bind_error_declaration_file(error);
  const char *accessed = lazy_bind_error_access_file(error);
  PyObject *note = PyUnicode_FromFormat(
      "lazy import of '%s' declared at %s:%u failed while resolving at %s:%u",
      name ? name : "?", declared ? declared : "<unknown>",
      (unsigned int)lazy_bind_error_declaration_line(error), accessed ? accessed : "<unknown>",
      (unsigned int)lazy_bind_error_access_line(error));
  if (note == NULL) {
    return;
  }
  PyObject *notes = PyObject_GetAttrString(exc, "__notes__");
  int present = 0;
  if (notes == NULL) {
    PyErr_Clear();
  } else {
    present = PySequence_Contains(notes, note);
    Py_DECREF(notes);
  }
  if (present == 0) {
    PyObject *added = PyObject_CallMethod(exc, "add_note", "O", note);
    Py_XDECREF(added);
  }
  Py_DECREF(note);
  if (present < 0 || PyErr_Occurred()) {
    return;
  }
  PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
}

/* The exception types a runtime raises for engine errors: `base` for any
 * engine failure, `cycle` and `deadlock` (subclasses of it) for those. */
typedef struct {
  PyObject *base;
  PyObject *cycle;
  PyObject *deadlock;
} lazy_bind_cpython_error_types;

/* A list of (name, file, line, thread) for a cycle or deadlock chain, the
 * threads as lazy_bind thread keys; NULL with an exception set on failure. */
static inline PyObject *lazy_bind_cpython_chain(const lazy_bind_error *error) {
  size_t len = lazy_bind_error_chain_len(error);
  PyObject *list = PyList_New((Py_ssize_t)len);
  for (size_t i = 0; list != NULL && i < len; i++) {
    PyObject *link = Py_BuildValue("(szIK)", lazy_bind_error_chain_name(error, i),
                                   lazy_bind_error_chain_file(error, i),
                                   (unsigned int)lazy_bind_error_chain_line(error, i),
                                   (unsigned long long)lazy_bind_error_chain_thread(error, i));
    if (link == NULL) {
      Py_CLEAR(list);
      break;
    }
    PyList_SET_ITEM(list, (Py_ssize_t)i, link);
  }
  return list;
}

/* Raises `type(message)` with `chain` (see lazy_bind_cpython_chain) and,
 * where the error names a declaration, `name` set. */
static inline void lazy_bind_cpython_raise_as(PyObject *type, lazy_bind_result status,
                                              const lazy_bind_error *error) {
  const char *message = error ? lazy_bind_error_message(error) : lazy_bind_result_message(status);
  const char *name = error ? lazy_bind_error_declaration_name(error) : NULL;
  PyObject *exc = PyObject_CallFunction(type, "s", message);
  if (exc == NULL) {
    return;
  }
  PyObject *chain = error ? lazy_bind_cpython_chain(error) : PyList_New(0);
  int failed = chain == NULL || PyObject_SetAttrString(exc, "chain", chain) < 0;
  Py_XDECREF(chain);
  if (!failed && name != NULL) {
    PyObject *py_name = PyUnicode_FromString(name);
    failed = py_name == NULL || PyObject_SetAttrString(exc, "name", py_name) < 0;
    Py_XDECREF(py_name);
  }
  if (!failed) {
    PyErr_SetObject(type, exc);
  }
  Py_DECREF(exc);
}

/* Raises the Python exception for a failed resolution: the resolver's own
 * exception again (lazy_bind_cpython_raise_original) where there is one,
 * else the engine's error as `types->cycle`, `types->deadlock` or
 * `types->base`. Always leaves an exception set. */
static inline void lazy_bind_cpython_raise_error(lazy_bind_result status,
                                                 const lazy_bind_error *error,
                                                 const lazy_bind_cpython_error_types *types) {
  if (status == LAZY_BIND_RESOLVER_FAILED && error != NULL &&
      lazy_bind_error_runtime_value(error) != NULL) {
    lazy_bind_cpython_raise_original((PyObject *)lazy_bind_error_runtime_value(error), error);
    return;
  }
  PyObject *type = status == LAZY_BIND_CYCLE      ? types->cycle
                   : status == LAZY_BIND_DEADLOCK ? types->deadlock
                                                  : types->base;
  lazy_bind_cpython_raise_as(type, status, error);
}

/* ---- importlib's module locks in the engine's wait-for graph -------------
 *
 * A cycle can run through an entry and one of importlib's per-module locks:
 * T1 resolves entry A and, importing `a`, waits for the lock of module `m`,
 * which T2 holds while `m`'s body touches the name bound to A. Each
 * `_ModuleLock` therefore gets a twin lazy_bind_runtime_lock: its
 * acquisitions and releases are reported, and a wait on it is bracketed by
 * lazy_bind_external_wait_begin/_end, so every wait, on an entry or on a
 * module lock, is in the engine's one wait-for graph and whichever thread
 * closes a cycle is told. lazy_bind_cpython_mirror_module_locks puts a
 * subclass of `_frozen_importlib._ModuleLock` in its place that does this
 * around the original methods.
 *
 * The error raised then is `deadlock` (the runtime's deadlock type) and
 * importlib's `_DeadlockError` at once, so importlib treats it as its own:
 * an import of a module that another thread is still initialising gets the
 * partial module, as for any concurrent circular import. A cycle through
 * module locks only stays importlib's to find and report, as in eager
 * Python. */

/* What the mirroring methods share, a tuple: the original methods, the
 * error type, and the names of the attributes they read, made once. */
enum {
  LAZY_BIND_CPYTHON_LOCK_ACQUIRE,
  LAZY_BIND_CPYTHON_LOCK_RELEASE,
  LAZY_BIND_CPYTHON_LOCK_ERROR,
  LAZY_BIND_CPYTHON_LOCK_OWNER,
  LAZY_BIND_CPYTHON_LOCK_COUNT,
  LAZY_BIND_CPYTHON_LOCK_NAME,
  LAZY_BIND_CPYTHON_LOCK_TWIN,
  LAZY_BIND_CPYTHON_LOCK_SHARED_LEN
};

#define LAZY_BIND_CPYTHON_SHARED(shared, what) PyTuple_GET_ITEM(shared, LAZY_BIND_CPYTHON_LOCK_##what)

/* `obj.<name>` into `*out` (a new reference): 1 if it exists, 0 if not (no
 * exception set), -1 with an exception set. */
static inline int lazy_bind_cpython_optional_attr(PyObject *obj, PyObject *name, PyObject **out) {
  /* Without raising (and clearing) an AttributeError when it is missing. */
#if PY_VERSION_HEX >= 0x030D0000
  return PyObject_GetOptionalAttr(obj, name, out);
#else
  return _PyObject_LookupAttr(obj, name, out);
#endif
}

static inline void lazy_bind_cpython_free_runtime_lock(PyObject *capsule) {
  lazy_bind_runtime_lock *lock =
      (lazy_bind_runtime_lock *)PyCapsule_GetPointer(capsule, "lazy_bind_runtime_lock");
  lazy_bind_runtime_lock_free(&lock);
}

/* The twin of the module lock `self`, made on first use and kept on it as
 * `_lazy_bind_lock`; NULL with an exception set on failure (borrowed). */
static inline lazy_bind_runtime_lock *lazy_bind_cpython_twin(PyObject *shared, PyObject *self) {
  PyObject *capsule;
  int found =
      lazy_bind_cpython_optional_attr(self, LAZY_BIND_CPYTHON_SHARED(shared, TWIN), &capsule);
  if (found < 0) {
    return NULL;
  }
  if (!found) {
    PyObject *name = PyObject_GetAttr(self, LAZY_BIND_CPYTHON_SHARED(shared, NAME));
    /* A module name need not be encodable (a file name's surrogates). */
    PyObject *encoded = name != NULL && PyUnicode_Check(name)
                            ? PyUnicode_AsEncodedString(name, "utf-8", "backslashreplace")
                            : NULL;
    lazy_bind_runtime_lock *lock = NULL;
    if (encoded != NULL) {
      char what[256];
      snprintf(what, sizeof what, "the import lock of module '%s'", PyBytes_AS_STRING(encoded));
      lazy_bind_result status = lazy_bind_runtime_lock_new(what, NULL, 0, &lock);
      if (status != LAZY_BIND_OK) {
        PyErr_Format(PyExc_RuntimeError, "lazy_bind_runtime_lock_new: %s",
                     lazy_bind_result_message(status));
      }
    } else if (name != NULL && !PyErr_Occurred()) {
      PyErr_SetString(PyExc_TypeError, "a module lock's name must be a str");
    }
    Py_XDECREF(encoded);
    Py_XDECREF(name);
    if (lock == NULL) {
      return NULL;
    }
    capsule = PyCapsule_New(lock, "lazy_bind_runtime_lock", lazy_bind_cpython_free_runtime_lock);
    if (capsule == NULL) {
      lazy_bind_runtime_lock_free(&lock);
      return NULL;
    }
    if (PyObject_SetAttr(self, LAZY_BIND_CPYTHON_SHARED(shared, TWIN), capsule) < 0) {
      Py_DECREF(capsule);
      return NULL;
    }
  }
  lazy_bind_runtime_lock *lock =
      (lazy_bind_runtime_lock *)PyCapsule_GetPointer(capsule, "lazy_bind_runtime_lock");
  /* The module lock keeps the capsule alive. */
  Py_DECREF(capsule);
  return lock;
}

/* 1 if the calling thread holds the module lock `self`, 0 if not, -1 with
 * an exception set. Only the holder sets `owner` to its own id, so the
 * answer cannot change under the caller. */
static inline int lazy_bind_cpython_holds(PyObject *shared, PyObject *self) {
  PyObject *owner = PyObject_GetAttr(self, LAZY_BIND_CPYTHON_SHARED(shared, OWNER));
  if (owner == NULL) {
    return -1;
  }
  int mine = 0;
  if (PyLong_Check(owner)) {
    unsigned long id = PyLong_AsUnsignedLong(owner);
    mine = id == (unsigned long)-1 && PyErr_Occurred() ? -1 : id == PyThread_get_thread_ident();
  }
  Py_DECREF(owner);
  return mine;
}

/* Whether the deadlock the engine found runs through an entry: some link
 * after the lock this thread was about to wait for is an entry (the first
 * link may only be the entry this thread is resolving). */
static inline bool lazy_bind_cpython_through_entry(const lazy_bind_error *error) {
  size_t len = lazy_bind_error_chain_len(error);
  size_t i = 0;
  while (i < len && !lazy_bind_error_chain_is_runtime_lock(error, i)) {
    i++;
  }
  for (i++; i < len; i++) {
    if (!lazy_bind_error_chain_is_runtime_lock(error, i)) {
      return true;
    }
  }
  return false;
}

/* _ModuleLock.acquire(self), mirrored: the wait is in the engine's graph. */
static inline PyObject *lazy_bind_cpython_lock_acquire(PyObject *shared, PyObject *self) {
  PyObject *acquire = LAZY_BIND_CPYTHON_SHARED(shared, ACQUIRE);
  lazy_bind_runtime_lock *twin = lazy_bind_cpython_twin(shared, self);
  int mine = twin != NULL ? lazy_bind_cpython_holds(shared, self) : -1;
  if (mine < 0) {
    return NULL;
  }
  if (mine) {
    /* Re-entered by its holder: never blocks, the holder stays. */
    return PyObject_CallOneArg(acquire, self);
  }
  lazy_bind_external_wait *wait = NULL;
  lazy_bind_error *error = NULL;
  lazy_bind_result status = lazy_bind_external_wait_begin(twin, NULL, 0, &wait, &error);
  if (status == LAZY_BIND_DEADLOCK && lazy_bind_cpython_through_entry(error)) {
    lazy_bind_cpython_raise_as(LAZY_BIND_CPYTHON_SHARED(shared, ERROR), status, error);
    lazy_bind_error_free(&error);
    return NULL;
  }
  lazy_bind_error_free(&error);
  if (status != LAZY_BIND_OK && status != LAZY_BIND_DEADLOCK) {
    PyErr_Format(PyExc_RuntimeError, "lazy_bind_external_wait_begin: %s",
                 lazy_bind_result_message(status));
    return NULL;
  }
  /* On a cycle of module locks only, nothing was recorded and importlib's
   * own detection raises its _DeadlockError. */
  PyObject *result = PyObject_CallOneArg(acquire, self);
  lazy_bind_result ended = lazy_bind_external_wait_end(&wait);
  if (result != NULL) {
    ended = ended == LAZY_BIND_OK ? lazy_bind_runtime_lock_acquired(twin) : ended;
    if (ended != LAZY_BIND_OK) {
      Py_DECREF(result);
      PyErr_Format(PyExc_RuntimeError, "lazy_bind runtime lock: %s",
                   lazy_bind_result_message(ended));
      return NULL;
    }
  }
  return result;
}

/* _ModuleLock.release(self), mirrored: the last release is reported before
 * the lock is given back, so no new holder's report is overwritten. */
static inline PyObject *lazy_bind_cpython_lock_release(PyObject *shared, PyObject *self) {
  lazy_bind_runtime_lock *twin = lazy_bind_cpython_twin(shared, self);
  if (twin == NULL) {
    return NULL;
  }
  PyObject *count = PyObject_GetAttr(self, LAZY_BIND_CPYTHON_SHARED(shared, COUNT));
  if (count == NULL) {
    return NULL;
  }
  long held = PyLong_AsLong(count);
  Py_DECREF(count);
  if (held == -1 && PyErr_Occurred()) {
    return NULL;
  }
  int mine = lazy_bind_cpython_holds(shared, self);
  if (mine < 0) {
    return NULL;
  }
  if (mine && held == 1) {
    lazy_bind_result status = lazy_bind_runtime_lock_released(twin);
    if (status != LAZY_BIND_OK) {
      PyErr_Format(PyExc_RuntimeError, "lazy_bind_runtime_lock_released: %s",
                   lazy_bind_result_message(status));
      return NULL;
    }
  }
  return PyObject_CallOneArg(LAZY_BIND_CPYTHON_SHARED(shared, RELEASE), self);
}

static PyMethodDef lazy_bind_cpython_lock_acquire_def = {
    "acquire", (PyCFunction)lazy_bind_cpython_lock_acquire, METH_O,
    "Acquire the module lock; a wait is in lazy_bind's wait-for graph."};
static PyMethodDef lazy_bind_cpython_lock_release_def = {
    "release", (PyCFunction)lazy_bind_cpython_lock_release, METH_O,
    "Release the module lock, reporting the last release to lazy_bind."};

/* A method of the subclass: `def` bound to `shared`, and bound to the
 * instance like a function defined in the class body. */
static inline PyObject *lazy_bind_cpython_method(PyMethodDef *def, PyObject *shared) {
  PyObject *function = PyCFunction_New(def, shared);
  if (function == NULL) {
    return NULL;
  }
  PyObject *method = PyInstanceMethod_New(function);
  Py_DECREF(function);
  return method;
}

/* The mirroring subclass of `base` (`_frozen_importlib._ModuleLock`) that
 * raises `error` for a cycle through an entry; NULL with an exception set. */
static inline PyObject *lazy_bind_cpython_mirror_class(PyObject *base, PyObject *error) {
  PyObject *acquire = PyObject_GetAttrString(base, "acquire");
  PyObject *release = acquire != NULL ? PyObject_GetAttrString(base, "release") : NULL;
  PyObject *shared = release != NULL ? PyTuple_New(LAZY_BIND_CPYTHON_LOCK_SHARED_LEN) : NULL;
  if (shared != NULL) {
    PyObject *items[LAZY_BIND_CPYTHON_LOCK_SHARED_LEN] = {
        Py_NewRef(acquire),
        Py_NewRef(release),
        Py_NewRef(error),
        PyUnicode_InternFromString("owner"),
        PyUnicode_InternFromString("count"),
        PyUnicode_InternFromString("name"),
        PyUnicode_InternFromString("_lazy_bind_lock"),
    };
    bool complete = true;
    for (Py_ssize_t i = 0; i < LAZY_BIND_CPYTHON_LOCK_SHARED_LEN; i++) {
      PyTuple_SET_ITEM(shared, i, items[i]);
      complete = complete && items[i] != NULL;
    }
    if (!complete) {
      Py_CLEAR(shared); /* frees the items made; a tuple skips NULL slots */
    }
  }
  Py_XDECREF(release);
  Py_XDECREF(acquire);
  if (shared == NULL) {
    return NULL;
  }
  PyObject *acquire_method = lazy_bind_cpython_method(&lazy_bind_cpython_lock_acquire_def, shared);
  PyObject *release_method = acquire_method != NULL
                                 ? lazy_bind_cpython_method(&lazy_bind_cpython_lock_release_def,
                                                            shared)
                                 : NULL;
  Py_DECREF(shared);
  PyObject *body = release_method != NULL
                       ? Py_BuildValue("{sOsOsOss}", "acquire", acquire_method, "release",
                                       release_method, "_lazy_bind_deadlock_error", error,
                                       "__module__", "_frozen_importlib")
                       : NULL;
  Py_XDECREF(release_method);
  Py_XDECREF(acquire_method);
  if (body == NULL) {
    return NULL;
  }
  PyObject *subclass =
      PyObject_CallFunction((PyObject *)&PyType_Type, "s(O)O", "_ModuleLock", base, body);
  Py_DECREF(body);
  return subclass;
}

/* Puts a mirroring subclass of `_frozen_importlib._ModuleLock` in its place:
 * module locks made from now on report to the engine. Returns (a new
 * reference to) the exception type raised for a cycle through an entry,
 * named `deadlock_name`, a subclass of `deadlock_base` and of importlib's
 * `_DeadlockError`; if the mirror is in place already, its type. NULL with
 * an exception set on failure. */
static inline PyObject *lazy_bind_cpython_mirror_module_locks(PyObject *deadlock_base,
                                                              const char *deadlock_name) {
  PyObject *bootstrap = PyImport_ImportModule("_frozen_importlib");
  PyObject *base = bootstrap != NULL ? PyObject_GetAttrString(bootstrap, "_ModuleLock") : NULL;
  PyObject *error = NULL;
  PyObject *mark = PyUnicode_InternFromString("_lazy_bind_deadlock_error");
  int mirrored = base != NULL && mark != NULL ? lazy_bind_cpython_optional_attr(base, mark, &error) : -1;
  Py_XDECREF(mark);
  if (mirrored != 0) {
    Py_XDECREF(base);
    Py_XDECREF(bootstrap);
    return error; /* the mirror's, or NULL on failure */
  }
  PyObject *importlib_deadlock = PyObject_GetAttrString(bootstrap, "_DeadlockError");
  PyObject *bases =
      importlib_deadlock != NULL ? PyTuple_Pack(2, deadlock_base, importlib_deadlock) : NULL;
  Py_XDECREF(importlib_deadlock);
  error = bases != NULL ? PyErr_NewExceptionWithDoc(
                              deadlock_name,
                              "Waiting for an import lock would close a cycle of waits through a "
                              "lazy import; the message and `chain` name it.",
                              bases, NULL)
                        : NULL;
  Py_XDECREF(bases);
  PyObject *subclass = error != NULL ? lazy_bind_cpython_mirror_class(base, error) : NULL;
  if (subclass == NULL || PyObject_SetAttrString(bootstrap, "_ModuleLock", subclass) < 0) {
    Py_CLEAR(error);
  }
  Py_XDECREF(subclass);
  Py_DECREF(base);
  Py_DECREF(bootstrap);
  return error;
}

/* The runtime hooks for lazy_bind_engine_new. */
static inline lazy_bind_runtime_hooks lazy_bind_cpython_hooks(void) {
  lazy_bind_runtime_hooks hooks = {
      .size = sizeof(lazy_bind_runtime_hooks),
      .userdata = NULL,
      .retain = lazy_bind_cpython_retain,
      .release = lazy_bind_cpython_release,
      .before_block = lazy_bind_cpython_before_block,
      .after_wake = lazy_bind_cpython_after_wake,
      .describe = lazy_bind_cpython_describe,
  };
  return hooks;
}

/* The engine's counters as a dict (deferred, resolved, failed, pending),
 * all 0 for a NULL engine; NULL with `error_type` raised on failure. */
static inline PyObject *lazy_bind_cpython_counters(const lazy_bind_engine *engine,
                                                   PyObject *error_type) {
  lazy_bind_counters c = {.size = sizeof(lazy_bind_counters)};
  if (engine != NULL) {
    lazy_bind_result status = lazy_bind_engine_counters(engine, &c);
    if (status != LAZY_BIND_OK) {
      PyErr_Format(error_type, "lazy_bind_engine_counters: %s", lazy_bind_result_message(status));
      return NULL;
    }
  }
  return Py_BuildValue("{sKsKsKsK}", "deferred", (unsigned long long)c.deferred, "resolved",
                       (unsigned long long)c.resolved, "failed", (unsigned long long)c.failed,
                       "pending", (unsigned long long)c.pending);
}

/* The body of a policy filter (a lazy_bind_filter_fn): calls the Python
 * callable with (importer, target, fromlist) -> bool, where fromlist is a
 * tuple of str, or for a plain `import` None if `empty_is_none` and () if
 * not. An exception is reported as unraisable and counts as "defer": the
 * filter could not object, and the import is left to the mode. */
static inline bool lazy_bind_cpython_call_filter(PyObject *callable, const char *importer,
                                                 const char *target,
                                                 const char *const *fromlist,
                                                 size_t fromlist_len, bool empty_is_none) {
  PyGILState_STATE gil = PyGILState_Ensure();
  /* The caller holds the GIL (every decide call runs under it), so nothing
   * can have freed `callable` yet; the call may release the GIL, and a new
   * filter may replace this one meanwhile: keep it alive until we return. */
  Py_INCREF(callable);
  bool defer = true;
  PyObject *names = Py_None;
  Py_INCREF(names);
  if (fromlist_len > 0 || !empty_is_none) {
    Py_SETREF(names, PyTuple_New((Py_ssize_t)fromlist_len));
    for (size_t i = 0; names != NULL && i < fromlist_len; i++) {
      PyObject *item = PyUnicode_FromString(fromlist[i]);
      if (item == NULL) {
        Py_CLEAR(names);
        break;
      }
      PyTuple_SET_ITEM(names, (Py_ssize_t)i, item);
    }
  }
  PyObject *result = NULL;
  if (names != NULL) {
    result = PyObject_CallFunction(callable, "ssO", importer, target, names);
    Py_DECREF(names);
  }
  if (result != NULL) {
    int truth = PyObject_IsTrue(result);
    Py_DECREF(result);
    if (truth >= 0) {
      defer = truth;
    }
  }
  if (PyErr_Occurred()) {
    PyErr_WriteUnraisable(callable);
  }
  Py_DECREF(callable);
  PyGILState_Release(gil);
  return defer;
}

/* One varint of the 3.11 exception table: 6-bit groups, bit 6 says more
 * follow (bit 7 marks an entry's start). Returns -1 at the end. */
static inline long lazy_bind_cpython_read_varint(const unsigned char **p,
                                                 const unsigned char *end) {
  if (*p >= end) {
    return -1;
  }
  unsigned char b = *(*p)++;
  long value = b & 63;
  while (b & 64) {
    if (*p >= end) {
      return -1;
    }
    b = *(*p)++;
    value = (value << 6) | (b & 63);
  }
  return value;
}

/* The handler covering code unit `unit` according to the exception table
 * `table` (a code object's co_exceptiontable), or -1 if none does. */
static inline long lazy_bind_cpython_handler_of(PyObject *table, long unit) {
  const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(table);
  const unsigned char *end = p + PyBytes_GET_SIZE(table);
  for (;;) {
    long start = lazy_bind_cpython_read_varint(&p, end);
    long length = lazy_bind_cpython_read_varint(&p, end);
    long target = lazy_bind_cpython_read_varint(&p, end);
    long depth = lazy_bind_cpython_read_varint(&p, end);
    if (start < 0 || length < 0 || target < 0 || depth < 0) {
      return -1;
    }
    if (unit >= start && unit < start + length) {
      return target;
    }
  }
}

#endif /* LAZY_BIND_CPYTHON_H */
