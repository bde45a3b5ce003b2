-- lua_resolved_access: a field read through a resolved placeholder vs the
-- same read through the real module table, in one process (one run: the
-- best of ROUNDS rounds of N reads each, rounds interleaved, the empty
-- loop's time subtracted). Two holders of the placeholder:
--   upvalue: `local m = require "x"` read by a function (the usual case;
--            rebound to the module at its first read, so later reads are
--            plain table reads);
--   field:   the placeholder kept in a table field, which nothing rebinds
--            (reads go through the placeholder's __index, the module table).
-- Run with the lazy Lua in mode all:
--   LUA_LAZY=all target/lua/build-lazy/lua benches/lua/resolved_access.lua [N] [ROUNDS]
local N = tonumber(arg[1]) or 20000000
local ROUNDS = tonumber(arg[2]) or 7
local function define(name)
  package.preload[name] = function() return {field = 1, f = function(x) return x end} end
end
define("bench_up"); define("bench_field")
local lazy = package.lazy
assert(lazy.mode() == "all", "run in mode all (LUA_LAZY=all)")

local up = require "bench_up"          -- an upvalue of the readers below
local box = {p = require "bench_field"}
local real_box = {}
local real_up            -- the module itself, also an upvalue of its reader
assert(lazy.is_placeholder(up) and lazy.is_placeholder(box.p))

local clock = os.clock
local function empty()
  local t = clock()
  for _ = 1, N do end
  return clock() - t
end
local function read_up()
  local t = clock()
  local x
  for _ = 1, N do x = up.field end
  return clock() - t
end
local function read_real_up()
  local t = clock()
  local x
  for _ = 1, N do x = real_up.field end
  return clock() - t
end
local function read_field(b)
  local t = clock()
  local x
  for _ = 1, N do x = b.p.field end
  return clock() - t
end
local function call_up()
  local t = clock()
  for i = 1, N do up.f(i) end
  return clock() - t
end
local function call_real()
  local t = clock()
  for i = 1, N do real_up.f(i) end
  return clock() - t
end

local _ = up.field          -- resolves bench_up (and rebinds `up`)
_ = box.p.field             -- resolves bench_field
for _ = 1, 100 do _ = box.p.field end  -- past the rebinding reads
real_box.p = package.loaded.bench_field
real_up = package.loaded.bench_up
assert(not lazy.is_placeholder(up), "the upvalue was rebound")
assert(lazy.is_placeholder(box.p), "the field still holds the placeholder")

local best = {}
local function keep(name, dt) if not best[name] or dt < best[name] then best[name] = dt end end
for _ = 1, ROUNDS do
  keep("empty", empty())
  keep("real", read_real_up())
  keep("up", read_up())
  keep("real_field", read_field(real_box))
  keep("field", read_field(box))
  keep("call_real", call_real())
  keep("call_up", call_up())
end
local function ns(name) return (best[name] - best.empty) / N * 1e9 end
local function row(what, a, b)
  print(string.format("%-40s %8.2f ns %8.2f ns %6.2fx", what, ns(a), ns(b), ns(b) / ns(a)))
end
print(string.format("lua_resolved_access (N=%d, best of %d; empty loop %.2f ns/iteration, subtracted)",
  N, ROUNDS, best.empty / N * 1e9))
print(string.format("%-40s %11s %11s %7s", "", "module", "placeholder", "ratio"))
row("x = m.field, m an upvalue (rebound)", "real", "up")
row("m.f(i), m an upvalue (rebound)", "call_real", "call_up")
row("x = box.p.field, p a table field", "real_field", "field")
