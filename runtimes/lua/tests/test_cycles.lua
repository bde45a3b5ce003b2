-- A load-time cycle is a Lua error naming the chain with each require
-- site; a cycle of requires that are only used later just works.
local H = require "helper"
package.path = arg[0]:gsub("[^/]*$", "") .. "modules/?.lua;" .. package.path

local a = require "cyc_a"   -- line 5
local err = H.raises(function() return a.value end,   -- line 6
  "require cycle",
  "'cyc_a' (required at test_cycles.lua:6)",
  "'cyc_b' (required at ", "cyc_a.lua:1)",
  "'cyc_a' (required at ", "cyc_b.lua:1)",
  "used at ", "cyc_b.lua:4")
-- the failure is reported for each module that was loading, with its site
H.ok(tostring(err):find("lazy require of 'cyc_b' declared at ", 1, true), "names cyc_b's declaration")
H.ok(tostring(err):find("lazy require of 'cyc_a' declared at test_cycles.lua:6, first used at test_cycles.lua:7", 1, true), "names cyc_a's declaration and first use")
H.eq(package.lazy.state(a), "pending", "still pending after the failure")
-- retried at the next use: the same cycle again, not a stale error
H.raises(function() return a.value end, "require cycle")

-- Three modules
local c3 = require "cyc3_a"
H.raises(function() return c3.v end, "'cyc3_a' (required at", "-> 'cyc3_b' (required at",
  "-> 'cyc3_c' (required at", "-> 'cyc3_a' (required at")

-- Requires in a cycle that nobody uses at load time: fine lazily.
local sa = require "soft_a"
H.eq(sa.value, "a", "soft cycle: a loads")
H.eq(sa.partner(), "b", "a uses b later")
H.eq(package.loaded.soft_b.partner(), "a", "b uses a later")

-- A module that uses its own placeholder while loading.
local s = require "selfish"
H.raises(function() return s.v end, "require cycle", "'selfish' (required at test_cycles.lua:",
  "-> 'selfish' (required at ", "selfish.lua:2)")

H.done(arg[0])
