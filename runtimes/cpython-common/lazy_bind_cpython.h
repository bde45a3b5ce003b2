/* lazy_bind_cpython.h: the glue between CPython and lazy_bind that every
 * CPython embedding needs, shared by the stock adaptor (runtimes/cpython,
 * a C extension) and the CPython fork (runtimes/cpython-fork, inside the
 * interpreter, where build.sh copies this file to Include/internal/):
 * - the runtime hooks (values are PyObject pointers; a thread waiting for
 *   another thread's resolution releases the GIL; error objects are
 *   described as `Type: message`), the hand-over of a failed hook's
 *   exception, and raising it again where the binding was used;
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
