local b = require "cyc_b"
local M = {}
M.from_b = b.value
M.value = "a"
return M
