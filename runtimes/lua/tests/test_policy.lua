-- Modes, opt-outs and explain; guarded requires; eager scopes; the phase
-- switch.
local H = require "helper"
local lazy = package.lazy
H.eq(lazy.mode(), "all", "starts in mode all (LUA_LAZY=all)")

-- mode none: every require is the stock one
lazy.set_mode("none")
H.module("p_none")
local m = require "p_none"
H.ok(not lazy.is_placeholder(m), "mode none: eager")
H.eq(H.runs.p_none, 1, "loaded at require")
local d, why = lazy.explain("p_none")
H.eq(d, false, "explain says eager")
H.ok(why:find("mode is none", 1, true), "explain names the mode: " .. why)

-- a yielding loader under the stock require: the same Lua error as lazily
package.preload.y_none = function() coroutine.yield() return {} end
local ok, err = coroutine.resume(coroutine.create(function() return require "y_none" end))
H.ok(not ok and tostring(err):find("attempt to yield across a C-call boundary", 1, true),
  "the stock require cannot yield either: " .. tostring(err))

-- mode normal: only package.lazy.require (the `lazy import` of Lua) and
-- lazy-target rules defer
lazy.set_mode("normal")
H.module("p_normal"); H.module("p_marked"); H.module("p_target")
H.ok(not lazy.is_placeholder(require "p_normal"), "normal: plain require eager")
H.ok(lazy.is_placeholder(lazy.require "p_marked"), "normal: package.lazy.require defers")
H.eq(H.runs.p_marked, 0, "not loaded")
lazy.add_rules("lazy-target p_target")
H.ok(lazy.is_placeholder(require "p_target"), "normal: lazy-target defers")
d, why = lazy.explain("p_target")
H.ok(d and why:find("lazy-target p_target", 1, true), "explain: " .. why)

-- mode all with opt-outs
lazy.set_mode("all")
lazy.add_rules("eager-target p_eager.*; eager-importer __main__.never")
H.module("p_eager"); H.module("p_eager.sub"); H.module("p_lazy")
H.ok(not lazy.is_placeholder(require "p_eager"), "eager-target")
H.ok(not lazy.is_placeholder(require "p_eager.sub"), "eager-target .* covers submodules")
H.ok(lazy.is_placeholder(require "p_lazy"), "all: deferred")
d, why = lazy.explain("p_eager.sub")
H.eq(d, false, "explain eager")
H.ok(why:find("eager-target p_eager.*", 1, true), "explain names the rule: " .. why)
H.raises(function() lazy.add_rules("eager-target") end, "bad policy rules", "line 1")
H.raises(function() lazy.set_mode("sometimes") end, "invalid option 'sometimes'")

-- importer rules: the importer is the module whose file runs the require
package.path = arg[0]:gsub("[^/]*$", "") .. "modules/?.lua;" .. package.path
lazy.add_rules("eager-importer imp_eager")
imp_log = {}
H.module("imp_dep1"); H.module("imp_dep2")
local ie = require "imp_eager"
local _ = ie.v
H.eq(imp_log.dep_is_placeholder, false, "requires inside imp_eager are eager")
d, why = lazy.explain("imp_dep1", "imp_eager")
H.ok(not d and why:find("eager-importer imp_eager", 1, true), "explain with an importer: " .. why)

-- pcall(require, name) is a guarded require: eager, so a missing module is
-- caught right there, as in stock Lua
H.module("p_guarded")
local okg, g = pcall(require, "p_guarded")
H.ok(okg and not lazy.is_placeholder(g), "pcall(require) is eager")
local okm = pcall(require, "p_missing_module")
H.eq(okm, false, "pcall(require) of a missing module fails at once")
d, why = lazy.explain("x", "__main__", true)
H.ok(not d and why:find("try", 1, true), "explain of a protected require: " .. why)

-- eager scopes
H.module("p_scoped")
local inside = lazy.eager(function(name) return require(name) end, "p_scoped")
H.ok(not lazy.is_placeholder(inside), "package.lazy.eager: eager inside")
H.module("p_after_scope")
H.ok(lazy.is_placeholder(require "p_after_scope"), "lazy again after the scope")
H.raises(function() lazy.eager(function() error("scope body fails") end) end, "scope body fails")
H.module("p_after_error")
H.ok(lazy.is_placeholder(require "p_after_error"), "the scope is closed after an error")

-- counters and the phase switch
local c = lazy.counters()
H.ok(c.deferred >= 3 and c.pending >= 3, "counters")
H.module("p_switch_fails", function() error("switch boom") end)
local sw = require "p_switch_fails"
local pending = lazy.pending()
H.ok(#pending >= 3, "pending list")
local failures, list = lazy.disable(true)
H.eq(failures, 1, "one failure while resolving everything")
H.ok(list[1]:find("switch boom", 1, true), "its message")
H.eq(lazy.mode(), "none", "laziness off")
H.eq(#lazy.pending(), 1, "only the failed one still pending")
H.eq(H.runs.p_lazy, 1, "p_lazy resolved by the switch")
H.module("p_after_switch")
H.ok(not lazy.is_placeholder(require "p_after_switch"), "eager after the switch")
H.done(arg[0])
