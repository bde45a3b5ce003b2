local a = require "cyc_a"
local M = {}
M.value = "b"
M.from_a = a.value
return M
