//! Writing a flat program out as Lua modules, and running it under a Lua
//! interpreter as a [`ConformanceRuntime`].
//!
//! The kit's programs have Python's meaning (the model predicts CPython);
//! the Lua files keep it with a few helpers in `main.lua`'s prelude, each
//! written the way a Lua module would do the same thing:
//!
//! - a module's globals are the fields of its module table `M`, which is in
//!   `package.loaded` while its body runs (so a circular `require` gets the
//!   partial module, as Python's `sys.modules` gives it), and is removed
//!   again if the body fails (so the next `require` runs it again);
//! - `import m as x` is `M.x = require "m"`; `from m import v` is
//!   `M.v = _from(require "m", "v", "m")`, an `ImportError` if `m` has no
//!   `v` (flat programs have no submodules to fall back to);
//! - reading a missing global or attribute raises a `NameError` or
//!   `AttributeError` object (`_name`, `_get`), as Python does where Lua
//!   would give `nil`; a list is a table marked as one (`_list`).
//!
//! Only programs of [`Shape::FLAT`](super::Shape::FLAT) can be written:
//! Lua's modules have no parents that importing a submodule binds into.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::harness::ConformanceRuntime;
use super::model::Semantics;
use super::process;
use super::program::{function_label, label, Expr, Import, ModuleSource, Program, Stmt, MAIN};
use super::trace::Trace;
use crate::policy::{Policy, ENV_VAR};

/// The start of `main.lua`: the observation helpers and the Python-shaped
/// errors, as globals so module bodies use them without requiring anything.
const PRELUDE: &str = r#"-- conformance prelude (lazy_bind::conformance::write_lua)
local loaded = package.loaded
local lazy = package.lazy
local fnames = setmetatable({}, {__mode = "k"})
local lists = setmetatable({}, {__mode = "k"})
local errmeta = {__tostring = function(e) return e.kind .. " " .. e.arg end}
local function err(kind, arg) return setmetatable({kind = kind, arg = arg}, errmeta) end

local function fmt(v)
  local t = type(v)
  if t == "number" then return tostring(v) end
  if t == "function" then return "<function " .. fnames[v] .. ">" end
  if t == "table" then
    if lists[v] then return "[" .. table.concat(v, ", ") .. "]" end
    return "<module " .. v.__name__ .. ">"
  end
  return tostring(v)
end

function _ran(name) io.write("ran ", name, "\n") end
function _obs(label, v) io.write("value ", label, " ", fmt(v), "\n") end

function _module(name)
  local M = {__name__ = name}
  loaded[name] = M
  _ran(name)
  return M
end

function _body(name, M, body)
  local ok, e = pcall(body)
  if not ok then
    loaded[name] = nil
    error(e, 0)
  end
  return M
end

function _name(M, name)
  local v = rawget(M, name)
  if v == nil then error(err("name", name), 0) end
  return v
end

function _get(obj, attr)
  if type(obj) == "table" and not lists[obj] then
    local v = obj[attr]
    if v ~= nil then return v end
  end
  error(err("attribute", attr), 0)
end

function _from(mod, name, modname)
  local v = nil
  if type(mod) == "table" and not lists[mod] then v = mod[name] end
  if v == nil then error(err("import-name", modname), 0) end
  -- Python resolves a value of a `from` import that is itself lazy.
  if lazy and lazy.is_placeholder(v) then v = lazy.resolve(v) end
  return v
end

function _list() local l = {}; lists[l] = true; return l end

function _append(list, item)
  if type(list) ~= "table" or not lists[list] then error(err("attribute", "append"), 0) end
  list[#list + 1] = item
end

function _def(module, name, f) fnames[f] = module .. "." .. name; return f end

function _raised(module) return err("raised", module) end

local function kind(e)
  if type(e) == "table" and getmetatable(e) == errmeta then return e.kind .. " " .. e.arg end
  local text = tostring(e)
  if text:find("require cycle", 1, true) or text:find("waiting would never end", 1, true) then
    return "cycle"
  end
  if text:find("stack overflow", 1, true) then return "other stack-overflow" end
  return "other " .. (text:match("^[^\n]*"):gsub("%s", "_"))
end

function _stmt(label, f)
  local ok, e = pcall(f)
  if not ok then io.write("error ", label, " ", kind(e), "\n") end
end

"#;

/// Writes `program` into directory `dir` (created if needed) as Lua
/// files: module `m` is `m.lua`, and `main.lua` holds the prelude and the
/// main script, each main statement in its own function run by `_stmt`,
/// which reports an error as `error LABEL KIND` and goes on (the `pcall`
/// is the prelude's, so a lazy runtime still sees a `require` called from
/// Lua code, not from a protected call). Running `lua main.lua` in `dir`
/// prints the events of [`Trace`]'s format.
///
/// # Errors
/// An `InvalidInput` error for a program that is not flat (a package, a
/// dotted module name, a relative import); creating the directory or
/// writing a file failed.
pub fn write_lua(program: &Program, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for module in &program.modules {
        if module.package || module.name.contains('.') {
            return Err(invalid(format!(
                "module {} is a package or a submodule: not a flat program",
                module.name
            )));
        }
        fs::write(
            dir.join(format!("{}.lua", module.name)),
            module_source(module)?,
        )?;
    }
    let mut main = String::from(PRELUDE);
    main.push_str("local M = {__name__ = \"__main__\"}\n");
    for (index, stmt) in program.main.iter().enumerate() {
        let mut body = String::new();
        write_stmt(&mut body, MAIN, index, stmt, "  ")?;
        let _ = write!(
            main,
            "_stmt(\"{}\", function()\n{body}end)\n",
            label(MAIN, index)
        );
    }
    fs::write(dir.join("main.lua"), main)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// A module's file: its table, its body in `_body` (which takes it out of
/// `package.loaded` again if the body fails), the table returned.
fn module_source(module: &ModuleSource) -> io::Result<String> {
    let name = &module.name;
    let mut out =
        format!("local M = _module(\"{name}\")\nreturn _body(\"{name}\", M, function()\n");
    for (index, stmt) in module.body.iter().enumerate() {
        write_stmt(&mut out, name, index, stmt, "  ")?;
    }
    out.push_str("end)\n");
    Ok(out)
}

/// The Lua expression of `expr` read in the namespace `M`.
fn expr_source(expr: &Expr) -> String {
    let mut source = format!("_name(M, \"{}\")", expr.name);
    for attr in &expr.attrs {
        source = format!("_get({source}, \"{attr}\")");
    }
    source
}

fn write_stmt(
    out: &mut String,
    module: &str,
    index: usize,
    stmt: &Stmt,
    indent: &str,
) -> io::Result<()> {
    let label = label(module, index);
    // Writing into a String cannot fail.
    let _ = match stmt {
        Stmt::Import(Import::Module { target, alias }) => {
            if target.contains('.') {
                return Err(invalid(format!("import {target}: not a flat program")));
            }
            let bound = alias.as_deref().unwrap_or(target);
            writeln!(out, "{indent}M.{bound} = require \"{target}\"")
        }
        Stmt::Import(Import::From {
            level,
            module: from,
            names,
        }) => {
            if *level > 0 || from.contains('.') {
                return Err(invalid(format!(
                    "from {}{from} import ...: not a flat program",
                    ".".repeat(*level as usize)
                )));
            }
            for (name, alias) in names {
                let bound = alias.as_deref().unwrap_or(name);
                let _ = writeln!(
                    out,
                    "{indent}M.{bound} = _from(require \"{from}\", \"{name}\", \"{from}\")"
                );
            }
            Ok(())
        }
        Stmt::Assign { name, value } => writeln!(out, "{indent}M.{name} = {value}"),
        Stmt::NewRegistry => writeln!(out, "{indent}M.items = _list()"),
        Stmt::Read(expr) => writeln!(out, "{indent}_obs(\"{label}\", {})", expr_source(expr)),
        Stmt::Register(name) => writeln!(
            out,
            "{indent}_append(_get(_name(M, \"{name}\"), \"items\"), \"{module}\")"
        ),
        Stmt::Def(reads) => {
            let _ = writeln!(out, "{indent}M.f = _def(\"{module}\", \"f\", function()");
            for (read, expr) in reads.iter().enumerate() {
                let label = function_label(module, index, read);
                let _ = writeln!(out, "{indent}  _obs(\"{label}\", {})", expr_source(expr));
            }
            writeln!(out, "{indent}end)")
        }
        Stmt::Call(name) => writeln!(out, "{indent}_get(_name(M, \"{name}\"), \"f\")()"),
        Stmt::Raise => writeln!(out, "{indent}error(_raised(\"{module}\"), 0)"),
    };
    Ok(())
}

/// Runs flat programs under a Lua interpreter: each program is written
/// into a fresh directory below `scratch` (with [`write_lua`]) and
/// `lua main.lua` is run there with `LUA_PATH=./?.lua` and the policy in
/// `LAZY_BIND_POLICY` (mode `none` for the eager run); its standard output
/// is parsed as a [`Trace`].
///
/// Its [`Semantics`]: a `from` import is done at the statement (`require`
/// returns a placeholder, and the field read resolves it), and a missing
/// attribute of a partially initialised module is an `AttributeError`, as
/// in eager Python; and `require` of a module in `package.loaded`, also a
/// partial one, binds it at once; a use of a module's placeholder during
/// its own load reads the partial module.
#[derive(Debug, Clone)]
pub struct LuaRuntime {
    lua: PathBuf,
    scratch: PathBuf,
}

impl LuaRuntime {
    /// The interpreter at `lua` (the lazy_bind Lua of `runtimes/lua`, or a
    /// stock Lua 5.4 for eager runs only).
    pub fn new(lua: impl Into<PathBuf>, scratch: impl Into<PathBuf>) -> Self {
        LuaRuntime {
            lua: lua.into(),
            scratch: scratch.into(),
        }
    }
}

impl ConformanceRuntime for LuaRuntime {
    fn semantics(&self) -> Semantics {
        Semantics {
            defer_from_imports: false,
            lazy_cycle_on_partial_module: false,
            bind_loaded_modules: true,
            partial_module_on_reentry: true,
        }
    }

    fn run(&mut self, program: &Program, policy: &Policy) -> Result<Trace, String> {
        let dir = process::program_dir(&self.scratch);
        write_lua(program, &dir).map_err(|e| format!("writing {}: {e}", dir.display()))?;
        let mut command = Command::new(&self.lua);
        command
            .arg("main.lua")
            .current_dir(&dir)
            .env("LUA_PATH", "./?.lua")
            .env("LUA_CPATH", "")
            .env(ENV_VAR, policy.to_string())
            .env_remove("LUA_LAZY")
            .env_remove("LUA_INIT")
            .env_remove("LUA_LAZY_REPORT")
            .env_remove("LUA_LAZY_TRACE");
        process::trace_of(&mut command, &self.lua.display().to_string(), &dir)
    }
}
