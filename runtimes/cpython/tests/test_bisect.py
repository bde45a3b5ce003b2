"""``python -m lazy_bind bisect``: programs that need opt-outs, each bisected
to its minimal policy (asserted exactly), flaky programs, bad input,
Ctrl-C and the run budget; and the search's pieces (``_ddmin``,
``_rules``) against brute force."""

import itertools
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import environment
from lazy_bind import _bisect, _ddmin, _rules

TIMEOUT = 120


def write_tree(root, files):
    """Writes ``{relative path: source}`` under ``root``."""
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


def bisect(tmp_path, *args, command=("app.py",)):
    """Runs the tool in ``tmp_path``; returns the process and the policy
    written to ``found.policy`` (None if none)."""
    out = tmp_path / "found.policy"
    result = subprocess.run(
        [sys.executable, "-m", "lazy_bind", "bisect", "--out", str(out), *args, "--", *command],
        capture_output=True, text=True, cwd=tmp_path, env=environment(), timeout=TIMEOUT)
    return result, out.read_text() if out.exists() else None


def rules_of(policy):
    return [line for line in policy.splitlines() if line and not line.startswith("#")]


REGISTRY = {
    "registry.py": """
        ITEMS = []
        def register(name):
            ITEMS.append(name)
        """,
    "plugins/__init__.py": "",
    "plugins/csv_out.py": "import registry\nregistry.register('csv')\n",
    "plugins/json_out.py": "import registry\nregistry.register('json')\n",
    "helpers.py": "VALUE = 1\n",
    "app.py": """
        import sys
        import json
        import registry
        import plugins.csv_out
        import plugins.json_out
        import helpers
        if sorted(registry.ITEMS) != ["csv", "json"]:
            sys.exit(f"plugins missing: {registry.ITEMS}")
        print(json.dumps(helpers.VALUE))
        """,
}

SYS_PATH = {
    "setup_path.py": """
        import os, sys
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "vendor"))
        """,
    "vendor/vendored.py": "VALUE = 'vendored'\n",
    "app.py": """
        import setup_path
        import textwrap
        import vendored
        print(textwrap.dedent(vendored.VALUE))
        """,
}

HOOK = {
    "hook.py": """
        import importlib.abc, importlib.util, sys

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return None
            def exec_module(self, module):
                module.VALUE = 42

        class Finder(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "generated":
                    return importlib.util.spec_from_loader(name, Loader())
                return None

        sys.meta_path.insert(0, Finder())
        """,
    "app.py": """
        import hook
        import csv
        import generated
        print(generated.VALUE, csv.QUOTE_ALL)
        """,
}


@pytest.mark.parametrize("files, expected", [
    (REGISTRY, ["eager-target plugins.*"]),
    (SYS_PATH, ["eager-target setup_path"]),
    (HOOK, ["eager-target hook"]),
], ids=["side-effect-registry", "sys-path-at-import", "hook-at-import"])
def test_bisect_finds_the_minimal_policy(tmp_path, files, expected):
    write_tree(tmp_path, files)
    result, policy = bisect(tmp_path)
    assert result.returncode == _bisect.FOUND, result.stderr
    assert rules_of(policy) == expected, policy
    assert "verified" in policy and "# without it: exit 1: " in policy, policy
    assert "candidates left" in result.stderr and "runs (budget 200)" in result.stderr
    # The policy written works: the program now runs lazily as eagerly.
    check = subprocess.run([sys.executable, "-m", "lazy_bind", "--policy", f"@{tmp_path}/found.policy",
                            "app.py"], capture_output=True, text=True, cwd=tmp_path,
                           env=environment(), timeout=TIMEOUT)
    eager = subprocess.run([sys.executable, "app.py"], capture_output=True, text=True,
                           cwd=tmp_path, env=environment(), timeout=TIMEOUT)
    assert (check.returncode, check.stdout) == (0, eager.stdout), check.stderr


def test_bisect_adds_to_the_users_policy_and_compares_output(tmp_path):
    write_tree(tmp_path, REGISTRY)
    # Output differs lazily only through the user's own policy: the program
    # prints which plugins registered instead of failing.
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import registry
        import plugins.csv_out
        import plugins.json_out
        print(sorted(registry.ITEMS))
        """))
    (tmp_path / "user.policy").write_text("eager-target plugins.json_out\n")
    plain, _ = bisect(tmp_path, "--policy", "user.policy")
    assert plain.returncode == _bisect.NO_DIFFERENCE, plain.stderr
    result, policy = bisect(tmp_path, "--policy", "user.policy", "--compare-output")
    assert result.returncode == _bisect.FOUND, result.stderr
    assert rules_of(policy) == ["eager-target plugins.json_out", "eager-target plugins.csv_out"]
    assert "# without it: exit 0, other output" in policy, policy


FLAKY_EAGER = """
    import os, sys
    count = int(open("count").read()) if os.path.exists("count") else 0
    open("count", "w").write(str(count + 1))
    sys.exit(count % 2)
    """

FLAKY_LAZY = """
    import os, sys
    import json
    lazy = "lazy_bind" in sys.modules
    count = int(open("count").read()) if os.path.exists("count") else 0
    if lazy:
        open("count", "w").write(str(count + 1))
    sys.exit(lazy and count % 2 == 0)
    """


@pytest.mark.parametrize("source, which", [(FLAKY_EAGER, "eager"), (FLAKY_LAZY, "lazy")])
def test_bisect_says_a_flaky_program_is_flaky(tmp_path, source, which):
    (tmp_path / "app.py").write_text(textwrap.dedent(source))
    result, policy = bisect(tmp_path)
    assert result.returncode == _bisect.FLAKY, result.stderr
    assert f"flaky: two {which} runs ended differently" in result.stderr, result.stderr
    assert policy is None


def test_bisect_bad_input_has_distinct_exit_codes(tmp_path):
    (tmp_path / "fails.py").write_text("raise SystemExit('broken')\n")
    (tmp_path / "same.py").write_text("import json\nprint(json.dumps(1))\n")
    missing, _ = bisect(tmp_path, command=["missing.py"])
    assert missing.returncode == _bisect.NOT_FOUND and "no such script" in missing.stderr
    no_python, _ = bisect(tmp_path, "--python", str(tmp_path / "nopython"), command=["same.py"])
    assert no_python.returncode == _bisect.NOT_FOUND and "no interpreter" in no_python.stderr
    eager, _ = bisect(tmp_path, command=["fails.py"])
    assert eager.returncode == _bisect.EAGER_FAILS, eager.stderr
    assert "the eager run fails too (exit 1: broken)" in eager.stderr
    same, _ = bisect(tmp_path, command=["same.py"])
    assert same.returncode == _bisect.NO_DIFFERENCE and "no difference" in same.stderr
    usage, _ = bisect(tmp_path, "--budget", "x", command=["same.py"])
    assert usage.returncode == 2
    codes = {_bisect.FOUND, _bisect.NOT_FOUND, _bisect.EAGER_FAILS, _bisect.NO_DIFFERENCE,
             _bisect.FLAKY, _bisect.BUDGET_EXHAUSTED, _bisect.NO_POLICY, _bisect.INTERRUPTED, 2}
    assert len(codes) == 9


def test_bisect_without_a_fix_says_so(tmp_path):
    # The difference comes from laziness itself, not from a module: no
    # opt-out of a deferred module changes it.
    (tmp_path / "app.py").write_text("import sys\nimport json\n"
                                     "sys.exit('lazy_bind' in sys.modules)\n")
    result, policy = bisect(tmp_path)
    assert result.returncode == _bisect.NO_POLICY, result.stderr
    assert "no eager-target/eager-importer rules restore" in result.stderr and policy is None


def slow_registry(tmp_path, plugins=6):
    """A registry program whose every run takes a while, with ``plugins``
    plugin modules that must all be eager."""
    files = dict(REGISTRY)
    names = [f"p{i}" for i in range(plugins)]
    for name in names:
        files[f"plugins/{name}.py"] = f"import registry\nregistry.register('{name}')\n"
    imports = "\n".join(f"import plugins.{name}" for name in names)
    files["app.py"] = (f"import sys, time\nimport registry\n{imports}\ntime.sleep(0.2)\n"
                       f"sys.exit(len(registry.ITEMS) != {plugins})\n")
    del files["plugins/csv_out.py"], files["plugins/json_out.py"]
    write_tree(tmp_path, files)


def test_bisect_budget_writes_the_best_policy_so_far(tmp_path):
    slow_registry(tmp_path)
    result, policy = bisect(tmp_path, "--budget", "6")
    assert result.returncode == _bisect.BUDGET_EXHAUSTED, result.stderr
    assert policy.startswith("# NOT MINIMAL: the budget of 6 runs ran out after 6 runs"), policy
    # Every module the policy let be lazy (sys and time were loaded
    # already): not narrowed yet.
    expected = {f"eager-target {name}" for name in ("registry", "sys", "time")}
    expected |= {f"eager-target plugins.p{i}" for i in range(6)}
    assert set(rules_of(policy)) == expected, policy


def test_ctrl_c_writes_the_best_policy_so_far(tmp_path):
    slow_registry(tmp_path)
    out = tmp_path / "found.policy"
    tool = subprocess.Popen(
        [sys.executable, "-m", "lazy_bind", "bisect", "--out", str(out), "--", "app.py"],
        stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=environment())
    deadline = time.monotonic() + TIMEOUT
    try:
        for line in tool.stderr:  # the fifth run is the first to restore the outcome
            if line.startswith("lazy_bind bisect: 6 runs") or time.monotonic() > deadline:
                break
        tool.send_signal(signal.SIGINT)
        rest = tool.communicate(timeout=TIMEOUT)[1]
    finally:
        tool.kill()
    assert tool.returncode == _bisect.INTERRUPTED, rest
    assert "interrupted: writing the smallest policy found so far" in rest
    policy = out.read_text()
    assert policy.startswith("# NOT MINIMAL: interrupted after"), policy
    assert {f"eager-target plugins.p{i}" for i in range(6)} <= set(rules_of(policy)), policy


@pytest.mark.parametrize("seed", range(40))
def test_ddmin_finds_a_one_minimal_subset(seed):
    rng = random.Random(seed)
    items = list(range(rng.randint(1, 16)))
    needed = set(rng.sample(items, rng.randint(1, min(4, len(items)))))
    asked = []

    def passes(subset):
        asked.append(subset)
        return needed <= set(subset)

    assert set(_ddmin.ddmin(items, passes)) == needed
    assert all(list(s) == sorted(s) for s in asked)  # order kept


def test_ddmin_result_is_one_minimal_for_alternatives():
    # Either {0, 1} or {2} works: ddmin returns one of them, 1-minimal.
    def passes(subset):
        return {0, 1} <= set(subset) or 2 in subset

    result = _ddmin.ddmin(list(range(6)), passes)
    assert passes(result)
    assert not any(passes([x for x in result if x != y]) for y in result)


def test_shorter_rules_never_make_more_eager():
    pairs = {("__main__", "json"), ("__main__", "plugins.a"), ("__main__", "plugins.b"),
             ("plugins.a", "registry"), ("lib", "lib.x"), ("lib", "lib.y"), ("lib.x", "os")}
    rules = ["eager-target plugins.a", "eager-target plugins.b", "eager-target lib.x",
             "eager-target lib.y"]
    found = _rules.shorter(rules, pairs)
    assert found[0] in (["eager-target lib.x", "eager-target lib.y", "eager-target plugins.*"],
                        ["eager-target plugins.a", "eager-target plugins.b",
                         "eager-importer lib"])
    assert ["eager-importer __main__", "eager-target lib.x", "eager-target lib.y"] not in found
    eager = _rules.coverage(rules, pairs)
    for shorter in found:
        assert len(shorter) < len(rules) and _rules.coverage(shorter, pairs) == eager
    for subset in itertools.combinations(rules, 3):
        assert _rules.coverage(list(subset), pairs) != eager
