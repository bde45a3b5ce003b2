-- A C module's dlopen and dlsym are deferred (lazy_bind's native binder)
-- until the module is first used. LAZYC_DIR holds lazyc.so.
local H = require "helper"
local lazy = package.lazy
package.cpath = os.getenv("LAZYC_DIR") .. "/?.so;" .. package.cpath

local function mapped()
  local f = assert(io.open("/proc/self/maps"))
  local text = f:read("a")
  f:close()
  return text:find("lazyc.so", 1, true) ~= nil
end

H.eq(mapped(), false, "not mapped before require")
local c = require "lazyc"
H.ok(lazy.is_placeholder(c), "a placeholder")
H.eq(mapped(), false, "require did not dlopen it")
H.eq(lazyc_opens, nil, "luaopen_lazyc not called")
H.eq(c.twice(21), 42, "first use loads the library and calls luaopen_lazyc")
H.eq(mapped(), true, "mapped after first use")
H.eq(lazyc_opens, 1, "luaopen_lazyc called once")
H.eq(c.name, "lazyc", "the loader's first argument is the name")
H.ok(c.path:find("lazyc.so", 1, true), "its second is the file")
H.eq(c.twice(1), 2, "again")
H.eq(lazyc_opens, 1, "still once")
H.ok(rawequal(package.loaded.lazyc, require "lazyc"), "package.loaded holds it")

-- lazyc.sub is found by the all-in-one loader (lazyc.so, luaopen_lazyc_sub):
-- left to the stock require, so eager
local s = require "lazyc.sub"
H.eq(s.which, "sub", "all-in-one C module")
H.ok(not lazy.is_placeholder(s), "the all-in-one case is eager")

-- a library whose luaopen_ symbol is missing fails at first use, retried
local dir = os.getenv("LAZYC_DIR")
package.cpath = dir .. "/?.so;" .. package.cpath
local bad = require "lazyc_nosym"   -- lazyc_nosym.so is a copy without luaopen_lazyc_nosym
H.raises(function() return bad.x end, "error loading module 'lazyc_nosym'", "luaopen_lazyc_nosym",
  "lazy require of 'lazyc_nosym' declared at")
H.eq(lazy.state(bad), "pending", "pending again")
H.done(arg[0])
