-- A failing loader raises its original error at first use, with the
-- declaration site, and is retried at the next use.
local H = require "helper"
local lazy = package.lazy
package.path = arg[0]:gsub("[^/]*$", "") .. "modules/?.lua;" .. package.path

-- a file module failing once, then loading
local r = require "raises"      -- line 8
H.eq(raises_runs, nil, "deferred")
local e = H.raises(function() return r.v end,   -- line 10
  "raises.lua:2: first load fails",
  "lazy require of 'raises' declared at test_errors.lua:8, first used at test_errors.lua:10")
H.eq(raises_runs, 1, "ran once")
H.eq(lazy.state(r), "pending", "pending again after the failure")
H.eq(package.loaded.raises, nil, "nothing in package.loaded")
H.eq(r.v, 2, "retried at the next use, which succeeds")
H.eq(raises_runs, 2, "ran twice in all")
H.eq(r.v, 2, "then stays resolved")
H.eq(raises_runs, 2, "no third run")

-- a non-string error object comes back unchanged
local obj = setmetatable({}, {__tostring = function() return "custom error object" end})
H.module("raises_obj", function() error(obj) end)
local ro = require "raises_obj"
local ok, got = pcall(function() return ro.x end)
H.ok(not ok and rawequal(got, obj), "the error object itself")
H.eq(H.runs.raises_obj, 1, "one attempt")
ok, got = pcall(function() return ro.x end)
H.ok(not ok and rawequal(got, obj), "again on retry")
H.eq(H.runs.raises_obj, 2, "retried")

-- a syntax error is found at first use (the file is compiled then)
local bs = require "broken_syntax"
H.raises(function() return bs.x end, "error loading module 'broken_syntax' from file",
  "broken_syntax.lua:1:", "lazy require of 'broken_syntax' declared at test_errors.lua:")

-- a module that does not exist fails at require, as with the stock require
H.raises(function() return require "no_such_module_anywhere" end,
  "module 'no_such_module_anywhere' not found:", "no field package.preload['no_such_module_anywhere']")

-- an error in a nested lazy module: both declarations are named
H.module("inner_fails", function() error("inner broke") end)
H.module("outer_uses_inner", function()
  local inner = require "inner_fails"
  return {v = inner.v}
end)
local o = require "outer_uses_inner"
H.raises(function() return o.v end, "inner broke",
  "lazy require of 'inner_fails' declared at", "lazy require of 'outer_uses_inner' declared at")
H.eq(H.runs.inner_fails, 1, "inner ran once")
H.eq(lazy.state(o), "pending", "outer pending again")

-- a loader that catches the error of a module it uses loads fine
H.module("catches_inner", function()
  local inner = require "inner_fails"
  local ok = pcall(function() return inner.v end)
  return {caught = not ok}
end)
local ci = require "catches_inner"
H.eq(ci.caught, true, "the error reaches the loader as a Lua error it can catch")

-- errors raised by the forwarded operation itself are the module's
H.module("plain_for_errors")
local pe = require "plain_for_errors"
H.raises(function() return pe.name.deeper.still end, "attempt to index a nil value")
H.eq(H.runs.plain_for_errors, 1, "resolved once")

H.done(arg[0])
