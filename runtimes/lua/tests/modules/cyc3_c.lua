local a = require "cyc3_a"
return {v = a.v}
