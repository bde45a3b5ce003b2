local a = require "soft_a"
local M = {value = "b"}
function M.partner() return a.value end
return M
