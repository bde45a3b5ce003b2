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
 * - where each import statement sits in its code object (handler, loop,
 *   line, what follows), analysed once per code object and kept with it.
 * Header-only: include it, after Python.h and lazy_bind.h, from one file of
 * a runtime (it holds that runtime's state). Another file of the runtime
 * that needs only the import-site types below defines
 * LAZY_BIND_CPYTHON_TYPES_ONLY around its include. */
#ifndef LAZY_BIND_CPYTHON_TYPES
#define LAZY_BIND_CPYTHON_TYPES

/* The opcode numbers the import-site analysis reads, -1 for one this
 * CPython lacks: the stock adaptor takes them from dis.opmap, the fork from
 * its opcode.h. */
typedef struct {
  int cache; /* CACHE: an inline cache unit */
  int extended_arg;
  int import_name;
  int import_from;
  int store_name;
  int store_global;
  int swap;
  int pop_top;
  int push_exc_info;
  int with_except_start;
  int jump_backward; /* a loop's back edge (never JUMP_BACKWARD_NO_INTERRUPT, see
                        lazy_bind_cpython_mark_loops) */
} lazy_bind_cpython_opcodes;

/* One IMPORT_NAME of a code object. */
typedef struct {
  long unit;       /* its code unit (byte offset / 2) */
  long argument;   /* its full argument: the co_names index of the module name */
  uint32_t flags;  /* LAZY_BIND_CONTEXT_IN_TRY, _IN_WITH, _IN_LOOP */
  int line;        /* its line, 0 if none */
  int steps;       /* the IMPORT_FROMs right after it, with a SWAP 2, POP_TOP
                      between two: 2 for `import a.b.c as d` (for a `from`
                      import, 1: its first name) */
  long store_name; /* the co_names index that the STORE_NAME or STORE_GLOBAL
                      after the steps stores to, -1 if another instruction
                      follows */
} lazy_bind_cpython_import_site;

/* ---- free-threaded CPython ------------------------------------------------
 *
 * On a free-threaded build (3.13t: Py_GIL_DISABLED) no GIL orders the
 * runtime's reads and writes of shared objects, so the glue and the runtimes
 * take every object they read out of a dict or a mutable global as a new
 * reference (lazy_bind_cpython_dict_get_ref, or under a PyMutex), and do a
 * read-compare-write of a namespace inside a critical section on it. On a
 * build with a GIL the critical sections do nothing (3.13) or do not exist
 * (3.11, 3.12), and these reduce to what the GIL already gave. */
#if PY_VERSION_HEX >= 0x030D0000
#define LAZY_BIND_CPYTHON_BEGIN_CRITICAL_SECTION(op) Py_BEGIN_CRITICAL_SECTION(op)
#define LAZY_BIND_CPYTHON_END_CRITICAL_SECTION() Py_END_CRITICAL_SECTION()
#else
#define LAZY_BIND_CPYTHON_BEGIN_CRITICAL_SECTION(op) {
#define LAZY_BIND_CPYTHON_END_CRITICAL_SECTION() }
#endif

/* A mutex for a runtime's own mutable globals: a PyMutex (which detaches
 * the thread state while it blocks) on a free-threaded build, nothing where
 * the GIL guards them. Declare one with LAZY_BIND_CPYTHON_MUTEX(name). */
#ifdef Py_GIL_DISABLED
#define LAZY_BIND_CPYTHON_MUTEX(name) static PyMutex name
#define LAZY_BIND_CPYTHON_LOCK(name) PyMutex_Lock(&(name))
#define LAZY_BIND_CPYTHON_UNLOCK(name) PyMutex_Unlock(&(name))
#else
#define LAZY_BIND_CPYTHON_MUTEX(name) static const char name
#define LAZY_BIND_CPYTHON_LOCK(name) ((void)(name))
#define LAZY_BIND_CPYTHON_UNLOCK(name) ((void)(name))
#endif

/* `dict[key]` as a new reference into `*value_out` (PyDict_GetItemRef,
 * 3.13's, for every version): 1 if found, 0 if missing (`*value_out` NULL,
 * no exception), -1 with an exception set. */
static inline int lazy_bind_cpython_dict_get_ref(PyObject *dict, PyObject *key,
                                                 PyObject **value_out) {
#if PY_VERSION_HEX >= 0x030D0000
  return PyDict_GetItemRef(dict, key, value_out);
#else
  PyObject *value = PyDict_GetItemWithError(dict, key);
  *value_out = Py_XNewRef(value);
  return value != NULL ? 1 : PyErr_Occurred() ? -1 : 0;
#endif
}

/* `object.name` as a new reference into `*value_out`, or NULL without an
 * exception when it has no such attribute: 1, 0, or -1 with an exception
 * set (PyObject_GetOptionalAttr from 3.13, _PyObject_LookupAttr before). */
static inline int lazy_bind_cpython_optional_attr(PyObject *object, PyObject *name,
                                                  PyObject **value_out) {
#if PY_VERSION_HEX >= 0x030D0000
  return PyObject_GetOptionalAttr(object, name, value_out);
#else
  return _PyObject_LookupAttr(object, name, value_out);
#endif
}

#endif /* LAZY_BIND_CPYTHON_TYPES */

#if !defined(LAZY_BIND_CPYTHON_TYPES_ONLY) && !defined(LAZY_BIND_CPYTHON_H)
#define LAZY_BIND_CPYTHON_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <frameobject.h> /* PyFrame_New, for the declaration's traceback entry */

#ifdef Py_BUILD_CORE
#include "pycore_code.h" /* the line-table reader, inside the interpreter */
#endif

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

/* Adds a traceback entry at the declaration of `error`'s lazy import
 * (`File "...", line N, in <module>`) to the pending exception, as if the
 * `import` statement had raised it there, as CPython 3.15 does for its lazy
 * imports: the interpreter then adds the accessing frames above it, and the
 * failed module's own frames stay below it. The entry's frame is made from
 * an empty code object whose first line is the declaration's. Leaves the
 * pending exception as it was when there is no site or the entry cannot be
 * made (or another exception, chained to it, when memory ran out). */
static inline void lazy_bind_cpython_add_declaration_frame(const lazy_bind_error *error) {
  const char *file = lazy_bind_error_declaration_file(error);
  uint32_t line = lazy_bind_error_declaration_line(error);
  if (file == NULL || line == 0 || line > INT_MAX) {
    return;
  }
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  PyCodeObject *code = PyCode_NewEmpty(file, "<module>", (int)line);
  PyObject *globals = code != NULL ? PyDict_New() : NULL;
  PyFrameObject *frame =
      globals != NULL ? PyFrame_New(PyThreadState_Get(), code, globals, NULL) : NULL;
  PyErr_Clear();
  PyErr_Restore(type, value, traceback);
  if (frame != NULL) {
    /* On failure (no memory) it leaves MemoryError set, chained to ours. */
    (void)PyTraceBack_Here(frame);
  }
  Py_XDECREF(frame);
  Py_XDECREF(globals);
  Py_XDECREF(code);
}

/* Raises `exc`, the exception a resolver failed with (the error's runtime
 * value), again at the point of use, with a note naming the lazy
 * declaration and the access that failed, and a traceback entry at the
 * declaration (lazy_bind_cpython_add_declaration_frame). Several waiters
 * of one attempt share the object: the note is added once. Always leaves
 * an exception set (another one if adding the note failed). */
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
  lazy_bind_cpython_add_declaration_frame(error);
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
  /* How many times its owner holds it: an int up to 3.12, a list with one
   * item per acquisition from 3.13. */
  long held = PyList_Check(count) ? (long)PyList_Size(count) : PyLong_AsLong(count);
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

/* The import hooks' set_attr_if_absent (a lazy_bind_set_attr_if_absent_fn):
 * binds `value` as attribute `name` of `module` unless it has one (for a
 * module, a setdefault on its dict: an attribute bound meanwhile wins). */
static inline uint32_t lazy_bind_cpython_set_attr_if_absent(void *userdata, void *module,
                                                            const char *name, void *value,
                                                            void **runtime_error_out) {
  (void)userdata;
  PyObject *owner = (PyObject *)module;
  PyObject *py_name = PyUnicode_FromString(name);
  int failed = py_name == NULL;
  if (!failed && PyModule_Check(owner)) {
    failed = PyDict_SetDefault(PyModule_GetDict(owner), py_name, (PyObject *)value) == NULL;
  } else if (!failed) {
    PyObject *present = NULL;
    int found = lazy_bind_cpython_optional_attr(owner, py_name, &present);
    Py_XDECREF(present);
    failed = found < 0 || (found == 0 && PyObject_SetAttr(owner, py_name, (PyObject *)value) < 0);
  }
  Py_XDECREF(py_name);
  return failed ? lazy_bind_cpython_fail(runtime_error_out) : LAZY_BIND_OK;
}

/* CPython 3.15's sys.lazy_modules for `importer` (NULL: none yet): a new
 * set of the names of the modules its pending bindings will import and
 * that are not loaded yet (lazy_bind_importer_lazy_modules). NULL with
 * `error_type` raised if the engine refuses. */
static inline PyObject *lazy_bind_cpython_lazy_modules(const lazy_bind_importer *importer,
                                                       PyObject *error_type) {
  PyObject *names = PySet_New(NULL);
  if (names == NULL || importer == NULL) {
    return names;
  }
  char *text = NULL;
  lazy_bind_result status = lazy_bind_importer_lazy_modules(importer, &text);
  if (status != LAZY_BIND_OK) {
    Py_DECREF(names);
    PyErr_Format(error_type, "lazy_bind_importer_lazy_modules: %s",
                 lazy_bind_result_message(status));
    return NULL;
  }
  for (const char *line = text; names != NULL && *line != '\0';) {
    const char *end = strchr(line, '\n');
    size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
    PyObject *name = PyUnicode_FromStringAndSize(line, (Py_ssize_t)len);
    if (name == NULL || PySet_Add(names, name) < 0) {
      Py_CLEAR(names);
    }
    Py_XDECREF(name);
    line += len + (end != NULL);
  }
  lazy_bind_string_free(&text);
  return names;
}

/* Whether an importer's __lazy_modules__ (`lazy_modules`, any container;
 * NULL when it has none) names the absolute module `target` or its
 * top-level package, which marks the import lazy (PEP 810's
 * LAZY_BIND_CONTEXT_MARKED_LAZY). Errors count as no and are cleared. */
static inline int lazy_bind_cpython_named_lazy(PyObject *lazy_modules, PyObject *target) {
  if (lazy_modules == NULL) {
    return 0;
  }
  int named = PySequence_Contains(lazy_modules, target);
  Py_ssize_t dot = named == 0 ? PyUnicode_FindChar(target, '.', 0, PY_SSIZE_T_MAX, 1) : -1;
  if (dot >= 0) {
    PyObject *top = PyUnicode_Substring(target, 0, dot);
    named = top == NULL ? -1 : PySequence_Contains(lazy_modules, top);
    Py_XDECREF(top);
  }
  if (named < 0 || dot == -2) {
    PyErr_Clear();
    return 0;
  }
  return named;
}

/* The body of the import hooks' can_find (a lazy_bind_can_find_fn):
 * whether `bootstrap`'s _find_spec (the interpreter's own importlib, the
 * frozen `_frozen_importlib` it started with, not whatever sys.modules
 * holds under that name now) finds module `name` without running it, for
 * a top-level name or a submodule whose parent is imported (its __path__
 * is searched). A failure of the search counts as "cannot find"; no
 * exception is left set. */
static inline bool lazy_bind_cpython_can_find(PyObject *bootstrap, const char *name) {
  PyObject *py_name = PyUnicode_FromString(name);
  if (py_name == NULL) {
    PyErr_Clear();
    return false;
  }
  PyObject *loaded = PyImport_GetModule(py_name);
  bool found = loaded != NULL;
  Py_XDECREF(loaded);
  PyObject *path = NULL;
  const char *dot = strrchr(name, '.');
  if (!found && !PyErr_Occurred()) {
    if (dot == NULL) {
      path = Py_NewRef(Py_None);
    } else {
      PyObject *parent_name = PyUnicode_FromStringAndSize(name, dot - name);
      PyObject *parent = parent_name != NULL ? PyImport_GetModule(parent_name) : NULL;
      Py_XDECREF(parent_name);
      PyObject *path_name = parent != NULL ? PyUnicode_InternFromString("__path__") : NULL;
      if (path_name != NULL) {
        (void)lazy_bind_cpython_optional_attr(parent, path_name, &path);
        Py_DECREF(path_name);
      }
      Py_XDECREF(parent);
    }
  }
  if (path != NULL && bootstrap != NULL) {
    PyObject *spec = PyObject_CallMethod(bootstrap, "_find_spec", "OO", py_name, path);
    found = spec != NULL && spec != Py_None;
    Py_XDECREF(spec);
  }
  Py_XDECREF(path);
  Py_DECREF(py_name);
  PyErr_Clear();
  return found;
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

/* ---- where each import statement sits in its code object ------------------
 *
 * For each IMPORT_NAME of a code object: whether an exception handler
 * covers it (a `with` block's handler starts PUSH_EXC_INFO,
 * WITH_EXCEPT_START; any other is try/except/finally; a `finally` body is
 * compiled twice and either copy counts), whether it is in a loop (a
 * backward jump after it lands at or before it), its line, and what the
 * statement does with the module (IMPORT_FROM steps and a store). A code
 * object is analysed on the first question about it, in a few linear walks,
 * and the answer kept in its co_extra slot (freed with it), so a module of
 * n imports costs O(size + n log n), not a scan of the code per import.
 *
 * The code read is the unquickened one (PyCode_GetCode), whose inline
 * caches are CACHE units; the opcode numbers come from the runtime, as they
 * differ between CPython versions. */

/* A code object's analysis (its co_extra value): its IMPORT_NAMEs in code
 * order. */
typedef struct {
  Py_ssize_t len;
  lazy_bind_cpython_import_site items[1]; /* `len` of them (at least one slot) */
} lazy_bind_cpython_code_imports;

/* One varint of the exception table: 6-bit groups, bit 6 says more follow
 * (bit 7 marks an entry's start). Returns -1 at the end, or for a value
 * that does not fit. */
static inline long lazy_bind_cpython_read_varint(const unsigned char **p,
                                                 const unsigned char *end) {
  if (*p >= end) {
    return -1;
  }
  unsigned char b = *(*p)++;
  long value = b & 63;
  while (b & 64) {
    if (*p >= end || value > (LONG_MAX >> 6)) {
      return -1;
    }
    b = *(*p)++;
    value = (value << 6) | (b & 63);
  }
  return value;
}

/* A code object's unquickened instructions (two bytes a code unit) and the
 * opcode numbers to read them with. */
typedef struct {
  const unsigned char *bytes;
  long units;
  const lazy_bind_cpython_opcodes *ops;
} lazy_bind_cpython_code;

/* One decoded instruction. */
typedef struct {
  int op;    /* its opcode; -1 past the end of the code */
  long unit; /* the unit of its opcode, after its EXTENDED_ARG prefixes */
  long arg;  /* its full argument */
  long next; /* the unit after it and its inline caches */
} lazy_bind_cpython_instruction;

/* The instruction whose EXTENDED_ARG prefixes start at unit `at`. */
static inline lazy_bind_cpython_instruction
lazy_bind_cpython_decode(const lazy_bind_cpython_code *code, long at) {
  lazy_bind_cpython_instruction in = {-1, code->units, 0, code->units};
  uint32_t arg = 0; /* wraps, as CPython's oparg does, for absurd prefixes */
  for (; at < code->units; at++) {
    arg = (arg << 8) | code->bytes[2 * at + 1];
    if (code->bytes[2 * at] != code->ops->extended_arg) {
      in.op = code->bytes[2 * at];
      in.unit = at;
      in.arg = (long)arg;
      in.next = at + 1;
      break;
    }
  }
  while (in.next < code->units && code->bytes[2 * in.next] == code->ops->cache) {
    in.next++;
  }
  return in;
}

/* Whether `in` is the opcode `op` (never for -1, an opcode this CPython
 * lacks, nor past the end). */
static inline bool lazy_bind_cpython_is(const lazy_bind_cpython_instruction *in, int op) {
  return op >= 0 && in->op == op;
}

/* The number of IMPORT_NAMEs in `code`. */
static inline Py_ssize_t lazy_bind_cpython_count_imports(const lazy_bind_cpython_code *code) {
  Py_ssize_t count = 0;
  for (long at = 0; at < code->units;) {
    lazy_bind_cpython_instruction in = lazy_bind_cpython_decode(code, at);
    count += lazy_bind_cpython_is(&in, code->ops->import_name);
    at = in.next;
  }
  return count;
}

/* Sets `site->steps` and `site->store_name` from the instructions after its
 * IMPORT_NAME, starting at unit `at`. */
static inline void lazy_bind_cpython_read_follow(const lazy_bind_cpython_code *code, long at,
                                                 lazy_bind_cpython_import_site *site) {
  const lazy_bind_cpython_opcodes *ops = code->ops;
  lazy_bind_cpython_instruction in = lazy_bind_cpython_decode(code, at);
  site->steps = 0;
  while (lazy_bind_cpython_is(&in, ops->import_from)) {
    /* `import a.b.c as d`: IMPORT_FROM b, SWAP 2, POP_TOP, IMPORT_FROM c,
     * then the store. */
    site->steps++;
    in = lazy_bind_cpython_decode(code, in.next);
    if (lazy_bind_cpython_is(&in, ops->swap)) {
      lazy_bind_cpython_instruction pop = lazy_bind_cpython_decode(code, in.next);
      if (lazy_bind_cpython_is(&pop, ops->pop_top)) {
        in = lazy_bind_cpython_decode(code, pop.next);
      }
    }
  }
  bool store = lazy_bind_cpython_is(&in, ops->store_name) ||
               lazy_bind_cpython_is(&in, ops->store_global);
  site->store_name = store ? in.arg : -1;
}

/* Fills `imports` (room for every IMPORT_NAME of `code`, zeroed) with the
 * IMPORT_NAMEs in code order: unit, argument, steps and store. */
static inline void lazy_bind_cpython_collect(const lazy_bind_cpython_code *code,
                                             lazy_bind_cpython_code_imports *imports) {
  for (long at = 0; at < code->units;) {
    lazy_bind_cpython_instruction in = lazy_bind_cpython_decode(code, at);
    if (lazy_bind_cpython_is(&in, code->ops->import_name)) {
      lazy_bind_cpython_import_site *site = &imports->items[imports->len++];
      site->unit = in.unit;
      site->argument = in.arg;
      lazy_bind_cpython_read_follow(code, in.next, site);
    }
    at = in.next;
  }
}

/* The index of the first import at or after code unit `unit` (`len` if
 * none). */
static inline Py_ssize_t
lazy_bind_cpython_first_from(const lazy_bind_cpython_code_imports *imports, long unit) {
  Py_ssize_t low = 0, high = imports->len;
  while (low < high) {
    Py_ssize_t middle = low + (high - low) / 2;
    if (imports->items[middle].unit < unit) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

/* Whether the handler at unit `handler` is a `with` block's. */
static inline bool lazy_bind_cpython_with_handler(const lazy_bind_cpython_code *code,
                                                  long handler) {
  lazy_bind_cpython_instruction in = lazy_bind_cpython_decode(code, handler);
  if (!lazy_bind_cpython_is(&in, code->ops->push_exc_info)) {
    return false;
  }
  in = lazy_bind_cpython_decode(code, in.next);
  return lazy_bind_cpython_is(&in, code->ops->with_except_start);
}

#define LAZY_BIND_CPYTHON_IN_HANDLER (LAZY_BIND_CONTEXT_IN_TRY | LAZY_BIND_CONTEXT_IN_WITH)

/* Marks each import that the exception table `table` (bytes) covers:
 * IN_WITH under a `with` block's handler, IN_TRY under any other. The
 * table's first entry covering an import decides, as in CPython's lookup;
 * one walk of the table. */
static inline void lazy_bind_cpython_mark_handlers(lazy_bind_cpython_code_imports *imports,
                                                   const lazy_bind_cpython_code *code,
                                                   PyObject *table) {
  const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(table);
  const unsigned char *end = p + PyBytes_GET_SIZE(table);
  for (;;) {
    long start = lazy_bind_cpython_read_varint(&p, end);
    long length = lazy_bind_cpython_read_varint(&p, end);
    long target = lazy_bind_cpython_read_varint(&p, end);
    long depth = lazy_bind_cpython_read_varint(&p, end);
    if (start < 0 || length < 0 || target < 0 || depth < 0) {
      return;
    }
    uint32_t flag = lazy_bind_cpython_with_handler(code, target) ? LAZY_BIND_CONTEXT_IN_WITH
                                                                 : LAZY_BIND_CONTEXT_IN_TRY;
    for (Py_ssize_t k = lazy_bind_cpython_first_from(imports, start);
         k < imports->len && imports->items[k].unit - start < length; k++) {
      if (!(imports->items[k].flags & LAZY_BIND_CPYTHON_IN_HANDLER)) {
        imports->items[k].flags |= flag;
      }
    }
  }
}

/* Orders pointers to import sites by argument. */
static inline int lazy_bind_cpython_by_argument(const void *a, const void *b) {
  const lazy_bind_cpython_import_site *x = *(const lazy_bind_cpython_import_site *const *)a;
  const lazy_bind_cpython_import_site *y = *(const lazy_bind_cpython_import_site *const *)b;
  return (x->argument > y->argument) - (x->argument < y->argument);
}

/* CPython compiles a `finally` body twice: for the normal exit (no handler
 * covers it) and the exceptional one (covered). Marks IN_TRY every
 * uncovered import whose argument a covered import of the same code object
 * shares. Returns 0, or -1 with MemoryError set. */
static inline int lazy_bind_cpython_mark_finally_copies(lazy_bind_cpython_code_imports *imports) {
  lazy_bind_cpython_import_site **sorted = PyMem_RawMalloc(
      sizeof(lazy_bind_cpython_import_site *) * (size_t)(imports->len > 0 ? imports->len : 1));
  if (sorted == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t k = 0; k < imports->len; k++) {
    sorted[k] = &imports->items[k];
  }
  qsort(sorted, (size_t)imports->len, sizeof(lazy_bind_cpython_import_site *),
        lazy_bind_cpython_by_argument);
  for (Py_ssize_t start = 0; start < imports->len;) {
    Py_ssize_t end = start;
    bool covered = false;
    while (end < imports->len && sorted[end]->argument == sorted[start]->argument) {
      covered |= (sorted[end]->flags & LAZY_BIND_CPYTHON_IN_HANDLER) != 0;
      end++;
    }
    for (Py_ssize_t k = start; covered && k < end; k++) {
      if (!(sorted[k]->flags & LAZY_BIND_CPYTHON_IN_HANDLER)) {
        sorted[k]->flags |= LAZY_BIND_CONTEXT_IN_TRY;
      }
    }
    start = end;
  }
  PyMem_RawFree(sorted);
  return 0;
}

/* Marks IN_LOOP each import inside a loop body: a JUMP_BACKWARD at unit j
 * to unit t <= j makes [t, j) one. A `for` or `while` loop's back edge is
 * always JUMP_BACKWARD (it checks for interrupts); JUMP_BACKWARD_NO_INTERRUPT
 * is no loop: the SEND loop of `await` and `yield from`, and from CPython
 * 3.12 the jump from an exception handler, placed after the code, back to
 * the statement after its `try` or `with`. Returns 0, or -1 with
 * MemoryError set. */
static inline int lazy_bind_cpython_mark_loops(lazy_bind_cpython_code_imports *imports,
                                               const lazy_bind_cpython_code *code) {
  /* Loop depth by code unit: +1 where a loop body starts, -1 after it. */
  long *depth = PyMem_RawCalloc((size_t)code->units + 1, sizeof(long));
  if (depth == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  const lazy_bind_cpython_opcodes *ops = code->ops;
  for (long at = 0; at < code->units;) {
    lazy_bind_cpython_instruction in = lazy_bind_cpython_decode(code, at);
    /* The jump lands `arg` units before the instruction after it. */
    long target = in.next - in.arg;
    if (lazy_bind_cpython_is(&in, ops->jump_backward) && target >= 0 && target <= in.unit) {
      depth[target]++;
      depth[in.unit]--;
    }
    at = in.next;
  }
  long level = 0;
  Py_ssize_t next = 0;
  for (long u = 0; u < code->units && next < imports->len; u++) {
    level += depth[u];
    if (imports->items[next].unit == u) {
      if (level > 0) {
        imports->items[next].flags |= LAZY_BIND_CONTEXT_IN_LOOP;
      }
      next++;
    }
  }
  PyMem_RawFree(depth);
  return 0;
}

/* Gives the imports from `*next` on that start before byte `end` the line
 * `line` if they lie at or after byte `start` (an import in no range keeps
 * 0), and moves `*next` past them. Ranges come in code order. */
static inline void lazy_bind_cpython_assign_line(lazy_bind_cpython_code_imports *imports,
                                                 Py_ssize_t *next, long start, long end,
                                                 int line) {
  /* Two bytes a code unit. */
  while (*next < imports->len && imports->items[*next].unit * 2 < end) {
    if (imports->items[*next].unit * 2 >= start) {
      imports->items[*next].line = line;
    }
    (*next)++;
  }
}

#ifdef Py_BUILD_CORE
/* Sets each import's line, walking the line table once with the
 * interpreter's own reader (inside the interpreter, the fork: no objects
 * made, where co_lines() made a tuple per range). Returns 0. */
static inline int lazy_bind_cpython_mark_lines(lazy_bind_cpython_code_imports *imports,
                                               PyCodeObject *code_object) {
  PyCodeAddressRange bounds;
  _PyCode_InitAddressRange(code_object, &bounds);
  Py_ssize_t next = 0;
  while (next < imports->len && _PyLineTable_NextAddressRange(&bounds)) {
    lazy_bind_cpython_assign_line(imports, &next, bounds.ar_start, bounds.ar_end,
                                  bounds.ar_line > 0 ? bounds.ar_line : 0);
  }
  return 0;
}
#else
/* One item of co_lines(), (start, end, line) in bytes, into `*start`,
 * `*end` and `*line` (0 for None). Returns 0, or -1 with an exception set. */
static inline int lazy_bind_cpython_line_range(PyObject *item, long *start, long *end,
                                               long *line) {
  if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 3) {
    PyErr_SetString(PyExc_TypeError, "co_lines() must yield (start, end, line) tuples");
    return -1;
  }
  PyObject *number = PyTuple_GET_ITEM(item, 2);
  *start = PyLong_AsLong(PyTuple_GET_ITEM(item, 0));
  *end = PyLong_AsLong(PyTuple_GET_ITEM(item, 1));
  *line = number == Py_None ? 0 : PyLong_AsLong(number);
  return PyErr_Occurred() ? -1 : 0;
}

/* Sets each import's line from `code_object`'s co_lines(), walked once (the
 * line-table reader is internal to the interpreter). Returns 0, or -1 with
 * an exception set. */
static inline int lazy_bind_cpython_mark_lines(lazy_bind_cpython_code_imports *imports,
                                               PyCodeObject *code_object) {
  PyObject *lines = PyObject_CallMethod((PyObject *)code_object, "co_lines", NULL);
  PyObject *iterator = lines != NULL ? PyObject_GetIter(lines) : NULL;
  Py_XDECREF(lines);
  if (iterator == NULL) {
    return -1;
  }
  bool failed = false;
  Py_ssize_t next = 0;
  PyObject *item;
  while (!failed && next < imports->len && (item = PyIter_Next(iterator)) != NULL) {
    long start, end, line;
    failed = lazy_bind_cpython_line_range(item, &start, &end, &line) < 0;
    Py_DECREF(item);
    if (!failed) {
      lazy_bind_cpython_assign_line(imports, &next, start, end, (int)line);
    }
  }
  Py_DECREF(iterator);
  return failed || PyErr_Occurred() ? -1 : 0;
}
#endif

/* The analysis of `code_object` with the opcode numbers `ops`; NULL with an
 * exception set on failure. Free it with PyMem_RawFree. */
static inline lazy_bind_cpython_code_imports *
lazy_bind_cpython_analyse(PyCodeObject *code_object, const lazy_bind_cpython_opcodes *ops) {
  PyObject *table = code_object->co_exceptiontable;
  PyObject *bytes = PyCode_GetCode(code_object);
  if (bytes == NULL) {
    return NULL;
  }
  if (!PyBytes_Check(bytes) || !PyBytes_Check(table)) {
    PyErr_SetString(PyExc_TypeError, "co_code and co_exceptiontable must be bytes");
    Py_DECREF(bytes);
    return NULL;
  }
  lazy_bind_cpython_code code = {(const unsigned char *)PyBytes_AS_STRING(bytes),
                                 (long)(PyBytes_GET_SIZE(bytes) / 2), ops};
  Py_ssize_t count = lazy_bind_cpython_count_imports(&code);
  lazy_bind_cpython_code_imports *imports = PyMem_RawCalloc(
      1, sizeof(lazy_bind_cpython_code_imports) +
             sizeof(lazy_bind_cpython_import_site) * (size_t)count);
  if (imports == NULL) {
    PyErr_NoMemory();
  } else {
    lazy_bind_cpython_collect(&code, imports);
    lazy_bind_cpython_mark_handlers(imports, &code, table);
    if (lazy_bind_cpython_mark_finally_copies(imports) < 0 ||
        lazy_bind_cpython_mark_loops(imports, &code) < 0 ||
        lazy_bind_cpython_mark_lines(imports, code_object) < 0) {
      PyMem_RawFree(imports);
      imports = NULL;
    }
  }
  Py_DECREF(bytes);
  return imports;
}

/* The co_extra slot holding each code object's analysis, -1 until first
 * requested: one per runtime, as one file of a runtime includes this. On a
 * free-threaded build the slot's request and every read and write of a
 * code object's slot happen under lazy_bind_cpython_extra_lock: CPython
 * 3.13t does not synchronise co_extra (a write may grow its array under a
 * reader), and two threads may analyse one code object at once. */
static Py_ssize_t lazy_bind_cpython_extra_index = -1;
LAZY_BIND_CPYTHON_MUTEX(lazy_bind_cpython_extra_lock);

/* The co_extra API: PyUnstable_* from 3.12, which deprecates the old names. */
#if PY_VERSION_HEX >= 0x030C0000
#define LAZY_BIND_CPYTHON_REQUEST_CODE_EXTRA_INDEX PyUnstable_Eval_RequestCodeExtraIndex
#define LAZY_BIND_CPYTHON_CODE_GET_EXTRA PyUnstable_Code_GetExtra
#define LAZY_BIND_CPYTHON_CODE_SET_EXTRA PyUnstable_Code_SetExtra
#else
#define LAZY_BIND_CPYTHON_REQUEST_CODE_EXTRA_INDEX _PyEval_RequestCodeExtraIndex
#define LAZY_BIND_CPYTHON_CODE_GET_EXTRA _PyCode_GetExtra
#define LAZY_BIND_CPYTHON_CODE_SET_EXTRA _PyCode_SetExtra
#endif

/* Forgets the co_extra slot, for an interpreter finalised in this process:
 * slots are handed out per interpreter, and the next one hands them out
 * anew. */
static inline void lazy_bind_cpython_forget_code_extra(void) { lazy_bind_cpython_extra_index = -1; }

/* The analysis in `code`'s co_extra slot into `*extra_out` (NULL if none
 * yet), requesting the slot on the first call. Returns 0, or -1 with an
 * exception set. Call with lazy_bind_cpython_extra_lock held. */
static inline int lazy_bind_cpython_code_extra(PyCodeObject *code, void **extra_out) {
  if (lazy_bind_cpython_extra_index < 0) {
    lazy_bind_cpython_extra_index = LAZY_BIND_CPYTHON_REQUEST_CODE_EXTRA_INDEX(PyMem_RawFree);
    if (lazy_bind_cpython_extra_index < 0) {
      PyErr_SetString(PyExc_RuntimeError, "lazy_bind: no code extra slot left");
      return -1;
    }
  }
  return LAZY_BIND_CPYTHON_CODE_GET_EXTRA((PyObject *)code, lazy_bind_cpython_extra_index, extra_out);
}

/* `code`'s analysis, made on the first call for it and kept in its co_extra
 * slot; NULL with an exception set on failure. Two threads that analyse
 * one code object at once both finish, and the first to store its analysis
 * wins (the other's is freed unused), so a returned analysis is never
 * freed before its code object is. */
static inline const lazy_bind_cpython_code_imports *
lazy_bind_cpython_code_imports_of(PyCodeObject *code, const lazy_bind_cpython_opcodes *ops) {
  void *extra = NULL;
  LAZY_BIND_CPYTHON_LOCK(lazy_bind_cpython_extra_lock);
  int failed = lazy_bind_cpython_code_extra(code, &extra);
  LAZY_BIND_CPYTHON_UNLOCK(lazy_bind_cpython_extra_lock);
  if (failed < 0 || extra != NULL) {
    return extra;
  }
  lazy_bind_cpython_code_imports *imports = lazy_bind_cpython_analyse(code, ops);
  if (imports == NULL) {
    return NULL;
  }
  LAZY_BIND_CPYTHON_LOCK(lazy_bind_cpython_extra_lock);
  failed = lazy_bind_cpython_code_extra(code, &extra);
  if (failed == 0 && extra == NULL) {
    failed = LAZY_BIND_CPYTHON_CODE_SET_EXTRA((PyObject *)code, lazy_bind_cpython_extra_index, imports);
    extra = imports;
  }
  LAZY_BIND_CPYTHON_UNLOCK(lazy_bind_cpython_extra_lock);
  if (failed < 0 || extra != imports) {
    PyMem_RawFree(imports);
  }
  return failed < 0 ? NULL : extra;
}

/* The IMPORT_NAME at code unit `unit` of `code` (opcode numbers `ops`) into
 * `*site_out`, from the code object's analysis (made once, see
 * lazy_bind_cpython_code_imports_of). Returns 1, 0 (no exception set) if
 * no IMPORT_NAME is at `unit`, or -1 with an exception set. The site lives
 * as long as `code`. */
LAZY_BIND_MUST_USE static inline int
lazy_bind_cpython_import_site_at(PyCodeObject *code, long unit,
                                 const lazy_bind_cpython_opcodes *ops,
                                 const lazy_bind_cpython_import_site **site_out) {
  const lazy_bind_cpython_code_imports *imports = lazy_bind_cpython_code_imports_of(code, ops);
  if (imports == NULL) {
    return -1;
  }
  Py_ssize_t k = lazy_bind_cpython_first_from(imports, unit);
  if (k == imports->len || imports->items[k].unit != unit) {
    return 0;
  }
  *site_out = &imports->items[k];
  return 1;
}

#endif /* LAZY_BIND_CPYTHON_H */
