local b = require "cyc3_b"
return {v = b.v}
