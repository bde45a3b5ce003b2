"""The HTML report in a real browser: headless Chromium loads the page from
a file, a measuring script (added to a copy, not to the report) writes
what was laid out into the DOM, which ``--dump-dom`` returns; a screenshot
goes to ``target/artifacts/html-report.png`` (CI keeps it as an artifact).

The report is made both ways: in-process (``python -m lazy_bind
--report=html FILE``) and by the ``report`` tool, which also runs the
program eagerly to know what the never-used imports would cost."""

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import environment

ARTIFACTS = Path(__file__).resolve().parents[3] / "target" / "artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-quic"]
TIMEOUT = 120

PROGRAM = {
    "outer_mod.py": "import inner_mod\nVALUE = inner_mod.VALUE + 1\n",
    "inner_mod.py": "import time\ntime.sleep(0.02)\nVALUE = 1\n",
    "thread_mod.py": "VALUE = 'thread'\n",
    "unused_mod.py": "import time\ntime.sleep(0.01)\n",
    "app.py": """
        import threading
        import csv
        import outer_mod
        import thread_mod
        import unused_mod
        try:
            import json
        except ImportError:
            json = None

        def work():
            print(thread_mod.VALUE)

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        print(outer_mod.VALUE, csv.QUOTE_ALL, json.dumps(1))
        """,
}

MEASURE = """
<script>
const measured = {sections: [...document.querySelectorAll("section")].map(s => s.id),
  tracks: document.querySelectorAll(".track").length, bars: [], cells: []};
for (const bar of document.querySelectorAll(".bar")) {
  const box = bar.getBoundingClientRect();
  measured.bars.push({module: bar.dataset.module, width: box.width, height: box.height,
                      top: box.top, visible: box.width > 0 && box.height > 0});
}
for (const row of document.querySelectorAll("#never-used tr, #eager-decisions tr")) {
  measured.cells.push([...row.cells].map(c => c.textContent));
}
const out = document.createElement("pre");
out.id = "measured";
out.textContent = JSON.stringify(measured);
document.body.appendChild(out);
</script>
"""


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (scripts/install-test-deps.sh installs Debian's "
                    "chromium package)")
    return path


def browse(page, *flags):
    """Runs headless Chromium on ``page`` with a fresh profile."""
    with tempfile.TemporaryDirectory(prefix="lazy_bind-chromium-") as profile:
        return subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *flags,
             page.as_uri()], capture_output=True, text=True, timeout=TIMEOUT)


def measure(report, tmp_path):
    """What Chromium laid out for ``report``."""
    copy = tmp_path / "measured.html"
    copy.write_text(report.read_text().replace("</body>", MEASURE + "</body>"))
    result = browse(copy, "--dump-dom")
    found = re.search(r'<pre id="measured">(.*?)</pre>', result.stdout, re.S)
    assert found, f"no measurement in the DOM\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def make_program(tmp_path):
    for name, source in PROGRAM.items():
        (tmp_path / name).write_text(textwrap.dedent(source))


def test_in_process_html_report_renders(tmp_path):
    make_program(tmp_path)
    report = tmp_path / "report.html"
    run = subprocess.run(
        [sys.executable, "-m", "lazy_bind", "--policy", "eager-target csv", "--report=html",
         str(report), "app.py"], capture_output=True, text=True, cwd=tmp_path,
        env=environment(), timeout=TIMEOUT)
    assert run.returncode == 0 and run.stdout == "thread\n2 1 1\n", run.stderr
    text = report.read_text()
    assert "<script" not in text and "http://" not in text and "https://" not in text
    measured = measure(report, tmp_path)
    assert measured["sections"] == ["summary", "timeline", "never-used", "top-costs", "policy"]
    assert measured["tracks"] == 2  # the main thread and the worker
    bars = {bar["module"]: bar for bar in measured["bars"]}
    assert {"threading", "outer_mod", "inner_mod", "thread_mod"} <= set(bars), bars
    assert all(bar["visible"] for bar in bars.values()), bars
    # inner_mod's resolution is forced inside outer_mod's: one row lower.
    assert bars["inner_mod"]["top"] > bars["outer_mod"]["top"]
    assert bars["outer_mod"]["width"] > bars["thread_mod"]["width"]
    cells = measured["cells"]
    unused = [row for row in cells if row and row[0] == "unused_mod"]
    assert unused and unused[0][1:] == ["__main__", f"{tmp_path.name}/app.py:6", "unknown"], cells
    decisions = {(row[0], row[1]): row[2] for row in cells if len(row) == 3}
    assert decisions[("__main__", "csv")] == "eager: target opt-out rule 'eager-target csv'"
    assert decisions[("__main__", "json")].startswith("eager: the import is inside a try")


def test_report_tool_knows_eager_costs_and_saves_a_screenshot(tmp_path):
    make_program(tmp_path)
    report = tmp_path / "report.html"
    run = subprocess.run(
        [sys.executable, "-m", "lazy_bind", "report", "--html", str(report), "--", "app.py"],
        capture_output=True, text=True, cwd=tmp_path, env=environment(), timeout=TIMEOUT)
    assert run.returncode == 0 and run.stdout == "thread\n2 1 1\n", run.stderr
    measured = measure(report, tmp_path)
    unused = [row for row in measured["cells"] if row and row[0] == "unused_mod"]
    cost = float(unused[0][3].split()[0])
    assert unused[0][3].endswith("(measured eagerly)") and cost >= 10.0, unused  # sleeps 10 ms
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "html-report.png"
    shot.unlink(missing_ok=True)
    result = browse(report, f"--screenshot={shot}", "--window-size=1280,1400",
                    "--hide-scrollbars")
    assert shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
