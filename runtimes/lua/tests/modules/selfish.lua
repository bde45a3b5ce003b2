-- uses its own (pending) placeholder while loading
local me = package.lazy.require "selfish"
return {v = me.v}
