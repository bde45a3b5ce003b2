/* A C module for the tests: luaopen_lazyc counts its calls in the global
** `lazyc_opens`, and the module holds a function and a value. */
#include "lua.h"
#include "lauxlib.h"

static int twice (lua_State *L) {
  lua_pushinteger(L, 2 * luaL_checkinteger(L, 1));
  return 1;
}

int luaopen_lazyc (lua_State *L) {
  lua_Integer opens = 0;
  if (lua_getglobal(L, "lazyc_opens") == LUA_TNUMBER) opens = lua_tointeger(L, -1);
  lua_pop(L, 1);
  lua_pushinteger(L, opens + 1);
  lua_setglobal(L, "lazyc_opens");
  lua_newtable(L);
  lua_pushcfunction(L, twice);
  lua_setfield(L, -2, "twice");
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "name");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "path");
  return 1;
}

/* a module of the same library under another name: lazyc.sub */
int luaopen_lazyc_sub (lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, "sub");
  lua_setfield(L, -2, "which");
  return 1;
}
