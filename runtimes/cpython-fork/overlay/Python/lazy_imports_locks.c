/* Lazy imports and importlib's module locks: deadlocks that run through both.
 *
 * A cycle can run through a lazy_bind entry and one of importlib's
 * per-module locks: thread T1 resolves entry A (its resolver imports module
 * `a`) and, inside `a`, imports module `m`, whose module lock thread T2
 * holds; T2 is importing `m`, and `m`'s body touches the lazy name bound to
 * A, so T2 waits for A. The engine sees only T2's wait, importlib only T1's.
 *
 * CPython 3.11's importlib keeps `_frozen_importlib._blocking_on` (thread id
 * -> the module lock it waits for, whose `.owner` is the thread holding it)
 * and walks it before it blocks (`_ModuleLock.has_deadlock`). So:
 *
 * - while a thread waits for another thread's resolution of an entry, the
 *   wait is entered in `_blocking_on` as an `_lazy_imports.EntryWait`, a
 *   "lock" whose `.owner` is the resolving thread. If T1 blocks on `m`'s
 *   lock after T2 started waiting for A, importlib walks T1 -> `m` -> T2 ->
 *   A -> T1 and raises its _DeadlockError in T1 (the import statement turns
 *   it into the partially initialised module, so `a`'s body fails, and T2
 *   gets that error through the entry);
 * - before it waits, a thread walks `_blocking_on` from the resolving
 *   thread through the owners; if the walk comes back to it through at
 *   least one module lock (T1 blocked on `m` first), it raises
 *   LazyImportDeadlockError instead of waiting. A cycle of entry waits only
 *   is left to the engine, which reports it with the whole chain.
 *
 * Which thread resolves an entry: lazy_bind_peek reports the resolving
 * thread's lazy_bind thread key, and `resolving_threads` maps the key of
 * every thread that is inside lazy_bind_resolve (so every thread running a
 * resolver) to its Python thread id. An EntryWait reads its owner live from
 * the engine: once the resolution has ended it reads None, so a waiter that
 * is woken but has not removed its record yet never makes importlib see a
 * cycle that is gone.
 *
 * Everything here runs with the GIL held, which also orders it with
 * importlib's own reads and writes of `_blocking_on`. Only the slow path of
 * a resolution (an entry without a value) comes here; lazy_bind_get_fast
 * does not.
 */
#define Py_LAZY_IMPORTS_IMPL
#include "Python.h"
#include "pycore_interp.h"
#include "pycore_lazy_imports.h"
#include "pycore_object.h"        // _PyType_IsReady()
#include "pycore_pystate.h"
#include "structmember.h"

/* Thread key (int) -> Python thread id (int) of every thread inside
 * lazy_bind_resolve. A thread that vanished in a fork leaves its key here;
 * it is never an owner again (the engine makes its entries pending). */
static PyObject *resolving_threads;

/* How deep this thread is in lazy_bind_resolve calls (resolvers nest). */
static _Thread_local unsigned int resolve_depth;

/* importlib's `_blocking_on`, or Py_None when it is not a dict (then waits
 * are not entered and mixed cycles are not detected). */
static PyObject *blocking_on;

/* ---- the EntryWait type --------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    lazy_bind_handle handle;
    PyObject *name;  /* the entry's name */
    PyObject *file;  /* the placeholder's declaration file */
    int line;        /* its declaration line */
} EntryWait;

/* The Python thread id resolving `handle` (new reference), or None when
 * it is not being resolved or its thread is unknown. NULL only if an
 * exception is set. */
static PyObject *
resolving_thread(lazy_bind_handle handle)
{
    lazy_bind_state state = LAZY_BIND_STATE_PENDING;
    uint64_t owner = 0;
    if (lazy_bind_peek(_PyLazyImports_engine, handle, &state, NULL, &owner, NULL) !=
            LAZY_BIND_OK ||
        state != LAZY_BIND_STATE_RESOLVING || resolving_threads == NULL)
    {
        Py_RETURN_NONE;
    }
    PyObject *key = PyLong_FromUnsignedLongLong(owner);
    if (key == NULL) {
        return NULL;
    }
    PyObject *thread = PyDict_GetItemWithError(resolving_threads, key);
    Py_DECREF(key);
    if (thread == NULL) {
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    return Py_NewRef(thread);
}

static PyObject *
entry_wait_owner(EntryWait *self, void *closure)
{
    (void)closure;
    /* importlib's deadlock walk reads this: it must not raise there. */
    PyObject *thread = resolving_thread(self->handle);
    if (thread == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return thread;
}

static void
entry_wait_dealloc(EntryWait *self)
{
    Py_XDECREF(self->name);
    Py_XDECREF(self->file);
    PyObject_Free(self);
}

static PyObject *
entry_wait_repr(EntryWait *self)
{
    PyObject *owner = entry_wait_owner(self, NULL);
    PyObject *repr = PyUnicode_FromFormat("<lazy import of %R (declared at %S:%d) being "
                                          "resolved by thread %S>",
                                          self->name, self->file, self->line, owner);
    Py_DECREF(owner);
    return repr;
}

static PyMemberDef entry_wait_members[] = {
    {"name", T_OBJECT, offsetof(EntryWait, name), READONLY, "The lazy import's name."},
    {"file", T_OBJECT, offsetof(EntryWait, file), READONLY, "Its declaration file."},
    {"line", T_INT, offsetof(EntryWait, line), READONLY, "Its declaration line."},
    {NULL},
};

static PyGetSetDef entry_wait_getset[] = {
    {"owner", (getter)entry_wait_owner, NULL,
     "The id of the thread resolving the lazy import, or None once it is done.", NULL},
    {NULL},
};

PyDoc_STRVAR(entry_wait_doc,
"A thread's wait for another thread's resolution of a lazy import, as\n"
"importlib._bootstrap._blocking_on shows it: a lock whose owner is the\n"
"resolving thread, so that importlib's deadlock detection sees the wait.");

static PyTypeObject EntryWait_Type = {
    PyVarObject_HEAD_INIT(&PyType_Type, 0)
    .tp_name = "_lazy_imports.EntryWait",
    .tp_basicsize = sizeof(EntryWait),
    .tp_dealloc = (destructor)entry_wait_dealloc,
    .tp_repr = (reprfunc)entry_wait_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_doc = entry_wait_doc,
    .tp_members = entry_wait_members,
    .tp_getset = entry_wait_getset,
};

static PyObject *
entry_wait_new(_PyLazyImportObject *placeholder)
{
    if (!_PyType_IsReady(&EntryWait_Type) && PyType_Ready(&EntryWait_Type) < 0) {
        return NULL;
    }
    EntryWait *self = PyObject_New(EntryWait, &EntryWait_Type);
    if (self == NULL) {
        return NULL;
    }
    self->handle = placeholder->handle;
    self->name = Py_NewRef(placeholder->name);
    self->file = Py_NewRef(placeholder->file);
    self->line = placeholder->line;
    return (PyObject *)self;
}

/* ---- the walk ------------------------------------------------------------- */

/* importlib's `_blocking_on` (borrowed), or NULL when it is unusable. */
static PyObject *
blocking_on_dict(void)
{
    if (blocking_on == NULL) {
        PyObject *importlib = _PyInterpreterState_GET()->importlib;
        PyObject *found = importlib ? PyObject_GetAttrString(importlib, "_blocking_on") : NULL;
        if (found == NULL || !PyDict_CheckExact(found)) {
            PyErr_Clear();
            Py_XDECREF(found);
            found = Py_NewRef(Py_None);
        }
        blocking_on = found;
    }
    return blocking_on == Py_None ? NULL : blocking_on;
}

/* One link of the walk: (name, file, line, thread holding it) for what
 * thread waits for, and its description in the message. */
static int
add_link(PyObject *chain, PyObject *parts, PyObject *lock, PyObject *owner)
{
    PyObject *link, *part;
    if (Py_IS_TYPE(lock, &EntryWait_Type)) {
        EntryWait *wait = (EntryWait *)lock;
        link = Py_BuildValue("(OOiO)", wait->name, wait->file, wait->line, owner);
        part = PyUnicode_FromFormat("lazy import of %R (declared at %S:%d)", wait->name,
                                    wait->file, wait->line);
    }
    else {
        PyObject *name = PyObject_GetAttrString(lock, "name");
        if (name == NULL) {
            PyErr_Clear();
            name = PyObject_Repr(lock);
            if (name == NULL) {
                return -1;
            }
        }
        link = Py_BuildValue("(OOiO)", name, Py_None, 0, owner);
        part = PyUnicode_FromFormat("the import lock of module %R", name);
        Py_DECREF(name);
    }
    int failed = link == NULL || part == NULL || PyList_Append(chain, link) < 0 ||
                 PyList_Append(parts, part) < 0;
    Py_XDECREF(link);
    Py_XDECREF(part);
    return failed ? -1 : 0;
}

/* Walks `_blocking_on` from `owner`, the thread resolving the entry this
 * thread (`me`) is about to wait for, as importlib's has_deadlock does.
 * Returns 1 and fills `chain` and `parts` (links after the entry's own)
 * if the walk reaches `me` through at least one module lock; 0 if it ends
 * elsewhere, or reaches `me` through entry waits only (the engine's case);
 * -1 with an exception set. */
static int
walk(PyObject *table, PyObject *owner, PyObject *me, PyObject *chain, PyObject *parts)
{
    PyObject *seen = PySet_New(NULL);
    if (seen == NULL) {
        return -1;
    }
    int result = 0, through_module_lock = 0;
    PyObject *thread = Py_NewRef(owner);
    while (1) {
        PyObject *lock = PyDict_GetItemWithError(table, thread);
        if (lock == NULL) {
            result = PyErr_Occurred() ? -1 : 0;
            break;
        }
        Py_INCREF(lock);
        through_module_lock |= !Py_IS_TYPE(lock, &EntryWait_Type);
        PyObject *next = PyObject_GetAttrString(lock, "owner");
        result = next == NULL ? -1 : add_link(chain, parts, lock, next);
        Py_DECREF(lock);
        Py_SETREF(thread, next);
        if (result < 0) {
            break;
        }
        int done = PyObject_RichCompareBool(thread, me, Py_EQ);
        if (done != 0) {
            result = done < 0 ? -1 : through_module_lock;
            break;
        }
        /* A loop that does not pass through this thread: no deadlock of
         * ours (importlib's bpo-38091 case). */
        int again = PySet_Contains(seen, thread);
        if (again != 0 || PySet_Add(seen, thread) < 0) {
            result = again > 0 ? 0 : -1;
            break;
        }
    }
    Py_XDECREF(thread);
    Py_DECREF(seen);
    return result;
}

/* Raises LazyImportDeadlockError for the entry of `placeholder`, which
 * thread `owner` resolves, with the walk's `chain` and `parts`. */
static void
raise_deadlock(_PyLazyImportObject *placeholder, PyObject *owner, PyObject *me,
               PyObject *chain, PyObject *parts)
{
    PyObject *file = placeholder->file;
    PyObject *first = Py_BuildValue("(OOiO)", placeholder->name, file, placeholder->line, owner);
    if (first == NULL || PyList_Insert(chain, 0, first) < 0) {
        Py_XDECREF(first);
        return;
    }
    Py_DECREF(first);
    PyObject *message = PyUnicode_FromFormat(
        "lazy import deadlock: thread %S would wait for lazy import of %R (declared at %S:%d), "
        "which thread %S is resolving",
        me, placeholder->name, file, placeholder->line, owner);
    for (Py_ssize_t i = 0; message != NULL && i < PyList_GET_SIZE(parts); i++) {
        PyObject *link = PyList_GET_ITEM(chain, i + 1);
        PyObject *holder = PyTuple_GET_ITEM(link, 3);
        PyObject *waiter = PyTuple_GET_ITEM(PyList_GET_ITEM(chain, i), 3);
        PyObject *more = PyUnicode_FromFormat("; thread %S waits for %U, held by thread %S%s",
                                              waiter, PyList_GET_ITEM(parts, i), holder,
                                              i + 1 == PyList_GET_SIZE(parts) ? " (this thread)"
                                                                              : "");
        PyObject *joined = more ? PyUnicode_Concat(message, more) : NULL;
        Py_XDECREF(more);
        Py_SETREF(message, joined);
    }
    if (message == NULL) {
        return;
    }
    PyObject *exc = PyObject_CallOneArg(_PyLazyImports_DeadlockError, message);
    Py_DECREF(message);
    if (exc == NULL) {
        return;
    }
    if (PyObject_SetAttrString(exc, "chain", chain) == 0 &&
        PyObject_SetAttrString(exc, "name", placeholder->name) == 0)
    {
        PyErr_SetObject(_PyLazyImports_DeadlockError, exc);
    }
    Py_DECREF(exc);
}

/* Before this thread (`me`) waits for the entry of `placeholder`, which
 * thread `owner` resolves: raises if the wait would close a cycle through a
 * module lock, else enters it in `table` and stores the record (new
 * reference) in `*record_out`. Returns 0, or -1 with an exception set. */
static int
enter_wait(PyObject *table, _PyLazyImportObject *placeholder, PyObject *owner, PyObject *me,
           PyObject **record_out)
{
    PyObject *chain = PyList_New(0);
    PyObject *parts = PyList_New(0);
    int cycle = chain != NULL && parts != NULL ? walk(table, owner, me, chain, parts) : -1;
    if (cycle > 0) {
        raise_deadlock(placeholder, owner, me, chain, parts);
    }
    Py_XDECREF(chain);
    Py_XDECREF(parts);
    if (cycle != 0) {
        return -1;
    }
    PyObject *record = entry_wait_new(placeholder);
    if (record == NULL || PyDict_SetItem(table, me, record) < 0) {
        Py_XDECREF(record);
        return -1;
    }
    *record_out = record;
    return 0;
}

/* ---- around lazy_bind_resolve --------------------------------------------- */

/* Adds (`on`) or removes this thread's lazy_bind thread key -> Python
 * thread id in `resolving_threads`. Returns 0, or -1 with an exception
 * set. */
static int
set_resolving(int on)
{
    if (resolving_threads == NULL) {
        resolving_threads = PyDict_New();
        if (resolving_threads == NULL) {
            return -1;
        }
    }
    PyObject *key = PyLong_FromUnsignedLongLong(lazy_bind_thread_key());
    if (key == NULL) {
        return -1;
    }
    int status;
    if (on) {
        PyObject *ident = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
        status = ident == NULL ? -1 : PyDict_SetItem(resolving_threads, key, ident);
        Py_XDECREF(ident);
    }
    else {
        status = PyDict_DelItem(resolving_threads, key);
    }
    Py_DECREF(key);
    return status;
}

/* Returns 1 if this wait needs entering: the entry is being resolved by
 * another thread, whose Python id `*owner_out` gets (new reference), and
 * this thread is not in `table` already (it can be only if code that runs
 * inside importlib's own lock acquisition touched a lazy name); 0 if not;
 * -1 with an exception set. */
static int
wait_to_enter(PyObject *table, _PyLazyImportObject *placeholder, PyObject *me,
              PyObject **owner_out)
{
    PyObject *owner = resolving_thread(placeholder->handle);
    if (owner == NULL) {
        return -1;
    }
    if (owner == Py_None) {
        Py_DECREF(owner);
        return 0;
    }
    int skip = PyObject_RichCompareBool(owner, me, Py_EQ);
    if (skip == 0) {
        skip = PyDict_Contains(table, me);
    }
    if (skip != 0) {
        Py_DECREF(owner);
        return skip < 0 ? -1 : 0;
    }
    *owner_out = owner;
    return 1;
}

int
_PyLazyImports_WaitBegin(_PyLazyImportObject *placeholder, _PyLazyImports_Wait *wait)
{
    wait->record = NULL;
    if (resolve_depth == 0 && set_resolving(1) < 0) {
        return -1;
    }
    resolve_depth++;
    PyObject *table = blocking_on_dict();
    if (table == NULL) {
        return 0;
    }
    PyObject *me = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
    PyObject *owner = NULL;
    int enter = me == NULL ? -1 : wait_to_enter(table, placeholder, me, &owner);
    if (enter > 0) {
        enter = enter_wait(table, placeholder, owner, me, &wait->record);
        Py_DECREF(owner);
    }
    Py_XDECREF(me);
    if (enter < 0) {
        _PyLazyImports_WaitEnd(wait);
        return -1;
    }
    return 0;
}

void
_PyLazyImports_WaitEnd(_PyLazyImports_Wait *wait)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (wait->record != NULL) {
        PyObject *me = PyLong_FromUnsignedLong(PyThread_get_thread_ident());
        if (me != NULL && PyDict_GetItemWithError(blocking_on, me) == wait->record) {
            PyDict_DelItem(blocking_on, me);
        }
        Py_XDECREF(me);
        Py_CLEAR(wait->record);
    }
    if (--resolve_depth == 0) {
        set_resolving(0);
    }
    /* Failing to remove a record (no memory) leaves a stale one whose
     * owner reads None: harmless to importlib's walk. */
    PyErr_Clear();
    PyErr_Restore(type, value, traceback);
}
