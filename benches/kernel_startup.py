#!/usr/bin/env python3
"""Jupyter kernel start-up (ipykernel, driven by jupyter_client) under both
runtimes: time to the kernel_info reply and CPU time, and the same results.

Usage (from the repository root):

    python3 benches/kernel_startup.py [--runs N] [--smoke] [--no-install] [--only NAME ...]

Set-up, done by the script unless --no-install (pinned in
`benches/kernel-requirements.txt`): `target/kernel-venv`, a venv of stock
python3 with ipykernel, jupyter_client, numpy and the adaptor
(`pip install --no-build-isolation ./runtimes/cpython`); and
`target/cpython-fork/site-kernel`, the same wheels installed for the fork by
stock python3's `pip install --target`, put on the fork's PYTHONPATH. The
fork itself is `runtimes/cpython-fork/build.sh`'s build, which this script
does not start.

Configurations, each a kernelspec whose argv starts the kernel:

* stock eager:  `venv/python -m ipykernel_launcher -f {connection_file}`
* adaptor:      `venv/python -m lazy_bind -m ipykernel_launcher -f ...`
* fork eager:   `fork/python -X lazy_imports=none -m ipykernel_launcher -f ...`
* fork lazy:    `fork/python -X lazy_imports=all -m ipykernel_launcher -f ...`

No LAZY_BIND_POLICY, PYTHON_LAZY_IMPORTS or LAZY_BIND_SUBPROCESS reaches a
kernel: the default policy only. Each start: `KernelManager.start_kernel`,
a `kernel_info` request and its reply (the time printed), a cell
(`import numpy as np` and `np.arange(3).sum()`), a cell that raises in a
library (`json.loads` of bad JSON), shutdown. A lazy configuration passes
if its result equals its interpreter's eager one and its traceback text
(ANSI colours removed) is the same except for lazy_bind's note line, and
the kernel prints no line on stderr that the eager one does not. Every
wait has a timeout; a kernel that hangs or dies is a failure, not a hang.
Printed per configuration: the median time from start_kernel to the
kernel_info reply and the kernel process's CPU time by then (user + system,
from psutil), over `--runs` starts (default 10, rounds interleaved), the
time saved against its interpreter's eager configuration, and `uptime`
before and after (the load of a shared machine). Exit status 1 if any
configuration fails. `--smoke` (the test command's use): one start each.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "benches" / "kernel-requirements.txt"
VENV = REPO / "target" / "kernel-venv"
VENV_PYTHON = VENV / "bin" / "python"
FORK_PYTHON = REPO / "target" / "cpython-fork" / "build-lazy" / "python"
FORK_SITE = REPO / "target" / "cpython-fork" / "site-kernel"

START_TIMEOUT = 60.0  # seconds to the kernel_info reply
CELL_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 10.0  # then the kernel is killed

RESULT_CELL = "import numpy as np\nnp.arange(3).sum()"
ERROR_CELL = "import json\njson.loads('{\"a\": ')"
NOTE = re.compile(r"^lazy import of '.*' declared at .* failed while resolving at .*$")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Variables that would change the policy of a kernel or of its children.
POLICY_VARIABLES = ("LAZY_BIND_POLICY", "LAZY_BIND_SUBPROCESS",
                    "LAZY_BIND_SUBPROCESS_TRACE", "PYTHON_LAZY_IMPORTS",
                    "PYTHON_LAZY_IMPORTS_DEFAULTS", "PYTHONPATH")


def configurations():
    launcher = ["-m", "ipykernel_launcher", "-f", "{connection_file}"]
    fork_env = {"PYTHONPATH": str(FORK_SITE)}
    return [
        # (name, argv, env, name of the eager configuration it must match)
        ("stock eager", [str(VENV_PYTHON)] + launcher, {}, None),
        ("adaptor", [str(VENV_PYTHON), "-m", "lazy_bind"] + launcher, {}, "stock eager"),
        ("fork eager", [str(FORK_PYTHON), "-X", "lazy_imports=none"] + launcher, fork_env, None),
        ("fork lazy", [str(FORK_PYTHON), "-X", "lazy_imports=all"] + launcher, fork_env, "fork eager"),
    ]


def install():
    if not VENV_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["setuptools", "wheel", "-r", str(REQUIREMENTS)], check=True)
    subprocess.run(pip + ["--no-build-isolation", str(REPO / "runtimes" / "cpython")], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--upgrade",
                    "--no-warn-conflicts", "--root-user-action=ignore",
                    "--target", str(FORK_SITE), "-r", str(REQUIREMENTS)], check=True)


class Failure(Exception):
    """A configuration failed; the message says how."""


def plain(lines):
    """Traceback lines without colours and without lazy_bind's note."""
    text = ANSI.sub("", "\n".join(lines))
    return [line for line in text.splitlines() if not NOTE.match(line.strip())]


def execute(kc, code):
    """Runs a cell; returns (its text/plain result or None, its error
    content or None)."""
    outputs = {"result": None, "error": None}

    def hook(msg):
        kind = msg["msg_type"]
        if kind == "execute_result":
            outputs["result"] = msg["content"]["data"].get("text/plain")
        elif kind == "error":
            outputs["error"] = msg["content"]

    try:
        reply = kc.execute_interactive(code, timeout=CELL_TIMEOUT, output_hook=hook,
                                       allow_stdin=False)
    except TimeoutError:
        raise Failure(f"no reply to cell {code!r} within {CELL_TIMEOUT:.0f} s") from None
    status = reply["content"]["status"]
    if status == "ok" and outputs["error"] is not None:
        raise Failure("error output with an ok reply")
    return outputs["result"], outputs["error"]


def wait_kernel_info(km, kc, t0):
    """Sends kernel_info; returns the seconds from t0 to its reply."""
    msg_id = kc.kernel_info()
    deadline = t0 + START_TIMEOUT
    while True:
        if not km.is_alive():
            raise Failure("kernel died before its kernel_info reply")
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise Failure(f"no kernel_info reply within {START_TIMEOUT:.0f} s")
        try:
            msg = kc.get_shell_msg(timeout=min(0.2, remaining))
        except Exception:  # queue.Empty: poll again
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            if msg["content"].get("status") != "ok":
                raise Failure(f"kernel_info reply: {msg['content']}")
            return time.perf_counter() - t0


def kernel_cpu(km):
    """The kernel process's CPU seconds so far (user + system)."""
    import psutil

    try:
        times = psutil.Process(km.provisioner.pid).cpu_times()
    except (AttributeError, psutil.Error) as exc:
        raise Failure(f"cannot read the kernel's CPU time: {exc}") from None
    return times.user + times.system


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_once(name, argv, env, workdir):
    """One kernel start; returns ((seconds, CPU seconds) to the kernel_info
    reply, result, traceback, the kernel's stderr lines)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    kernel_dir = workdir / "kernels" / name.replace(" ", "-")
    kernel_dir.mkdir(parents=True, exist_ok=True)
    (kernel_dir / "kernel.json").write_text(json.dumps(
        {"argv": argv, "env": env, "display_name": name, "language": "python"}))
    ksm = KernelSpecManager(kernel_dirs=[str(workdir / "kernels")])
    km = KernelManager(kernel_name=kernel_dir.name, kernel_spec_manager=ksm,
                       shutdown_wait_time=SHUTDOWN_TIMEOUT)
    stderr_path = workdir / f"{kernel_dir.name}.stderr"
    kc = None
    with open(stderr_path, "wb") as stderr:
        try:
            t0 = time.perf_counter()
            km.start_kernel(stderr=stderr, cwd=str(workdir))
            kc = km.client()
            kc.start_channels()
            seconds = wait_kernel_info(km, kc, t0)
            cpu = kernel_cpu(km)
            # IOPub may not be subscribed yet (ZeroMQ drops what a PUB sends
            # before then): jupyter_client's own wait repeats kernel_info
            # until IOPub delivers too.
            try:
                kc.wait_for_ready(timeout=START_TIMEOUT)
            except RuntimeError as exc:
                raise Failure(f"IOPub: {exc}") from None
            result, error = execute(kc, RESULT_CELL)
            if error is not None:
                raise Failure("result cell raised:\n" + "\n".join(plain(error["traceback"])))
            _, error = execute(kc, ERROR_CELL)
            if error is None:
                raise Failure("error cell did not raise")
            traceback = plain(error["traceback"])
        except Failure as exc:
            log = stderr_path.read_text(errors="replace").strip()
            raise Failure(str(exc) + (f"\n--- kernel stderr ---\n{log}" if log else "")) from None
        finally:
            if kc is not None:
                kc.stop_channels()
            if km.has_kernel:
                km.shutdown_kernel()  # a shutdown request, then a kill after the wait
    return (seconds, cpu), result, traceback, stderr_path.read_text(errors="replace").splitlines()


def compare(outcome, eager, reference):
    """Raises Failure unless a lazy start's outcome matches its eager one's."""
    result, traceback, stderr = outcome
    if reference is None:
        raise Failure(f"no result from {eager!r} to compare with")
    if result != reference[0]:
        raise Failure(f"result {result!r}, {eager} gave {reference[0]!r}")
    if traceback != reference[1]:
        raise Failure(f"traceback differs from {eager}'s:\n" + "\n".join(traceback)
                      + f"\n--- {eager} ---\n" + "\n".join(reference[1]))
    extra = [line for line in stderr if line not in reference[2]]
    if extra:
        raise Failure(f"kernel stderr lines that {eager} does not print:\n" + "\n".join(extra))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="kernel starts per configuration")
    parser.add_argument("--smoke", action="store_true", help="one start per configuration")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="configurations to run")
    args = parser.parse_args()

    if Path(sys.prefix).resolve() != VENV.resolve():
        if not args.no_install:
            install()
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, "--no-install"] + sys.argv[1:])

    for variable in POLICY_VARIABLES:
        os.environ.pop(variable, None)
    configs = configurations()
    if args.only:
        configs = [c for c in configs if c[0] in args.only]
    if not FORK_PYTHON.exists() and any(c[1][0] == str(FORK_PYTHON) for c in configs):
        print(f"no fork at {FORK_PYTHON}: run runtimes/cpython-fork/build.sh", file=sys.stderr)
        configs = [c for c in configs if c[1][0] != str(FORK_PYTHON)]

    runs = 1 if args.smoke else args.runs
    before = uptime()
    outcomes = {}  # name -> (result, traceback, stderr lines) of its first start
    times = {name: [] for name, *_ in configs}
    errors = {}
    with tempfile.TemporaryDirectory(prefix="kernel-smoke-") as tmp:
        workdir = Path(tmp)
        for _ in range(runs):  # rounds interleaved, so drift hits every row alike
            for name, argv, env, eager in configs:
                if name in errors:
                    continue
                try:
                    seconds, *outcome = run_once(name, argv, env, workdir)
                    times[name].append(seconds)
                    if eager is not None:
                        compare(outcome, eager, outcomes.get(eager))
                    outcomes.setdefault(name, outcome)
                except Failure as exc:
                    errors[name] = str(exc)
    print(f"uptime before: {before}\nuptime after:  {uptime()}")
    print(f"{'configuration':12} {'':4} {'ready':>8} {'CPU':>8} {'saved':>6}  starts (ready, ms)")
    for name, _, _, eager in configs:
        samples = times[name]
        ready = statistics.median(t[0] for t in samples) if samples else None
        cpu = statistics.median(t[1] for t in samples) if samples else None
        base = times.get(eager or name) or []
        base_ready = statistics.median(t[0] for t in base) if base else None
        saved = f"{(1 - ready / base_ready) * 100:.0f}%" if ready and base_ready else "-"
        print(f"{name:12} {'FAIL' if name in errors else 'ok':4}"
              f" {f'{ready * 1000:.0f}' if ready else '-':>8} {f'{cpu * 1000:.0f}' if cpu else '-':>8}"
              f" {saved:>6}  {', '.join(f'{t[0] * 1000:.0f}' for t in samples)}")
        if name in errors:
            print("    " + errors[name].replace("\n", "\n    "))
    print("ready: median ms from start_kernel to the kernel_info reply; CPU: the kernel's "
          "median CPU ms by then; saved: ready time against the same interpreter eager")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
