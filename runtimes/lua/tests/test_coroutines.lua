-- Coroutines: resolution is exactly once whoever touches first; a loader
-- cannot yield (a clear error, as with the stock require); a coroutine
-- resumed by a loader that touches the placeholder being loaded gets a
-- clear error naming both coroutines, never a hang.
local H = require "helper"
local lazy = package.lazy

-- 50 coroutines interleave first touches of 10 modules
for i = 1, 10 do H.module("co_" .. i) end
local ps = {}
for i = 1, 10 do ps[i] = require("co_" .. i) end
local cos = {}
for c = 1, 50 do
  cos[c] = coroutine.create(function()
    for round = 1, 3 do
      for i = 1, 10 do
        local p = ps[(i + c) % 10 + 1]
        H.ok(p.name:match("^co_"), "a field through the placeholder")
        coroutine.yield()
      end
    end
  end)
end
local alive = true
while alive do
  alive = false
  for c = 1, 50 do
    if coroutine.status(cos[c]) ~= "dead" then
      alive = true
      local ok, err = coroutine.resume(cos[c])
      if not ok then error(err) end
    end
  end
end
for i = 1, 10 do H.eq(H.runs["co_" .. i], 1, "co_" .. i .. " loaded exactly once") end

-- a loader that yields: the stock require cannot yield either
local yields = 0
package.preload.yielder = function()
  yields = yields + 1
  if yields == 1 then coroutine.yield("from loader") end
  return {v = "loaded"}
end
local y = require "yielder"
local co = coroutine.create(function() return y.v end)
local ok, err = coroutine.resume(co)
H.ok(not ok, "the coroutine fails")
H.ok(tostring(err):find("attempt to yield across a C-call boundary", 1, true), "Lua's own message: " .. tostring(err))
H.ok(tostring(err):find("a module's loader cannot yield", 1, true), "the runtime says why")
H.eq(lazy.state(y), "pending", "pending again")
H.eq(y.v, "loaded", "retried: the second attempt does not yield")

-- the same with the stock require under LUA_LAZY=none gives the same Lua error
-- (checked by run-tests.sh with test_coroutines_eager.lua)

-- a loader resumes another coroutine that touches the module being loaded
local victim
package.preload.resumer = function()
  local inner = coroutine.create(function() return victim.v end)
  local ok2, err2 = coroutine.resume(inner)
  return {v = "outer", inner_ok = ok2, inner_err = err2}
end
victim = require "resumer"
H.eq(victim.v, "outer", "the loader finishes")
H.eq(victim.inner_ok, false, "the inner coroutine got an error")
H.ok(tostring(victim.inner_err):find("is being loaded by coroutine", 1, true), "names the loading coroutine: " .. tostring(victim.inner_err))
H.ok(tostring(victim.inner_err):find("waiting would never end", 1, true), "says why it cannot wait")

-- a placeholder resolved inside a coroutine is resolved for everybody
H.module("co_shared")
local sh = require "co_shared"
local sh_box = {sh}
coroutine.wrap(function() local _ = sh.name end)()
H.eq(lazy.state(sh_box[1]), "resolved", "resolved by the coroutine")
H.eq(sh.name, "co_shared", "main sees it")
H.eq(H.runs.co_shared, 1, "once")

-- a coroutine that dies with a lazy error leaves the module pending
H.module("co_fails", function() error("co boom") end)
local cf = require "co_fails"
local ok3, err3 = coroutine.resume(coroutine.create(function() return cf.x end))
H.ok(not ok3 and tostring(err3):find("co boom", 1, true), "the error in the coroutine")
H.eq(lazy.state(cf), "pending", "pending")
H.done(arg[0])
