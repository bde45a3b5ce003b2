-- A command-line script written the way penlight users write them: every
-- module it might need required at the top. Run without arguments it uses
-- one of them (pl.stringx); with "all" it uses each of them. Debian's
-- lua-penlight, unchanged. With LIST_LOADED=1 it lists package.loaded on
-- stderr at the end.
local app = require "pl.app"
local dir = require "pl.dir"
local file = require "pl.file"
local path = require "pl.path"
local pretty = require "pl.pretty"
local tablex = require "pl.tablex"
local List = require "pl.List"
local OrderedMap = require "pl.OrderedMap"
local Set = require "pl.Set"
local Date = require "pl.Date"
local data = require "pl.data"
local template = require "pl.template"
local xml = require "pl.xml"
local lapp = require "pl.lapp"
local seq = require "pl.seq"
local func = require "pl.func"
local stringx = require "pl.stringx"

local words = stringx.split("the quick brown fox jumps over the lazy dog")
print(stringx.join(",", words))
print(stringx.title("hello penlight"), stringx.center("x", 9, "*"))
print(stringx.count("banana", "an"), stringx.startswith("lazy_bind", "lazy"))

if arg[1] == "all" then
  print(pretty.write(tablex.map(function(w) return #w end, words), ""))
  local l = List{3, 1, 2}
  l:sort()
  print(l, List.range(1, 4):map(function(x) return x * x end))
  local om = OrderedMap()
  om:set("b", 2); om:set("a", 1)
  print(om)
  print(Set{1, 2, 3} * Set{2, 3, 4})
  print(Date{year = 2024, month = 2, day = 29, hour = 12}:toUTC():year())
  local d = data.read(require("pl.stringio").open("x,y\n1,2\n3,4\n"), {csv = true})
  print(#d, d.fieldnames[1], d[2][2])
  print(template.substitute("hi $(name)\n# for i = 1, 2 do\n$(i)\n# end\n", {name = "lua", _parent = _G}))
  print(xml.tostring(xml.parse("<a x='1'><b>text</b></a>")))
  print(path.basename("/usr/share/lua/5.4/pl/init.lua"), path.extension("f.tar.gz"))
  print(seq.sum(seq.list{1, 2, 3, 4}))
  print(type(dir.getfiles), type(file.read), type(app.parse_args), type(lapp.process_options_string))
  print(func.compose(function(x) return x + 1 end, function(x) return x * 2 end)(5))
end

if os.getenv("LIST_LOADED") == "1" then
  local names = {}
  for name in pairs(package.loaded) do names[#names + 1] = name end
  table.sort(names)
  io.stderr:write("loaded ", #names, ": ", table.concat(names, " "), "\n")
end
