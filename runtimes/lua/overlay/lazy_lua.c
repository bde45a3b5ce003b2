/*
** lazy_lua.c: lazy `require` for Lua 5.4 on lazy_bind.
**
** Included at the end of loadlib.c's require section (see loadlib.patch), so
** that it can call loadlib.c's own static functions (findloader, searchpath,
** ll_require_eager: the stock `require`). It uses lazy_bind only through
** include/lazy_bind.h and the static library.
**
** A placeholder is an empty table P with a metatable. While the module is
** pending, every metamethod of that metatable resolves the module's engine
** entry (exactly once: the engine runs the resolver, which runs the stock
** loader) and then forwards the operation to the real value M. On
** resolution P gets a metatable of its own whose __index and __newindex
** are M itself (the VM's table fast path, no C call), and whose other
** events forward to M. package.loaded[name] holds M, never P.
**
** Which placeholder belongs to which entry: the registry table PLACEHOLDERS
** (weak keys) maps P to its Placeholder userdata, whose user values are
** 1: the module name, 2: M once resolved, 3: the last loader error.
** The registry table PENDING maps a module name to its pending P, so two
** lazy requires of one module return the same P and an eager require of a
** pending module resolves that P instead of loading the module twice.
*/

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy_bind.h"

static int ll_require_eager (lua_State *L);

#define LAZY_RUNTIME_KEY "lazy_bind.runtime"
#define LAZY_PLACEHOLDER_TYPE "lazy_bind.placeholder"
#define LAZY_PLACEHOLDERS_KEY "lazy_bind.placeholders"
#define LAZY_PENDING_KEY "lazy_bind.pending"
#define LAZY_SOURCES_KEY "lazy_bind.sources"
#define LAZY_SITES_KEY "lazy_bind.sites"
#define LAZY_PENDING_MT_KEY "lazy_bind.pending_mt"
#define LAZY_SEARCHERS_KEY "lazy_bind.searchers"
#define LAZY_MAIN "__main__"

#define UV_NAME 1
#define UV_VALUE 2
#define UV_ERROR 3
#define UV_FILE 4
#define UV_COUNT 4

/* Where a C module was found at declaration time (deferred with
** lazy_bind_native). */
enum { KIND_LUA = 0, KIND_C = 1 };

typedef struct LazyRuntime {
  lazy_bind_engine *engine;
  lazy_bind_policy *policy;
  lazy_bind_recorder *recorder;
  lazy_bind_native *native;
  int report;               /* LUA_LAZY_REPORT=1 */
  char *trace_path;         /* LUA_LAZY_TRACE=FILE, owned */
  int finished;             /* report written and engine freed */
} LazyRuntime;

typedef struct Placeholder {
  LazyRuntime *rt;
  lazy_bind_handle handle;
  const lazy_bind_slot *slot;
  int kind;                        /* KIND_LUA or KIND_C */
  lazy_bind_handle symbol;         /* KIND_C: luaopen_* in the library */
  lua_State *resolving;            /* the coroutine resolving it, or NULL */
  int slow_reads;                  /* reads through it since it resolved */
} Placeholder;

/* After this many reads through a resolved placeholder (each one rebinds
** the variables of the reading function that still hold it), its __index
** becomes the module table itself: what still holds the placeholder then
** (a table field, a global) reads through the VM's own table forwarding,
** with no C call and no more rebinding. */
#define LAZY_REBIND_READS 64

/* The resolution in progress on this OS thread (the resolver reads it: the
** engine calls the resolver synchronously from lazy_bind_resolve, on the
** thread and inside the C frame that called it). Nested resolutions save
** and restore it. */
typedef struct Resolution {
  lua_State *L;
  Placeholder *ph;
  int ud_index;                    /* absolute index of ph's userdata in L */
  int ran;                         /* the resolver ran (and stored M) */
} Resolution;

static _Thread_local Resolution *current_resolution = NULL;

/* The runtime whose report the atexit handler still owes (lua.c's os.exit
** without close skips lua_close). */
static LazyRuntime *report_owed = NULL;

static void runtime_finish (LazyRuntime *rt);


/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */
/* ---------------------------------------------------------------------- */

static LazyRuntime *get_runtime (lua_State *L) {
  LazyRuntime *rt;
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_RUNTIME_KEY);
  rt = (LazyRuntime *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return rt;
}

/* The first Lua frame at `level` or above: its source and current line. */
static void lua_site (lua_State *L, int level, char file[LUA_IDSIZE],
                      int *line) {
  lua_Debug ar;
  strcpy(file, "?");
  *line = 0;
  for (; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar)) break;
    if (ar.currentline > 0) {
      memcpy(file, ar.short_src, LUA_IDSIZE);
      file[LUA_IDSIZE - 1] = '\0';
      *line = ar.currentline;
      return;
    }
  }
}

/* Pushes "file:line" of the first Lua frame at `level` or above. */
static const char *push_site (lua_State *L, int level) {
  char file[LUA_IDSIZE];
  int line;
  lua_site(L, level, file, &line);
  return lua_pushfstring(L, "%s:%d", file, line);
}

static const char *result_text (uint32_t status) {
  return lazy_bind_result_message(status);
}

static int lazy_fail (lua_State *L, const char *what, uint32_t status) {
  return luaL_error(L, "lazy_bind: %s failed: %s", what, result_text(status));
}

/* Whether the engine has the placeholder's module resolved: the header's
** inline fast path, one acquire load and a compare. */
static int is_resolved (const Placeholder *ph) {
  return !ph->rt->finished &&
         lazy_bind_get_fast(ph->slot, ph->handle.stamp) != NULL;
}

/* The Placeholder of value `idx` if it is a placeholder, else NULL. Leaves
** the stack unchanged. */
static Placeholder *to_placeholder (lua_State *L, int idx) {
  Placeholder *ph = NULL;
  if (lua_type(L, idx) != LUA_TTABLE) return NULL;
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, LUA_REGISTRYINDEX, LAZY_PLACEHOLDERS_KEY) == LUA_TTABLE) {
    lua_pushvalue(L, idx);
    if (lua_rawget(L, -2) == LUA_TUSERDATA)
      ph = (Placeholder *)luaL_testudata(L, -1, LAZY_PLACEHOLDER_TYPE);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return ph;
}

/* Pushes the Placeholder userdata of placeholder table `idx`. */
static Placeholder *push_placeholder_ud (lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_PLACEHOLDERS_KEY);
  lua_pushvalue(L, idx);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  return (Placeholder *)luaL_checkudata(L, -1, LAZY_PLACEHOLDER_TYPE);
}

/* Records that the chunk with source `source` is module `name`, so that
** a `require` run by its code names it as the importer. Pops nothing. */
static void note_source (lua_State *L, int fn_index, const char *name) {
  lua_Debug ar;
  fn_index = lua_absindex(L, fn_index);
  if (!lua_isfunction(L, fn_index)) return;
  lua_pushvalue(L, fn_index);
  /* Only a main chunk (a file's code) is the module: a preload function */
  /* defined inside another file is not. */
  if (!lua_getinfo(L, ">S", &ar) || ar.source == NULL || ar.what == NULL ||
      strcmp(ar.what, "main") != 0)
    return;
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_SOURCES_KEY);
  lua_pushstring(L, ar.source);
  lua_pushstring(L, name);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* Called by the stock require (ll_require_eager) once findloader left the
** loader at the top of the stack: see loadlib.patch. */
static void lazy_note_loader (lua_State *L, const char *name) {
  note_source(L, -2, name);
}

/* The module whose code runs the `require` at stack level `level` (the
** module its chunk was loaded as), or "__main__". Pushes the name. */
static const char *push_importer (lua_State *L, int level) {
  lua_Debug ar;
  for (; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "S", &ar)) break;
    if (strcmp(ar.what, "C") == 0) continue;
    lua_getfield(L, LUA_REGISTRYINDEX, LAZY_SOURCES_KEY);
    if (lua_getfield(L, -1, ar.source) == LUA_TSTRING) {
      lua_remove(L, -2);
      return lua_tostring(L, -1);
    }
    lua_pop(L, 2);
    break;
  }
  return lua_pushliteral(L, LAZY_MAIN);
}

/* Records where `importer` required `target` (for cycle messages). */
static void note_site (lua_State *L, const char *importer, const char *target,
                       const char *site) {
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_SITES_KEY);
  lua_pushfstring(L, "%s\n%s", importer, target);
  if (lua_rawget(L, -2) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushfstring(L, "%s\n%s", importer, target);
    lua_pushstring(L, site);
    lua_rawset(L, -3);
  }
  else lua_pop(L, 1);
  lua_pop(L, 1);
}


/* ---------------------------------------------------------------------- */
/* Resolution                                                             */
/* ---------------------------------------------------------------------- */

/* Protected body of a resolution: loads the module as the stock `require`
** does (LOADED first, then the searchers, or the deferred luaopen_* of a C
** module), and stores the value in the Placeholder's user value 2.
** Upvalues: the package table (findloader needs it), the Placeholder
** userdata. Argument: the module name. */
static int resolve_body (lua_State *L) {
  Placeholder *ph = (Placeholder *)lua_touserdata(L, lua_upvalueindex(2));
  const char *name = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);   /* 2 */
  if (lua_getfield(L, 2, name) == LUA_TNIL || !lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    if (ph->kind == KIND_C) {
      void *address = NULL;
      lazy_bind_error *error = NULL;
      char file[LUA_IDSIZE];
      int line;
      uint32_t status;
      lua_site(L, 1, file, &line);
      status = lazy_bind_native_symbol(ph->rt->native, ph->symbol, file,
                                       (uint32_t)line, &address, &error);
      if (status != LAZY_BIND_OK) {
        lua_pushfstring(L, "error loading module '%s': %s", name,
                        error ? lazy_bind_error_message(error)
                              : result_text(status));
        lazy_bind_error_free(&error);
        return lua_error(L);
      }
      lua_pushcfunction(L, (lua_CFunction)address);       /* loader */
      lua_getiuservalue(L, lua_upvalueindex(2), UV_FILE); /* loader data */
    }
    else {
      findloader(L, name);  /* searchers at 3 (as in the stock require) */
      note_source(L, -2, name);
    }
    /* as the stock require from here: run the loader, fill LOADED */
    lua_rotate(L, -2, 1);   /* loader data <-> loader */
    lua_pushvalue(L, 1);    /* name */
    lua_pushvalue(L, -3);   /* loader data */
    lua_call(L, 2, 1);
    if (!lua_isnil(L, -1))
      lua_setfield(L, 2, name);
    else
      lua_pop(L, 1);
    if (lua_getfield(L, 2, name) == LUA_TNIL) {
      lua_pushboolean(L, 1);
      lua_copy(L, -1, -2);
      lua_setfield(L, 2, name);
    }
  }
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_insert(L, -2);
  lua_setiuservalue(L, -2, UV_VALUE);
  return 0;
}

/* Builds resolve_body's closure (package, userdata) and runs it. */
static int protected_resolve (lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, LUA_LOADLIBNAME);
  lua_remove(L, -2);
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, resolve_body, 2);
  lua_getiuservalue(L, 1, UV_NAME);
  lua_call(L, 1, 0);
  return 0;
}

/* The engine's resolver for a module entry. Runs the stock loading of the
** module in protected mode in the coroutine that touched the placeholder,
** so no Lua error ever unwinds through the engine. */
static uint32_t module_resolver (void *entry_userdata,
                                 const lazy_bind_engine *engine,
                                 lazy_bind_handle handle,
                                 void **value_out, void **runtime_error_out) {
  Resolution *r = current_resolution;
  lua_State *L;
  int status;
  (void)engine;
  (void)handle;
  (void)runtime_error_out;
  if (r == NULL || r->ph != (Placeholder *)entry_userdata)
    return LAZY_BIND_RESOLVER_FAILED;  /* not resolved through a placeholder */
  L = r->L;
  if (!lua_checkstack(L, 8)) return LAZY_BIND_RESOLVER_FAILED;
  /* Everything that may raise (allocation included) runs inside the */
  /* protected call: pushing a light C function and stack values does not. */
  lua_pushcfunction(L, protected_resolve);
  lua_pushvalue(L, r->ud_index);
  status = lua_pcall(L, 1, 0, 0);
  if (status != LUA_OK) {
    lua_setiuservalue(L, r->ud_index, UV_ERROR);  /* the original error */
    return LAZY_BIND_RESOLVER_FAILED;
  }
  r->ran = 1;
  *value_out = r->ph;  /* the value itself lives in Lua (user value 2) */
  return LAZY_BIND_OK;
}

/* Pushes the chain of a cycle error as "a (required at f:l) -> b ...". */
static void push_chain (lua_State *L, const lazy_bind_error *error) {
  size_t i, n = lazy_bind_error_chain_len(error);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 0; i < n; i++) {
    const char *name = lazy_bind_error_chain_name(error, i);
    const char *file = lazy_bind_error_chain_file(error, i);
    uint32_t line = lazy_bind_error_chain_line(error, i);
    const char *site = NULL;
    if (i > 0) {
      /* where the previous module's code required this one */
      lua_getfield(L, LUA_REGISTRYINDEX, LAZY_SITES_KEY);
      lua_pushfstring(L, "%s\n%s", lazy_bind_error_chain_name(error, i - 1),
                      name);
      lua_rawget(L, -2);
      site = lua_tostring(L, -1);
      lua_remove(L, -2);
    }
    else lua_pushnil(L);
    if (i > 0) luaL_addstring(&b, " -> ");
    if (site != NULL)
      lua_pushfstring(L, "'%s' (required at %s)", name, site);
    else
      lua_pushfstring(L, "'%s' (required at %s:%d)", name,
                      file ? file : "?", (int)line);
    lua_remove(L, -2);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
}

/* Raises the Lua error for a failed resolution of placeholder `ph`
** (userdata at `ud`). Never returns. */
static int raise_failure (lua_State *L, Placeholder *ph, int ud,
                          uint32_t status, lazy_bind_error *error,
                          int other_coroutine) {
  const char *name;
  const char *decl_file = error ? lazy_bind_error_declaration_file(error) : NULL;
  uint32_t decl_line = error ? lazy_bind_error_declaration_line(error) : 0;
  const char *where;
  lua_getiuservalue(L, ud, UV_NAME);
  name = lua_tostring(L, -1);
  where = push_site(L, 1);
  if (status == LAZY_BIND_CYCLE || status == LAZY_BIND_DEADLOCK) {
    push_chain(L, error);
    if (other_coroutine)
      lua_pushfstring(L,
          "lazy_bind: module '%s' (required at %s:%d) is being loaded by "
          "coroutine %p, which resumed this coroutine (%p) from inside that "
          "load, and this coroutine used it at %s: waiting would never end; "
          "chain: %s",
          name, decl_file ? decl_file : "?", (int)decl_line,
          (void *)ph->resolving, (void *)L, where, lua_tostring(L, -1));
    else
      lua_pushfstring(L, "lazy_bind: require cycle: %s, used at %s",
                      lua_tostring(L, -1), where);
    lazy_bind_error_free(&error);
    return lua_error(L);
  }
  if (status == LAZY_BIND_RESOLVER_FAILED &&
      lua_getiuservalue(L, ud, UV_ERROR) != LUA_TNIL) {
    /* The loader's own error, unchanged if it is not a string; a string */
    /* gets the declaration and first-use sites appended. */
    lua_pushnil(L);
    lua_setiuservalue(L, ud, UV_ERROR);
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *original = lua_tostring(L, -1);
      const char *note = strstr(original, "attempt to yield") ?
          " (a module's loader cannot yield, as with the stock require)" : "";
      lua_pushfstring(L,
          "%s\n\t(lazy require of '%s' declared at %s:%d, first used at %s%s; "
          "retried at the next use)",
          original, name, decl_file ? decl_file : "?", (int)decl_line, where,
          note);
    }
    lazy_bind_error_free(&error);
    return lua_error(L);
  }
  lua_pushfstring(L, "lazy_bind: resolving module '%s' failed at %s: %s", name,
                  where, error ? lazy_bind_error_message(error)
                               : result_text(status));
  lazy_bind_error_free(&error);
  return lua_error(L);
}

/* Gives the resolved placeholder P (at `p`) the metatable that forwards to
** M: __index and __newindex are M itself when M is a table. */
static void install_resolved_metatable (lua_State *L, int p, int m);

/* Rebinding: in the first Lua frame of the access (the function whose code
** used the placeholder), every local variable, temporary and upvalue that
** holds placeholder `p` is set to its module `m` (compare-and-replace: a
** variable the program rebound meanwhile is left alone). Upvalues are
** shared by every closure of the scope, so `local x = require "x"` at the
** top of a module is rebound for all of the module's functions at once,
** and later reads through it cost what a read of the module costs.
** Returns whether a named variable or an upvalue was rebound. */
static int rebind (lua_State *L, int p, int m) {
  lua_Debug ar;
  int level, i, found = 0;
  const char *name;
  p = lua_absindex(L, p);
  m = lua_absindex(L, m);
  for (level = 1; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sf", &ar)) return found;  /* pushes the function */
    if (strcmp(ar.what, "C") == 0) {
      lua_pop(L, 1);
      continue;
    }
    for (i = 1; (name = lua_getlocal(L, &ar, i)) != NULL; i++) {
      int same = lua_rawequal(L, -1, p);
      lua_pop(L, 1);
      if (same) {
        lua_pushvalue(L, m);
        lua_setlocal(L, &ar, i);
        if (name[0] != '(') found = 1;
      }
    }
    for (i = 1; lua_getupvalue(L, -1, i) != NULL; i++) {
      int same = lua_rawequal(L, -1, p);
      lua_pop(L, 1);
      if (same) {
        lua_pushvalue(L, m);
        lua_setupvalue(L, -2, i);
        found = 1;
      }
    }
    lua_pop(L, 1);
    break;
  }
  return found;
}

/* Resolves placeholder table `p` (through the engine, exactly once) and
** pushes its value M. Raises the loader's error, a cycle error or an
** engine error on failure. */
static void resolve_placeholder (lua_State *L, int p) {
  Placeholder *ph;
  int ud;
  Resolution r, *saved;
  void *value = NULL;
  lazy_bind_error *error = NULL;
  uint32_t status;
  char file[LUA_IDSIZE];
  int line, other_coroutine, set_here;
  p = lua_absindex(L, p);
  ph = push_placeholder_ud(L, p);
  ud = lua_gettop(L);
  if (is_resolved(ph)) {
    lua_getiuservalue(L, ud, UV_VALUE);
    lua_remove(L, ud);
    rebind(L, p, -1);
    if (++ph->slow_reads == LAZY_REBIND_READS && lua_type(L, -1) == LUA_TTABLE) {
      /* held where nothing can be rebound: let the VM forward by itself */
      lua_getmetatable(L, p);
      lua_pushvalue(L, -2);
      lua_setfield(L, -2, "__index");
      lua_pop(L, 1);
    }
    return;
  }
  if (ph->rt->finished)
    luaL_error(L, "lazy_bind: the runtime is closed; module not loaded");
  lua_site(L, 1, file, &line);
  other_coroutine = ph->resolving != NULL && ph->resolving != L;
  r.L = L;
  r.ph = ph;
  r.ud_index = ud;
  r.ran = 0;
  saved = current_resolution;
  current_resolution = &r;
  set_here = ph->resolving == NULL;
  if (set_here) ph->resolving = L;
  status = lazy_bind_resolve(ph->rt->engine, ph->handle, file, (uint32_t)line,
                             &value, &error);
  current_resolution = saved;
  if (set_here) ph->resolving = NULL;
  if (status == LAZY_BIND_CYCLE && !other_coroutine) {
    /* A use of the module during its own load. A module that stored */
    /* itself in package.loaded before its body finished (the idiom that */
    /* makes circular requires work in stock Lua) is handed out partial, as */
    /* the stock require hands it out; otherwise this is a cycle. */
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getiuservalue(L, ud, UV_NAME);
    lua_rawget(L, -2);
    if (lua_toboolean(L, -1)) {
      lazy_bind_error_free(&error);
      lua_remove(L, -2);
      lua_remove(L, ud);
      return;
    }
    lua_pop(L, 2);
  }
  if (status != LAZY_BIND_OK) {
    raise_failure(L, ph, ud, status, error, other_coroutine);
    return;
  }
  lua_getiuservalue(L, ud, UV_VALUE);         /* M */
  install_resolved_metatable(L, p, lua_gettop(L));
  rebind(L, p, -1);
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_PENDING_KEY);
  lua_getiuservalue(L, ud, UV_NAME);
  lua_pushvalue(L, -1);
  lua_rawget(L, -3);
  if (lua_rawequal(L, -1, p)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  else lua_pop(L, 3);
  lua_remove(L, ud);                           /* leave M */
}

/* Replaces every placeholder argument of the running metamethod by its
** resolved value (resolving it). */
static void resolve_args (lua_State *L) {
  int i, n = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    if (to_placeholder(L, i) != NULL) {
      resolve_placeholder(L, i);
      lua_replace(L, i);
    }
  }
}


/* ---------------------------------------------------------------------- */
/* Metamethods                                                            */
/* ---------------------------------------------------------------------- */

static int mm_index (lua_State *L) {          /* P[k] */
  lua_settop(L, 2);
  resolve_placeholder(L, 1);  /* only P: a key is used as it is */
  lua_replace(L, 1);
  lua_gettable(L, 1);
  return 1;
}

static int mm_newindex (lua_State *L) {       /* P[k] = v */
  lua_settop(L, 3);
  resolve_placeholder(L, 1);
  lua_replace(L, 1);
  lua_settable(L, 1);
  return 0;
}

static int mm_call (lua_State *L) {           /* P(...) */
  resolve_placeholder(L, 1);
  lua_replace(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

static int mm_len (lua_State *L) {            /* #P */
  lua_settop(L, 1);
  resolve_args(L);
  lua_len(L, 1);
  return 1;
}

static int mm_pairs (lua_State *L) {          /* pairs(P) */
  lua_settop(L, 1);
  resolve_args(L);
  if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
    lua_pushvalue(L, 1);
    lua_call(L, 1, 3);
    return 3;
  }
  lua_getglobal(L, "next");
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

static int mm_tostring (lua_State *L) {       /* tostring(P) */
  lua_settop(L, 1);
  resolve_args(L);
  luaL_tolstring(L, 1, NULL);
  return 1;
}

static int mm_concat (lua_State *L) {         /* P .. x, x .. P */
  lua_settop(L, 2);
  resolve_args(L);
  lua_concat(L, 2);
  return 1;
}

static int mm_eq (lua_State *L) {             /* P == x */
  lua_settop(L, 2);
  resolve_args(L);
  lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPEQ));
  return 1;
}

static int mm_lt (lua_State *L) {
  lua_settop(L, 2);
  resolve_args(L);
  lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
  return 1;
}

static int mm_le (lua_State *L) {
  lua_settop(L, 2);
  resolve_args(L);
  lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLE));
  return 1;
}

static int mm_close (lua_State *L) {          /* local x <close> = P */
  lua_settop(L, 2);
  resolve_args(L);
  if (luaL_getmetafield(L, 1, "__close") == LUA_TNIL)
    return luaL_error(L, "variable got a non-closable value");
  lua_insert(L, 1);
  lua_call(L, 2, 0);
  return 0;
}

#define ARITH(fname, op) \
  static int fname (lua_State *L) { \
    lua_settop(L, 2); \
    resolve_args(L); \
    lua_arith(L, op); \
    return 1; \
  }
ARITH(mm_add, LUA_OPADD)
ARITH(mm_sub, LUA_OPSUB)
ARITH(mm_mul, LUA_OPMUL)
ARITH(mm_div, LUA_OPDIV)
ARITH(mm_mod, LUA_OPMOD)
ARITH(mm_pow, LUA_OPPOW)
ARITH(mm_idiv, LUA_OPIDIV)
ARITH(mm_band, LUA_OPBAND)
ARITH(mm_bor, LUA_OPBOR)
ARITH(mm_bxor, LUA_OPBXOR)
ARITH(mm_shl, LUA_OPSHL)
ARITH(mm_shr, LUA_OPSHR)

static int mm_unm (lua_State *L) {
  lua_settop(L, 1);
  resolve_args(L);
  lua_arith(L, LUA_OPUNM);
  return 1;
}

static int mm_bnot (lua_State *L) {
  lua_settop(L, 1);
  resolve_args(L);
  lua_arith(L, LUA_OPBNOT);
  return 1;
}

static const luaL_Reg forwarders[] = {
  {"__call", mm_call}, {"__len", mm_len}, {"__pairs", mm_pairs},
  {"__tostring", mm_tostring}, {"__concat", mm_concat}, {"__eq", mm_eq},
  {"__lt", mm_lt}, {"__le", mm_le}, {"__close", mm_close},
  {"__add", mm_add}, {"__sub", mm_sub}, {"__mul", mm_mul}, {"__div", mm_div},
  {"__mod", mm_mod}, {"__pow", mm_pow}, {"__idiv", mm_idiv},
  {"__band", mm_band}, {"__bor", mm_bor}, {"__bxor", mm_bxor},
  {"__shl", mm_shl}, {"__shr", mm_shr}, {"__unm", mm_unm}, {"__bnot", mm_bnot},
  {NULL, NULL}
};

static void install_resolved_metatable (lua_State *L, int p, int m) {
  p = lua_absindex(L, p);
  m = lua_absindex(L, m);
  lua_createtable(L, 0, 28);
  luaL_setfuncs(L, forwarders, 0);
  /* __index stays the C function at first, so that each variable still */
  /* holding the placeholder is rebound at its first read (see rebind). */
  lua_pushcfunction(L, mm_index);
  lua_setfield(L, -2, "__index");
  if (lua_type(L, m) == LUA_TTABLE) {
    lua_pushvalue(L, m);
    lua_setfield(L, -2, "__newindex");
  }
  else {
    lua_pushcfunction(L, mm_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, mm_newindex);
    lua_setfield(L, -2, "__newindex");
  }
  lua_pushliteral(L, "lazy module");
  lua_setfield(L, -2, "__name");
  /* getmetatable(P) answers what getmetatable(M) would (false: none). */
  if (luaL_getmetafield(L, m, "__metatable") == LUA_TNIL &&
      !lua_getmetatable(L, m))
    lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, p);
}

/* The metatable every pending placeholder shares. */
static void push_pending_metatable (lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LAZY_PENDING_MT_KEY) == LUA_TTABLE)
    return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 28);
  luaL_setfuncs(L, forwarders, 0);
  lua_pushcfunction(L, mm_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, mm_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "lazy module");
  lua_setfield(L, -2, "__name");
  lua_pushliteral(L, "lazy_bind placeholder");
  lua_setfield(L, -2, "__metatable");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LAZY_PENDING_MT_KEY);
}


/* ---------------------------------------------------------------------- */
/* require                                                                */
/* ---------------------------------------------------------------------- */

/* Whether package.searchers still holds exactly the stock searchers (then
** a module's existence can be checked without loading it). */
static int stock_searchers (lua_State *L) {
  int i, same = 1;
  if (lua_getfield(L, lua_upvalueindex(1), "searchers") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_SEARCHERS_KEY);
  for (i = 1; same; i++) {
    int a = lua_rawgeti(L, -2, i);
    int b = lua_rawgeti(L, -2, i);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (a == LUA_TNIL && b == LUA_TNIL) break;
  }
  lua_pop(L, 2);
  return same;
}

/* Looks for module `name` the way the stock searchers would, without
** loading or compiling it. Returns KIND_LUA (preload or a Lua file),
** KIND_C (a C library: pushes its path), or -1 (not found, or found only
** by the all-in-one C loader, which is left to the stock require). */
static int find_module (lua_State *L, const char *name) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  if (lua_getfield(L, -1, name) != LUA_TNIL) {
    lua_settop(L, top);
    return KIND_LUA;
  }
  lua_settop(L, top);
  /* searchpath leaves scratch values below its result: reset the top */
  if (lua_getfield(L, lua_upvalueindex(1), "path") == LUA_TSTRING &&
      searchpath(L, name, lua_tostring(L, top + 1), ".", LUA_DIRSEP) != NULL) {
    lua_settop(L, top);
    return KIND_LUA;
  }
  lua_settop(L, top);
  if (lua_getfield(L, lua_upvalueindex(1), "cpath") == LUA_TSTRING &&
      searchpath(L, name, lua_tostring(L, top + 1), ".", LUA_DIRSEP) != NULL) {
    lua_replace(L, top + 1);  /* the file name */
    lua_settop(L, top + 1);
    return KIND_C;
  }
  lua_settop(L, top);
  return -1;
}

/* `luaopen_` + the module's name the way loadfunc builds it (without the */
/* ignore-mark fallback: such modules are left to the stock require). */
static int c_openfunc (lua_State *L, const char *name) {
  const char *mod = luaL_gsub(L, name, ".", LUA_OFSEP);
  if (strchr(mod, *LUA_IGMARK)) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushfstring(L, LUA_POF "%s", mod);
  lua_remove(L, -2);
  return 1;
}

/* Creates the placeholder of module `name`, declared at `file:line`, and
** pushes it. `kind` KIND_C with the library path at the top of the stack
** (popped). */
static void create_placeholder (lua_State *L, LazyRuntime *rt,
                                const char *name, const char *file, int line,
                                int kind) {
  Placeholder *ph;
  uint32_t status;
  int path_index = 0;
  if (kind == KIND_C) path_index = lua_gettop(L);
  lua_newtable(L);                                    /* P */
  ph = (Placeholder *)lua_newuserdatauv(L, sizeof(Placeholder), UV_COUNT);
  memset(ph, 0, sizeof *ph);
  ph->rt = rt;
  ph->kind = kind;
  luaL_setmetatable(L, LAZY_PLACEHOLDER_TYPE);
  lua_pushstring(L, name);
  lua_setiuservalue(L, -2, UV_NAME);
  if (kind == KIND_C) {
    lazy_bind_handle library;
    const char *path = lua_tostring(L, path_index);
    if (!c_openfunc(L, name))
      luaL_error(L, "lazy_bind: internal: ignore mark in '%s'", name);
    status = lazy_bind_native_defer_library(rt->native, path, name, file,
                                            (uint32_t)line, &library);
    if (status == LAZY_BIND_OK)
      status = lazy_bind_native_defer_symbol(rt->native, library,
                                             lua_tostring(L, -1), name, file,
                                             (uint32_t)line, &ph->symbol);
    lua_pop(L, 1);
    if (status != LAZY_BIND_OK) lazy_fail(L, "deferring a C module", status);
    lua_pushvalue(L, path_index);
    lua_setiuservalue(L, -2, UV_FILE);
  }
  status = lazy_bind_entry_create(rt->engine, name, file, (uint32_t)line,
                                  module_resolver, ph, NULL, &ph->handle);
  if (status != LAZY_BIND_OK) lazy_fail(L, "lazy_bind_entry_create", status);
  status = lazy_bind_engine_slot(rt->engine, ph->handle, &ph->slot);
  if (status != LAZY_BIND_OK) lazy_fail(L, "lazy_bind_engine_slot", status);
  /* PLACEHOLDERS[P] = userdata */
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_PLACEHOLDERS_KEY);
  lua_pushvalue(L, -3);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 2);                                      /* P */
  push_pending_metatable(L);
  lua_setmetatable(L, -2);
  /* PENDING[name] = P */
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_PENDING_KEY);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
  if (path_index) lua_remove(L, path_index);
}

/* The require behind both `require` (context 0) and package.lazy.require
** (LAZY_BIND_CONTEXT_MARKED_LAZY). Upvalue 1: the package table. */
static int lazy_require (lua_State *L, uint32_t marked) {
  LazyRuntime *rt = get_runtime(L);
  const char *name = luaL_checkstring(L, 1);
  const char *importer, *site;
  char file[LUA_IDSIZE];
  int line, kind;
  uint32_t context = marked, status;
  bool defer = false;
  lua_Debug ar;
  lua_settop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);   /* 2 */
  if (lua_getfield(L, 2, name) != LUA_TNIL && lua_toboolean(L, -1))
    return 1;  /* already loaded: as the stock require */
  lua_pop(L, 1);
  if (rt == NULL || rt->finished) {
    lua_settop(L, 1);
    return ll_require_eager(L);
  }
  /* Called from a C function (pcall(require, "x"), ...): someone may be */
  /* catching a missing module right here, so the require is eager. */
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "S", &ar) &&
      strcmp(ar.what, "C") == 0)
    context |= LAZY_BIND_CONTEXT_IN_TRY;
  importer = push_importer(L, 1);                          /* 3 */
  site = push_site(L, 1);                                  /* 4 */
  lua_site(L, 1, file, &line);
  lua_pushnil(L);                                          /* 5 */
  note_site(L, importer, name, site);
  if (rt->recorder != NULL) {
    char *why = NULL;
    status = lazy_bind_policy_explain(rt->policy, importer, name, NULL, 0,
                                      context, &defer, &why);
    if (status == LAZY_BIND_OK) {
      status = lazy_bind_recorder_record_policy_decision(rt->recorder, importer,
                                                         name, defer, why);
      lazy_bind_string_free(&why);
    }
  }
  else
    status = lazy_bind_policy_decide(rt->policy, importer, name, NULL, 0,
                                     context, &defer);
  if (status != LAZY_BIND_OK) lazy_fail(L, "deciding a require", status);
  /* A module already deferred: the same placeholder, or resolve it. */
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_PENDING_KEY);    /* 6 */
  if (lua_getfield(L, 6, name) == LUA_TTABLE) {            /* 7 */
    if (defer) return 1;
    resolve_placeholder(L, 7);
    return 1;
  }
  lua_settop(L, 5);
  if (!defer) {
    lua_settop(L, 1);
    return ll_require_eager(L);
  }
  kind = stock_searchers(L) ? find_module(L, name) : KIND_LUA;
  if (kind == KIND_C && !c_openfunc(L, name)) {
    kind = -1;
  }
  else if (kind == KIND_C) {
    lua_pop(L, 1);  /* only checked; create_placeholder builds it again */
  }
  if (kind < 0) {
    /* Not found (the stock require raises its usual error) or a case left */
    /* to it: load now. */
    lua_settop(L, 1);
    return ll_require_eager(L);
  }
  create_placeholder(L, rt, name, file, line, kind);
  return 1;
}

/* `require`: the stock entry point, renamed ll_require_eager by the patch,
** is what this calls for eager requires. */
static int ll_require (lua_State *L) {
  return lazy_require(L, 0);
}


/* ---------------------------------------------------------------------- */
/* package.lazy                                                           */
/* ---------------------------------------------------------------------- */

static const char *const mode_names[] = {"none", "normal", "all", NULL};

static int pl_require (lua_State *L) {
  return lazy_require(L, LAZY_BIND_CONTEXT_MARKED_LAZY);
}

static int pl_mode (lua_State *L) {
  LazyRuntime *rt = get_runtime(L);
  uint32_t mode = 0, status = lazy_bind_policy_mode(rt->policy, &mode);
  if (status != LAZY_BIND_OK) return lazy_fail(L, "lazy_bind_policy_mode", status);
  lua_pushstring(L, mode < 3 ? mode_names[mode] : "?");
  return 1;
}

static int pl_set_mode (lua_State *L) {
  LazyRuntime *rt = get_runtime(L);
  int mode = luaL_checkoption(L, 1, NULL, mode_names);
  uint32_t status = lazy_bind_policy_set_mode(rt->policy, (uint32_t)mode);
  if (status != LAZY_BIND_OK)
    return lazy_fail(L, "lazy_bind_policy_set_mode", status);
  return 0;
}

/* explain(target [, importer [, protected]]) -> deferred, sentence */
static int pl_explain (lua_State *L) {
  LazyRuntime *rt = get_runtime(L);
  const char *target = luaL_checkstring(L, 1);
  const char *importer = luaL_optstring(L, 2, LAZY_MAIN);
  uint32_t context = lua_toboolean(L, 3) ? LAZY_BIND_CONTEXT_IN_TRY : 0;
  bool defer = false;
  char *why = NULL;
  uint32_t status = lazy_bind_policy_explain(rt->policy, importer, target, NULL,
                                             0, context, &defer, &why);
  if (status != LAZY_BIND_OK)
    return lazy_fail(L, "lazy_bind_policy_explain", status);
  lua_pushboolean(L, defer);
  lua_pushstring(L, why);
  lazy_bind_string_free(&why);
  return 2;
}

/* add_rules(text): policy rules (eager-target x, ...) on top of the policy */
static int pl_add_rules (lua_State *L) {
  LazyRuntime *rt = get_runtime(L);
  char *message = NULL;
  uint32_t status = lazy_bind_policy_add_rules(rt->policy, luaL_checkstring(L, 1),
                                               &message);
  if (status != LAZY_BIND_OK) {
    lua_pushfstring(L, "lazy_bind: bad policy rules: %s",
                    message ? message : result_text(status));
    lazy_bind_string_free(&message);
    return lua_error(L);
  }
  return 0;
}

static int pl_is_placeholder (lua_State *L) {
  lua_pushboolean(L, to_placeholder(L, 1) != NULL);
  return 1;
}

/* state(p) -> "pending" | "resolved" | nil (not a placeholder) */
static int pl_state (lua_State *L) {
  Placeholder *ph = to_placeholder(L, 1);
  if (ph == NULL) return 0;
  lua_pushstring(L, is_resolved(ph) ? "resolved" : "pending");
  return 1;
}

/* resolve(p) -> the module (p itself if it is not a placeholder) */
static int pl_resolve (lua_State *L) {
  lua_settop(L, 1);
  if (to_placeholder(L, 1) == NULL) return 1;
  resolve_placeholder(L, 1);
  return 1;
}

/* pending() -> list of the modules deferred and not resolved yet */
static int pl_pending (lua_State *L) {
  lua_Integer i = 0;
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_PENDING_KEY);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -4, ++i);
  }
  lua_pop(L, 1);
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, -3);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  return 1;
}

/* eager(f, ...): calls f inside an eager scope (every require eager) */
static int eager_body (lua_State *L) {
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

static int pl_eager (lua_State *L) {
  int status;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (lazy_bind_eager_scope_enter() != LAZY_BIND_OK)
    return luaL_error(L, "lazy_bind: eager scopes nested too deeply");
  lua_pushcfunction(L, eager_body);
  lua_insert(L, 1);
  status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  if (lazy_bind_eager_scope_leave() != LAZY_BIND_OK)
    return luaL_error(L, "lazy_bind: eager scope left twice");
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

/* disable([resolve_pending]): no require is deferred from now on; with a */
/* true argument, also resolves every pending placeholder and returns the */
/* number of failures and their messages. */
static int pl_disable (lua_State *L) {
  LazyRuntime *rt = get_runtime(L);
  int resolve = lua_toboolean(L, 1), failures = 0, list;
  uint32_t status = lazy_bind_policy_set_mode(rt->policy, LAZY_BIND_MODE_NONE);
  if (status != LAZY_BIND_OK) return lazy_fail(L, "disable", status);
  if (!resolve) return 0;
  lua_settop(L, 0);
  lua_newtable(L);                                      /* 1: failures */
  list = 1;
  pl_pending(L);                                        /* 2: names */
  lua_getfield(L, LUA_REGISTRYINDEX, LAZY_PENDING_KEY); /* 3 */
  for (lua_Integer i = 1; lua_rawgeti(L, 2, i) == LUA_TSTRING; i++) {
    lua_pushcfunction(L, pl_resolve);
    lua_pushvalue(L, -2);
    lua_rawget(L, 3);                                   /* P */
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
      luaL_tolstring(L, -1, NULL);
      lua_rawseti(L, list, ++failures);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pushinteger(L, failures);
  lua_pushvalue(L, list);
  return 2;
}

static int pl_counters (lua_State *L) {
  LazyRuntime *rt = get_runtime(L);
  lazy_bind_counters c;
  uint32_t status;
  memset(&c, 0, sizeof c);
  c.size = sizeof c;
  status = lazy_bind_engine_counters(rt->engine, &c);
  if (status != LAZY_BIND_OK) return lazy_fail(L, "counters", status);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)c.deferred);
  lua_setfield(L, -2, "deferred");
  lua_pushinteger(L, (lua_Integer)c.resolved);
  lua_setfield(L, -2, "resolved");
  lua_pushinteger(L, (lua_Integer)c.failed);
  lua_setfield(L, -2, "failed");
  lua_pushinteger(L, (lua_Integer)c.pending);
  lua_setfield(L, -2, "pending");
  return 1;
}

/* never_used() -> the never-resolved report (one line per module) */
static int pl_never_used (lua_State *L) {
  LazyRuntime *rt = get_runtime(L);
  char *text = NULL;
  uint32_t status = lazy_bind_never_resolved_report(rt->engine, &text);
  if (status != LAZY_BIND_OK) return lazy_fail(L, "never_used", status);
  lua_pushstring(L, text);
  lazy_bind_string_free(&text);
  return 1;
}

/* report() -> the -X importtime-style report, or nil when not recording */
static int pl_report (lua_State *L) {
  LazyRuntime *rt = get_runtime(L);
  char *text = NULL;
  uint32_t status;
  if (rt->recorder == NULL) return 0;
  status = lazy_bind_importtime_report(rt->recorder, rt->engine, &text);
  if (status != LAZY_BIND_OK) return lazy_fail(L, "report", status);
  lua_pushstring(L, text);
  lazy_bind_string_free(&text);
  return 1;
}

static const luaL_Reg lazy_funcs[] = {
  {"require", pl_require}, {"mode", pl_mode}, {"set_mode", pl_set_mode},
  {"explain", pl_explain}, {"add_rules", pl_add_rules},
  {"is_placeholder", pl_is_placeholder}, {"state", pl_state},
  {"resolve", pl_resolve}, {"pending", pl_pending}, {"eager", pl_eager},
  {"disable", pl_disable}, {"counters", pl_counters},
  {"never_used", pl_never_used}, {"report", pl_report},
  {NULL, NULL}
};


/* ---------------------------------------------------------------------- */
/* Start-up and shut-down                                                 */
/* ---------------------------------------------------------------------- */

static void runtime_finish (LazyRuntime *rt) {
  if (rt->finished) return;
  rt->finished = 1;
  if (rt->recorder != NULL && rt->report) {
    char *text = NULL;
    if (lazy_bind_importtime_report(rt->recorder, rt->engine, &text) ==
        LAZY_BIND_OK) {
      fputs(text, stderr);
      lazy_bind_string_free(&text);
    }
  }
  if (rt->recorder != NULL && rt->trace_path != NULL) {
    uint32_t status = lazy_bind_write_chrome_trace(rt->recorder, rt->trace_path);
    if (status != LAZY_BIND_OK)
      fprintf(stderr, "lazy_bind: writing the trace to %s failed: %s\n",
              rt->trace_path, result_text(status));
  }
  lazy_bind_recorder_free(&rt->recorder);
  lazy_bind_policy_free(&rt->policy);
  lazy_bind_engine_free(&rt->engine);
  lazy_bind_native_free(&rt->native);
  free(rt->trace_path);
  rt->trace_path = NULL;
  if (report_owed == rt) report_owed = NULL;
}

static void report_at_exit (void) {
  /* os.exit() without closing the state: write the report anyway. The */
  /* engine is left to the process exit (Lua may still reference it). */
  LazyRuntime *rt = report_owed;
  char *text = NULL;
  if (rt == NULL || rt->finished) return;
  if (rt->recorder != NULL && rt->report &&
      lazy_bind_importtime_report(rt->recorder, rt->engine, &text) ==
          LAZY_BIND_OK) {
    fputs(text, stderr);
    lazy_bind_string_free(&text);
  }
  if (rt->recorder != NULL && rt->trace_path != NULL)
    (void)!lazy_bind_write_chrome_trace(rt->recorder, rt->trace_path);
  rt->finished = 1;
}

static int runtime_gc (lua_State *L) {
  LazyRuntime *rt = (LazyRuntime *)lua_touserdata(L, 1);
  runtime_finish(rt);
  return 0;
}

/* Before CLIBS exists (luaopen_package): the runtime's userdata gets its */
/* finalizer first, so it runs after every C library's own finalizers. */
static void lazy_preopen (lua_State *L) {
  LazyRuntime *rt;
  uint32_t status;
  bool was_set = false;
  char *message = NULL;
  const char *env;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LAZY_RUNTIME_KEY) != LUA_TNIL) {
    lua_pop(L, 1);
    return;  /* package opened twice in one state */
  }
  lua_pop(L, 1);
  rt = (LazyRuntime *)lua_newuserdatauv(L, sizeof(LazyRuntime), 0);
  memset(rt, 0, sizeof *rt);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, runtime_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, LAZY_RUNTIME_KEY);
  rt->finished = 1;  /* until everything below exists */
  if (lazy_bind_version() != LAZY_BIND_VERSION)
    luaL_error(L, "lazy_bind: header %d and library %d versions differ",
               (int)LAZY_BIND_VERSION, (int)lazy_bind_version());
  status = lazy_bind_engine_new(NULL, 0, &rt->engine);
  if (status != LAZY_BIND_OK) lazy_fail(L, "lazy_bind_engine_new", status);
  status = lazy_bind_native_new(&rt->native);
  if (status != LAZY_BIND_OK) lazy_fail(L, "lazy_bind_native_new", status);
  status = lazy_bind_policy_from_env(&rt->policy, &was_set, &message);
  if (status != LAZY_BIND_OK) {
    lua_pushfstring(L, "lazy_bind: bad LAZY_BIND_POLICY: %s",
                    message ? message : result_text(status));
    lazy_bind_string_free(&message);
    lua_error(L);
  }
  env = getenv("LUA_LAZY");
  if (env != NULL && *env != '\0') {
    int i;
    for (i = 0; mode_names[i] != NULL; i++)
      if (strcmp(env, mode_names[i]) == 0) break;
    if (mode_names[i] == NULL)
      luaL_error(L, "lazy_bind: LUA_LAZY=%s: expected all, normal or none", env);
    status = lazy_bind_policy_set_mode(rt->policy, (uint32_t)i);
    if (status != LAZY_BIND_OK) lazy_fail(L, "LUA_LAZY", status);
  }
  env = getenv("LUA_LAZY_REPORT");
  rt->report = env != NULL && strcmp(env, "1") == 0;
  env = getenv("LUA_LAZY_TRACE");
  if (env != NULL && *env != '\0') {
    rt->trace_path = (char *)malloc(strlen(env) + 1);
    if (rt->trace_path == NULL) luaL_error(L, "lazy_bind: out of memory");
    strcpy(rt->trace_path, env);
  }
  if (rt->report || rt->trace_path != NULL) {
    status = lazy_bind_recorder_new(1 << 20, &rt->recorder);
    if (status == LAZY_BIND_OK)
      status = lazy_bind_engine_set_recorder(rt->engine, rt->recorder);
    if (status != LAZY_BIND_OK) lazy_fail(L, "the recorder", status);
    if (report_owed == NULL) {
      static int registered = 0;
      if (!registered) {
        registered = 1;
        atexit(report_at_exit);
      }
      report_owed = rt;
    }
  }
  rt->finished = 0;
  luaL_newmetatable(L, LAZY_PLACEHOLDER_TYPE);
  lua_pop(L, 1);
  /* PLACEHOLDERS: placeholder table -> userdata, weak keys */
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, LAZY_PLACEHOLDERS_KEY);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LAZY_PENDING_KEY);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LAZY_SOURCES_KEY);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LAZY_SITES_KEY);
}

/* After the package table is built (at the top of the stack): keeps a copy */
/* of the stock searchers and installs package.lazy. */
static void lazy_postopen (lua_State *L) {
  int i;
  lua_getfield(L, -1, "searchers");
  lua_newtable(L);
  for (i = 1; lua_rawgeti(L, -2, i) != LUA_TNIL; i++)
    lua_rawseti(L, -2, i);
  lua_pop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, LAZY_SEARCHERS_KEY);
  lua_pop(L, 1);
  luaL_newlibtable(L, lazy_funcs);
  lua_pushvalue(L, -2);  /* package as upvalue (lazy require needs it) */
  luaL_setfuncs(L, lazy_funcs, 1);
  lua_setfield(L, -2, "lazy");
}
