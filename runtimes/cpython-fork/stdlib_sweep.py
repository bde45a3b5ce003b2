"""Every standard-library module that imports eagerly also imports lazily.

    python stdlib_sweep.py [-j N] [--show]

Run it with the fork's python. For each name in `sys.stdlib_module_names`,
in a fresh process each:

1. eagerly (`-X lazy_imports=none`): `import m`. Modules that fail here
   (platform-specific ones, optional ones whose C libraries are missing)
   are not the fork's business and are skipped;
2. lazily (`-X lazy_imports=all`): `import m`, checks that the name is
   bound to a placeholder unless the module was already loaded at start-up
   or is one the fork never defers (`__future__`), then uses it (`dir(m)`
   and every attribute) and checks that the global now holds the real
   module from `sys.modules`.

Exits 1 if any module that imports eagerly fails lazily, printing each
failure with the child's last lines of stderr.
"""

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

# Importing these has effects beyond the process: a web browser is started.
SKIP = {"antigravity": "opens a web browser"}
# The fork never defers imports of these (they must take effect at once);
# they still have to import and work in mode all.
NEVER_DEFERRED = {"__future__"}

EAGER = "import {name}"
LAZY = """
import sys, _lazy_imports
already = {name!r} in sys.modules or {name!r} in {never_deferred!r}
import {name}
# Read through globals(): loading a name that holds a placeholder resolves it.
assert already or _lazy_imports.is_lazy(globals()[{name!r}]), "not deferred"
names = dir({name})
assert names, "dir() is empty"
# Every attribute, so that lazy bindings inside the module resolve too.
[getattr({name}, attribute, None) for attribute in names]
assert globals()[{name!r}] is sys.modules[{name!r}], "not written back"
"""


def run(python, mode, code):
    result = subprocess.run(
        [python, "-X", f"lazy_imports={mode}", "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stderr


def check(python, name):
    code, _ = run(python, "none", EAGER.format(name=name))
    if code != 0:
        return name, "skipped", ""
    code, stderr = run(python, "all", LAZY.format(name=name, never_deferred=NEVER_DEFERRED))
    if code != 0:
        return name, "failed", "\n".join(stderr.strip().splitlines()[-4:])
    return name, "ok", ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-j", type=int, default=2, help="processes at a time")
    parser.add_argument("--show", action="store_true", help="print every module's outcome")
    options = parser.parse_args()
    names = sorted(n for n in sys.stdlib_module_names if n not in SKIP)
    with ThreadPoolExecutor(options.j) as pool:
        results = list(pool.map(lambda n: check(sys.executable, n), names))
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    for name, outcome, detail in results:
        counts[outcome] += 1
        if options.show or outcome == "failed":
            print(f"{outcome:8} {name}")
            if detail:
                print("         " + detail.replace("\n", "\n         "))
    for name, reason in SKIP.items():
        print(f"not run  {name}: {reason}")
    print(
        f"stdlib sweep: {counts['ok']} modules import and work lazily, "
        f"{counts['failed']} fail lazily, {counts['skipped']} do not import eagerly here"
    )
    sys.exit(1 if counts["failed"] else 0)


if __name__ == "__main__":
    main()
