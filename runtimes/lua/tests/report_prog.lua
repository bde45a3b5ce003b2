-- For run-tests.sh: three lazy requires, one used; with LUA_LAZY_REPORT=1
-- the report at exit lists the other two as never used.
package.preload.rep_used = function() return {v = 1} end
package.preload.rep_unused1 = function() return {} end
package.preload.rep_unused2 = function() return {} end
local used = require "rep_used"
local u1 = require "rep_unused1"
local u2 = require "rep_unused2"
print("value", used.v)
if arg[1] == "exit" then os.exit(0) end
