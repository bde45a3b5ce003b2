-- require returns a placeholder; every first use resolves it exactly once
-- and forwards; package.loaded holds the real module.
local H = require "helper"
local lazy = package.lazy
H.eq(lazy.mode(), "all", "mode from LUA_LAZY")

H.module("plain", function() return {x = 1, f = function(n) return n + 1 end} end)
local m = require "plain"
local keep = {p = m}  -- a table field is never rebound: it keeps the placeholder
H.ok(lazy.is_placeholder(m), "require returns a placeholder")
H.eq(lazy.state(m), "pending", "state before use")
H.eq(H.runs.plain, 0, "loader not run at require")
H.eq(package.loaded.plain, nil, "package.loaded empty while pending")
H.ok(rawequal(require "plain", m), "a second require returns the same placeholder")
H.eq(H.runs.plain, 0, "still not run")
H.eq(m.x, 1, "index forwards")
H.eq(H.runs.plain, 1, "first use ran the loader once")
H.eq(m.f(41), 42, "function field")
H.eq(H.runs.plain, 1, "exactly once")
H.eq(lazy.state(keep.p), "resolved", "state after use")
local real = package.loaded.plain
H.ok(not lazy.is_placeholder(real), "package.loaded holds the real module")
H.ok(rawequal(require "plain", real), "require after resolution returns the real module")
H.ok(rawequal(m, real), "the local that held the placeholder was rebound to the module at its first use")
H.ok(keep.p == real, "placeholder == module")
keep.p.y = 5
H.eq(rawget(real, "y"), 5, "newindex forwards to the module")
H.eq(rawget(keep.p, "y"), nil, "the placeholder itself stays empty")
H.eq(keep.p.y, 5, "and reads it back through the module")

-- Rebinding: upvalues shared by closures are rebound once for all of them;
-- a variable the program reassigned is left alone (compare-and-replace).
H.module("rebind_up")
local up = require "rebind_up"
local function reader() return up.name end
local function peek() return up end
H.ok(lazy.is_placeholder(peek()), "the upvalue holds the placeholder")
H.eq(reader(), "rebind_up", "read through the upvalue")
H.ok(not lazy.is_placeholder(peek()), "the shared upvalue now holds the module")
H.ok(rawequal(peek(), package.loaded.rebind_up), "the module itself")
H.module("rebind_cas")
local a1 = require "rebind_cas"
local a2 = a1
local other_value = {}
local a3 = a1
a3 = other_value
local _ = a1.name
H.ok(rawequal(a2, package.loaded.rebind_cas), "every local holding the placeholder is rebound")
H.ok(rawequal(a3, other_value), "a local the program reassigned is left alone")
-- Method calls pass the module as self once rebound.
H.module("rebind_self", function() local M = {}; function M:me() return self end; return M end)
local rs = require "rebind_self"
H.ok(rawequal(rs:me(), package.loaded.rebind_self), "self is the module")
-- A holder that cannot be rebound (a table field) keeps working; after
-- 64 reads the placeholder forwards through the VM alone.
H.module("rebind_field", function() return {n = 7} end)
local box = {p = require "rebind_field"}
local sum = 0
for _ = 1, 200 do sum = sum + box.p.n end
H.eq(sum, 1400, "reads through a table field")
H.ok(lazy.is_placeholder(box.p), "the field still holds the placeholder")
H.eq(H.runs.rebind_field, 1, "resolved once")

-- Each kind of first use resolves (one fresh module per operation).
local function fresh(name, make)
  H.module(name, make)
  local p = require(name)
  H.eq(H.runs[name], 0, name .. " deferred")
  return p
end
local function once(name) H.eq(H.runs[name], 1, name .. " resolved once") end

local seq = function() return {10, 20, 30} end
local p = fresh("op_newindex"); p.k = 1; once("op_newindex"); H.eq(package.loaded.op_newindex.k, 1, "newindex")
p = fresh("op_len", seq); H.eq(#p, 3, "#"); once("op_len")
p = fresh("op_pairs", seq)
local n = 0
for k, v in pairs(p) do n = n + v end
H.eq(n, 60, "pairs"); once("op_pairs")
p = fresh("op_ipairs", seq)
n = 0
for _, v in ipairs(p) do n = n + v end
H.eq(n, 60, "ipairs"); once("op_ipairs")
p = fresh("op_call", function() return setmetatable({}, {__call = function(self, a) return a * 3 end}) end)
H.eq(p(7), 21, "call"); once("op_call")
p = fresh("op_fn", function() return function(a, b) return a .. b end end)
H.eq(p("x", "y"), "xy", "a module that is a function"); once("op_fn")
p = fresh("op_tostring", function() return setmetatable({}, {__tostring = function() return "I am m" end}) end)
H.eq(tostring(p), "I am m", "tostring"); once("op_tostring")
p = fresh("op_tostring_plain")
H.ok(tostring(p):match("^table: "), "tostring of a plain module is the module's"); once("op_tostring_plain")
H.eq(tostring(p), tostring(package.loaded.op_tostring_plain), "same address as the module")
local strmeta = {__concat = function(a, b)
  local function s(x) return type(x) == "table" and "M" or x end
  return s(a) .. s(b)
end}
p = fresh("op_concat", function() return setmetatable({}, strmeta) end)
H.eq(p .. "!", "M!", "concat"); once("op_concat")
p = fresh("op_concat_r", function() return setmetatable({}, strmeta) end)
H.eq("<" .. p, "<M", "concat, placeholder on the right"); once("op_concat_r")
local cmp = {__lt = function(a, b) return rawget(a, "v") < rawget(b, "v") end,
             __le = function(a, b) return rawget(a, "v") <= rawget(b, "v") end}
local other = setmetatable({v = 5}, cmp)
p = fresh("op_lt", function() return setmetatable({v = 1}, cmp) end)
H.ok(p < other, "<"); once("op_lt")
p = fresh("op_le", function() return setmetatable({v = 9}, cmp) end)
H.ok(not (p <= other), "<="); once("op_le")
p = fresh("op_eq")
H.ok(p ~= other, "== against another table resolves"); once("op_eq")
local num = {__add = function(a, b) return 100 end, __unm = function() return -1 end,
             __band = function() return 7 end}
p = fresh("op_add", function() return setmetatable({}, num) end)
H.eq(p + 1, 100, "arithmetic"); once("op_add")
p = fresh("op_radd", function() return setmetatable({}, num) end)
H.eq(1 + p, 100, "arithmetic, placeholder on the right"); once("op_radd")
p = fresh("op_unm", function() return setmetatable({}, num) end)
H.eq(-p, -1, "unary minus"); once("op_unm")
p = fresh("op_band", function() return setmetatable({}, num) end)
H.eq(p & 1, 7, "bitwise"); once("op_band")
p = fresh("op_resolve")
H.eq(lazy.resolve(p), package.loaded.op_resolve, "package.lazy.resolve"); once("op_resolve")
-- A module with __index of its own: the chain continues through it.
p = fresh("op_chain", function() return setmetatable({}, {__index = function(_, k) return "dyn_" .. k end}) end)
H.eq(p.anything, "dyn_anything", "the module's own __index"); once("op_chain")
-- table library functions see the module through the metamethods
p = fresh("op_tablelib", seq)
H.eq(table.concat(p, ","), "10,20,30", "table.concat"); once("op_tablelib")
-- getmetatable answers for the module
p = fresh("op_getmt", function() return setmetatable({}, {__metatable = "mine"}) end)
H.eq(getmetatable(p), "lazy_bind placeholder", "getmetatable of a pending placeholder (does not resolve)")
H.eq(H.runs.op_getmt, 0, "getmetatable does not resolve")
local _ = p.x
H.eq(getmetatable(p), "mine", "getmetatable after resolution is the module's")

-- A loader that returns nothing: require's value is true, as with the stock require.
p = fresh("op_true", function() end)
H.raises(function() return p.x end, "attempt to index a boolean value")
H.eq(package.loaded.op_true, true, "package.loaded holds true")
-- A module that sets package.loaded itself wins, as with the stock require.
p = fresh("op_self", function(name) package.loaded[name] = {who = "self"}; return {who = "returned"} end)
H.eq(p.who, "returned", "the returned value is stored, as stock require does")

-- The loader receives the name and the loader data (":preload:").
local got
p = fresh("op_args", function(name, data) got = name .. "|" .. tostring(data); return {} end)
local _ = p.x
H.eq(got, "op_args|:preload:", "loader arguments")

-- An eager require (pcall'd) of a pending module resolves the placeholder
-- instead of loading the module a second time.
p = fresh("op_eager_after")
local p_box = {p}
local ok, real2 = pcall(require, "op_eager_after")
H.ok(ok, "pcall(require) of a pending module")
H.ok(not lazy.is_placeholder(real2), "returns the real module")
once("op_eager_after")
H.eq(lazy.state(p_box[1]), "resolved", "the placeholder is resolved too")

-- A Lua file module found on package.path (not preload)
package.path = arg[0]:gsub("[^/]*$", "") .. "modules/?.lua;" .. package.path
counter_runs = 0
local c = require "counter"
H.eq(counter_runs, 0, "file module deferred")
H.eq(c.value, 42, "file module")
H.eq(counter_runs, 1, "once")

H.done(arg[0])
