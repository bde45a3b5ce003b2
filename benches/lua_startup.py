#!/usr/bin/env python3
"""lua_startup: Debian's lua-penlight used by a script that requires 16 of
its modules and uses one (benches/lua/penlight_cli.lua), eager vs lazy.

Configurations: stock Lua 5.4.4 built from the same Debian source without
the lazy_bind patch (`runtimes/lua/build.sh --vanilla`), the lazy_bind Lua
with LUA_LAZY=none (eager) and with LUA_LAZY=all (lazy).

  python3 benches/lua_startup.py --check       # outputs and loaded modules compared (test command)
  python3 benches/lua_startup.py --runs 30     # also timed: median wall and CPU time per start
  python3 benches/lua_startup.py --smoke       # --check plus 3 timed rounds

--check runs the script twice in each configuration: using one module (the
output must be the same everywhere, lazy must load fewer modules) and using
all of them ("all": the same output and the same set of loaded modules).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benches", "lua", "penlight_cli.lua")


def build(vanilla):
    cmd = [os.path.join(ROOT, "runtimes", "lua", "build.sh")] + (["--vanilla"] if vanilla else [])
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return out.strip().splitlines()[-1]


def configurations():
    stock = build(vanilla=True)
    lazy = build(vanilla=False)
    return [
        ("stock eager", stock, {}),
        ("lazy_bind, LUA_LAZY=none", lazy, {"LUA_LAZY": "none"}),
        ("lazy_bind, LUA_LAZY=all", lazy, {"LUA_LAZY": "all"}),
    ]


def run(lua, env_extra, args, list_loaded=False):
    env = dict(os.environ)
    for var in ("LUA_LAZY", "LAZY_BIND_POLICY", "LUA_LAZY_REPORT", "LUA_LAZY_TRACE",
                "LUA_PATH", "LUA_PATH_5_4", "LUA_CPATH", "LUA_CPATH_5_4", "LUA_INIT"):
        env.pop(var, None)
    env.update(env_extra)
    if list_loaded:
        env["LIST_LOADED"] = "1"
    proc = subprocess.run([lua, SCRIPT] + args, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    if proc.returncode != 0:
        sys.exit(f"lua_startup: {lua} {args} failed ({proc.returncode}):\n{proc.stderr}")
    loaded = []
    for line in proc.stderr.splitlines():
        if line.startswith("loaded "):
            loaded = line.split(": ", 1)[1].split()
    return proc.stdout, loaded


def check(configs):
    ok = True
    for args in ([], ["all"]):
        results = [(name,) + run(lua, env, args, list_loaded=True) for name, lua, env in configs]
        base_name, base_out, base_loaded = results[0]
        what = "uses all modules" if args else "uses one module"
        for name, out, loaded in results:
            pl = [m for m in loaded if m.startswith("pl.")]
            print(f"{what:>17} | {name:<26} | output {'same' if out == base_out else 'DIFFERENT'}"
                  f" | {len(loaded)} modules loaded, {len(pl)} of penlight, lfs {'loaded' if 'lfs' in loaded else 'not loaded'}")
            if out != base_out:
                ok = False
                print(f"--- {base_name}\n{base_out}--- {name}\n{out}")
            lazy = name.endswith("all")
            if args and loaded != base_loaded:
                ok = False
                print(f"  loaded modules differ from {base_name}: {sorted(set(loaded) ^ set(base_loaded))}")
            if not args and lazy and not (set(loaded) < set(base_loaded)):
                ok = False
                print("  lazy did not load fewer modules than eager")
            if not args and not lazy and loaded != base_loaded:
                ok = False
                print(f"  eager loaded modules differ from {base_name}")
        if not args:
            lazy_loaded = results[-1][2]
            print(f"  lazily loaded: {' '.join(m for m in lazy_loaded if m.startswith('pl.'))}")
    return ok


def timed(lua, env, args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(lua, env, args)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1000, cpu * 1000


def bench(configs, runs):
    samples = {name: ([], []) for name, _, _ in configs}
    for name, lua, env in configs:  # warm the page cache
        run(lua, env, [])
    for _ in range(runs):
        for name, lua, env in configs:
            wall, cpu = timed(lua, env, [])
            samples[name][0].append(wall)
            samples[name][1].append(cpu)
    base = statistics.median(samples[configs[0][0]][0])
    base_cpu = statistics.median(samples[configs[0][0]][1])
    print(f"\nstart-up of benches/lua/penlight_cli.lua (uses one module), {runs} runs, interleaved; median ms")
    print(f"| configuration | wall | CPU | saved vs stock eager (wall / CPU) |")
    print(f"|---|---:|---:|---:|")
    for name, _, _ in configs:
        wall = statistics.median(samples[name][0])
        cpu = statistics.median(samples[name][1])
        saved = "" if name == configs[0][0] else f"{100 * (1 - wall / base):.0f}% / {100 * (1 - cpu / base_cpu):.0f}%"
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {saved} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare outputs and loaded modules only")
    parser.add_argument("--smoke", action="store_true", help="--check and 3 timed rounds")
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()
    configs = configurations()
    ok = check(configs)
    if not ok:
        sys.exit("lua_startup: eager and lazy runs differ")
    if opts.check:
        return
    bench(configs, 3 if opts.smoke else opts.runs)


if __name__ == "__main__":
    main()
