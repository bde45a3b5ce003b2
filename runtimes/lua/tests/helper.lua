-- Tiny assertions for the semantic tests; each test file runs in its own
-- process (run-tests.sh), so the lazy state starts fresh.
local H = {passed = 0}

local function fail(msg, level)
  error(msg, (level or 1) + 1)
end

function H.eq(got, want, what)
  if got ~= want then
    fail(string.format("%s: got %s, want %s", what or "eq", tostring(got), tostring(want)), 2)
  end
  H.passed = H.passed + 1
end

function H.ok(cond, what)
  if not cond then fail((what or "check") .. " failed", 2) end
  H.passed = H.passed + 1
end

-- Calls f, expects an error whose text contains every plain string given.
function H.raises(f, ...)
  local ok, err = pcall(f)
  if ok then fail("expected an error", 2) end
  local text = tostring(err)
  for _, needle in ipairs({...}) do
    if not text:find(needle, 1, true) then
      fail(string.format("error %q lacks %q", text, needle), 2)
    end
  end
  H.passed = H.passed + 1
  return err
end

-- A preloaded module named `name` whose loader counts its runs in
-- H.runs[name] and returns make() (a fresh table by default).
H.runs = {}
function H.module(name, make)
  H.runs[name] = 0
  package.preload[name] = function(...)
    H.runs[name] = H.runs[name] + 1
    if make then return make(...) end
    return {name = name}
  end
end

function H.done(file)
  io.write(string.format("ok %s (%d checks)\n", file, H.passed))
end

return H
