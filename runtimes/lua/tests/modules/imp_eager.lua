local dep = require "imp_dep1"
imp_log.dep_is_placeholder = package.lazy.is_placeholder(dep)
return {v = 1}
