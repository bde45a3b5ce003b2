local c = require "cyc3_c"
return {v = c.v}
