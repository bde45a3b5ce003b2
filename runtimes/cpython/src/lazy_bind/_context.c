/* Where an import statement sits in its code object.
 *
 * For each IMPORT_NAME: whether it is inside try/except/finally or with (the
 * exception table, and for a `finally` body compiled twice, either copy),
 * inside a loop (a backward jump after it lands at or before it), its line,
 * and what the statement does with the module (a store, or IMPORT_FROM
 * steps and a store). A code object is analysed on its first deferrable
 * import, in one pass, and the result kept in its co_extra slot (freed with
 * it), so a module of n imports costs O(size + n log n), not a scan of the
 * code per import.
 *
 * Opcode numbers come from dis.opmap at configure time: they differ between
 * CPython versions. The code read is co_code (unquickened). */
#include "_native.h"

#include <stdlib.h>

static int op_import_name = -1;
static int op_import_from = -1;
static int op_extended_arg = -1;
static int op_store_name = -1;
static int op_store_global = -1;
static int op_swap = -1;
static int op_pop_top = -1;
static int op_jump_backward[2] = {-1, -1};

/* The co_extra slot holding a code object's analysis (-1: not requested). */
static Py_ssize_t extra_index = -1;

/* The analysis of one code object: its IMPORT_NAMEs in code order. */
typedef struct {
  Py_ssize_t len;
  adaptor_import_site items[1]; /* `len` of them (at least one slot) */
} CodeImports;

/* opmap[name], or -1 when this interpreter has no such opcode. */
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
  *out = (int)number;
  return 0;
}

int adaptor_context_configure(PyObject *opmap) {
  struct {
    const char *name;
    int *slot;
  } wanted[] = {
      {"IMPORT_NAME", &op_import_name},
      {"IMPORT_FROM", &op_import_from},
      {"EXTENDED_ARG", &op_extended_arg},
      {"STORE_NAME", &op_store_name},
      {"STORE_GLOBAL", &op_store_global},
      {"SWAP", &op_swap},
      {"POP_TOP", &op_pop_top},
      {"JUMP_BACKWARD", &op_jump_backward[0]},
      {"JUMP_BACKWARD_NO_INTERRUPT", &op_jump_backward[1]},
  };
  for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
    if (opcode_of(opmap, wanted[i].name, wanted[i].slot) < 0) {
      return -1;
    }
  }
  if (op_import_name < 0 || op_extended_arg < 0) {
    PyErr_SetString(PyExc_RuntimeError, "opmap lacks IMPORT_NAME or EXTENDED_ARG");
    return -1;
  }
  if (extra_index < 0) {
    extra_index = _PyEval_RequestCodeExtraIndex(PyMem_RawFree);
    if (extra_index < 0) {
      PyErr_SetString(PyExc_RuntimeError, "lazy_bind: no code extra slot left");
      return -1;
    }
  }
  return 0;
}

/* A code object's instructions: two bytes per code unit. */
typedef struct {
  const unsigned char *code;
  long units;
} Code;

static int op_at(const Code *code, long i) { return code->code[2 * i]; }

/* The unit after the instruction at `i` and its EXTENDED_ARG prefixes, and
 * in `*arg` the full argument of the instruction that starts there. */
static long next_instruction(const Code *code, long i, long *arg) {
  long value = 0;
  long at = i + 1;
  while (at < code->units && op_at(code, at) == op_extended_arg) {
    value = (value << 8) | code->code[2 * at + 1];
    at++;
  }
  if (at < code->units) {
    *arg = (value << 8) | code->code[2 * at + 1];
  }
  return at;
}

/* What the statement does with the module its IMPORT_NAME at `i` returns. */
static void read_store(const Code *code, long i, adaptor_import_site *site) {
  long arg = 0;
  long at = next_instruction(code, i, &arg);
  int steps = 0;
  while (at < code->units && op_at(code, at) == op_import_from) {
    /* `import a.b.c as d`: IMPORT_FROM b, SWAP 2, POP_TOP, IMPORT_FROM c,
     * then the store. */
    steps++;
    at = next_instruction(code, at, &arg);
    if (at + 1 < code->units && op_at(code, at) == op_swap && op_at(code, at + 1) == op_pop_top) {
      at = next_instruction(code, at + 1, &arg);
    }
  }
  if (at < code->units && (op_at(code, at) == op_store_name || op_at(code, at) == op_store_global)) {
    site->store = steps > 0 ? ADAPTOR_STORE_FROM : ADAPTOR_STORE_NAME;
    site->store_name = arg;
    site->steps = steps;
  }
}

/* The full argument of each unit's instruction, -1 for EXTENDED_ARG. */
static long *arguments_of(const Code *code) {
  long *args = PyMem_RawMalloc(sizeof(long) * (size_t)(code->units > 0 ? code->units : 1));
  if (args == NULL) {
    return NULL;
  }
  long arg = 0;
  for (long i = 0; i < code->units; i++) {
    arg = (arg << 8) | code->code[2 * i + 1];
    if (op_at(code, i) == op_extended_arg) {
      args[i] = -1;
      continue;
    }
    args[i] = arg;
    arg = 0;
  }
  return args;
}

typedef struct {
  long argument; /* the IMPORT_NAME's name index */
  adaptor_import_site *site;
} ByName;

static int by_argument(const void *a, const void *b) {
  const ByName *x = a, *y = b;
  return (x->argument > y->argument) - (x->argument < y->argument);
}

/* CPython compiles a `finally` body twice: for the normal exit (not covered
 * by the exception table) and the exceptional one (covered). An import of
 * the same name covered anywhere marks every copy as inside a handler. */
static int mark_finally_copies(CodeImports *imports, const long *args) {
  ByName *sorted = PyMem_RawMalloc(sizeof(ByName) * (size_t)(imports->len > 0 ? imports->len : 1));
  if (sorted == NULL) {
    return -1;
  }
  for (Py_ssize_t k = 0; k < imports->len; k++) {
    sorted[k].argument = args[imports->items[k].unit];
    sorted[k].site = &imports->items[k];
  }
  qsort(sorted, (size_t)imports->len, sizeof(ByName), by_argument);
  for (Py_ssize_t start = 0; start < imports->len;) {
    Py_ssize_t end = start;
    bool covered = false;
    while (end < imports->len && sorted[end].argument == sorted[start].argument) {
      covered |= (sorted[end].site->flags & LAZY_BIND_CONTEXT_IN_TRY) != 0;
      end++;
    }
    for (Py_ssize_t k = start; covered && k < end; k++) {
      sorted[k].site->flags |= LAZY_BIND_CONTEXT_IN_TRY;
    }
    start = end;
  }
  PyMem_RawFree(sorted);
  return 0;
}

/* Marks imports inside a loop body: a backward jump from unit i to
 * i + 1 - arg makes [i + 1 - arg, i) a loop body. */
static int mark_loops(CodeImports *imports, const Code *code, const long *args) {
  long *depth = PyMem_RawCalloc((size_t)code->units + 1, sizeof(long));
  if (depth == NULL) {
    return -1;
  }
  for (long i = 0; i < code->units; i++) {
    int op = op_at(code, i);
    if ((op == op_jump_backward[0] || op == op_jump_backward[1]) && args[i] >= 0 &&
        args[i] <= i + 1) {
      depth[i + 1 - args[i]]++;
      depth[i]--;
    }
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

/* Sets each import's line from co_lines(), walked once. */
static int mark_lines(CodeImports *imports, PyCodeObject *code) {
  PyObject *lines = PyObject_CallMethod((PyObject *)code, "co_lines", NULL);
  if (lines == NULL) {
    return -1;
  }
  PyObject *iterator = PyObject_GetIter(lines);
  Py_DECREF(lines);
  if (iterator == NULL) {
    return -1;
  }
  Py_ssize_t next = 0;
  PyObject *item;
  while (next < imports->len && (item = PyIter_Next(iterator)) != NULL) {
    long start, end;
    PyObject *line;
    if (!PyArg_ParseTuple(item, "llO", &start, &end, &line)) {
      Py_DECREF(item);
      Py_DECREF(iterator);
      return -1;
    }
    long number = line == Py_None ? 0 : PyLong_AsLong(line);
    Py_DECREF(item);
    if (number == -1 && PyErr_Occurred()) {
      Py_DECREF(iterator);
      return -1;
    }
    while (next < imports->len && imports->items[next].unit * 2 < end) {
      if (imports->items[next].unit * 2 >= start) {
        imports->items[next].line = (int)number;
      }
      next++;
    }
  }
  Py_DECREF(iterator);
  return PyErr_Occurred() ? -1 : 0;
}

/* Analyses `code`; NULL with an exception set on failure. */
static CodeImports *analyse(PyCodeObject *code_object) {
  PyObject *bytes = PyCode_GetCode(code_object);
  if (bytes == NULL) {
    return NULL;
  }
  PyObject *table = PyObject_GetAttrString((PyObject *)code_object, "co_exceptiontable");
  if (table == NULL || !PyBytes_Check(bytes) || !PyBytes_Check(table)) {
    if (table != NULL) {
      PyErr_SetString(PyExc_TypeError, "co_code and co_exceptiontable must be bytes");
    }
    Py_DECREF(bytes);
    Py_XDECREF(table);
    return NULL;
  }
  Code code = {(const unsigned char *)PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes) / 2};
  long *args = arguments_of(&code);
  Py_ssize_t count = 0;
  for (long i = 0; args != NULL && i < code.units; i++) {
    count += op_at(&code, i) == op_import_name;
  }
  CodeImports *imports =
      args == NULL ? NULL
                   : PyMem_RawCalloc(1, sizeof(CodeImports) + sizeof(adaptor_import_site) *
                                                                 (size_t)(count > 0 ? count : 1));
  if (imports == NULL) {
    PyErr_NoMemory();
  } else {
    for (long i = 0; i < code.units; i++) {
      if (op_at(&code, i) != op_import_name) {
        continue;
      }
      adaptor_import_site *site = &imports->items[imports->len++];
      site->unit = i;
      if (adaptor_handler_of(table, i) >= 0) {
        site->flags |= LAZY_BIND_CONTEXT_IN_TRY;
      }
      read_store(&code, i, site);
    }
    if (mark_finally_copies(imports, args) < 0 || mark_loops(imports, &code, args) < 0) {
      PyErr_NoMemory();
      PyMem_RawFree(imports);
      imports = NULL;
    } else if (mark_lines(imports, code_object) < 0) {
      PyMem_RawFree(imports);
      imports = NULL;
    }
  }
  PyMem_RawFree(args);
  Py_DECREF(bytes);
  Py_DECREF(table);
  return imports;
}

const adaptor_import_site *adaptor_import_site_at(PyCodeObject *code, int lasti) {
  if (extra_index < 0) {
    PyErr_SetString(PyExc_RuntimeError, "lazy_bind._native.configure() was not called");
    return NULL;
  }
  void *extra = NULL;
  if (_PyCode_GetExtra((PyObject *)code, extra_index, &extra) < 0) {
    return NULL;
  }
  CodeImports *imports = extra;
  if (imports == NULL) {
    imports = analyse(code);
    if (imports == NULL) {
      return NULL;
    }
    if (_PyCode_SetExtra((PyObject *)code, extra_index, imports) < 0) {
      PyMem_RawFree(imports);
      return NULL;
    }
  }
  long unit = lasti / 2;
  Py_ssize_t low = 0, high = imports->len;
  while (low < high) {
    Py_ssize_t middle = low + (high - low) / 2;
    if (imports->items[middle].unit < unit) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  if (lasti < 0 || low == imports->len || imports->items[low].unit != unit) {
    return NULL;
  }
  return &imports->items[low];
}
