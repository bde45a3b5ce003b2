-- requires soft_b, which requires soft_a back; neither uses the other at
-- load time (stock Lua recurses here until the C stack overflows)
local b = require "soft_b"
local M = {value = "a"}
function M.partner() return b.value end
return M
