"""index.html: the leaderboard page (harness/report/page.py), checked as text and in a real headless chromium.

The browser is driven over the Chrome DevTools protocol through a pipe (`--remote-debugging-pipe`: JSON messages
ending in NUL on file descriptors 3 and 4), with the standard library only: no driver binary, no websocket, no
port. The browser tests skip, saying why, where chromium is not installed (.ci/run installs it).

Screenshot of a report's page (docs/report/leaderboard_page.png is made so, from the quickstart's store):
    profit report --store results/store --out /tmp/qs
    python -m tests.harness.report.test_html /tmp/qs/index.html docs/report/leaderboard_page.png
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report.api import build_report
from tests.harness.report.storefactory import ones, record, run, tiny_store

EVIL = "<script>alert(1)</script>"
CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and os.access(p, os.X_OK)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; "
                                                             ".ci/run installs it): the page's browser test needs it")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe"]


# -- the store and the page --------------------------------------------------------------------------------------

def page_store(store: Path) -> Path:
    """tiny_store (one base: GSM8K and the testbed), a second base named like an injection (GSM8K only), and
    IFEval scored on a 5-question slice of 541 (a smoke-table column).

    GSM8K %   <script> SFT s1/s2 20/40, ProFit h0.1 100;  tiny-base: base 40, SFT 70, DFT 90, ProFit h0.1 85,
              h0.5 70, l0.5 50 (tiny_store).
    """
    tiny_store(store)
    for seed, k in ((1, 2), (2, 4)):
        record(store, task="profit_gsm8k", scores=ones(k, 5, 2), run=run(EVIL, "sft", seed))
    record(store, task="profit_gsm8k", scores=ones(10, 5, 2), stderr=0.0, run=run(EVIL, "profit", 1))
    for r, k in ((None, 1), (run("tiny-base", "sft", 1), 2), (run("tiny-base", "sft", 2), 3)):
        rec = record(store, task="profit_ifeval", scores=ones(k, 5), run=r,
                     **({"model_path": "/models/tiny-base"} if r is None else {}))
        path = store / "records" / f"{rec['key']}.json"
        rec["task"].update({"n_docs": 541, "limit": 5, "n_scored": 5})
        path.write_text(json.dumps(rec, indent=1), encoding="utf-8")
    return store


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("page")
    store = page_store(root / "store")
    report = build_report(store, root / "out")
    return store, root / "out", report


class Cells(HTMLParser):
    """The text of every cell of the page's leaderboard tables: {table id: [[cell text, ...] per row]}."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.table = self.cell = None
        self.links: dict[str, list[str]] = {}  # table id -> every cell link target
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "table" and "board" in (attrs.get("class") or ""):
            self.table = attrs["id"]
            self.tables[self.table] = []
        elif self.table and tag == "tr" and attrs.get("data-i") is not None:
            self.tables[self.table].append([])
        elif self.table and tag == "td":
            self.cell = []
        elif self.table and tag == "a" and self.cell is not None:
            self.links.setdefault(self.table, []).append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.tables[self.table][-1].append("".join(self.cell))
            self.cell = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def parse(text: str) -> Cells:
    parser = Cells()
    parser.feed(text)
    return parser


def md_tables(md: str) -> list[list[list[str]]]:
    """The Markdown tables' body rows, cells unescaped (a `|` in a name is written `\\|`)."""
    tables, current = [], None
    for line in md.splitlines():
        if not line.startswith("|"):
            current = None
        elif not line.startswith(("|:", "|-")):  # not the separator line
            if current is None:
                current = []
                tables.append(current)
            current.append([c.replace("\\|", "|") for c in re.split(r" (?<!\\)\| ", line[2:-2])])
    return [t[1:] for t in tables]  # without the header


# -- as text -----------------------------------------------------------------------------------------------------

def test_the_page_is_written_self_contained_and_listed(built):
    store, out, report = built
    page = out / "index.html"
    assert page in report.files
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", text)  # nothing from the network
    assert "<link" not in text and "@import" not in text and "url(" not in text
    sources = re.findall(r'<(?:img|script|iframe)[^>]*\ssrc="([^"]*)"', text)
    pngs = [f for f in report.files if f.suffix == ".png"]
    assert len(sources) == len(pngs) >= 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert base64.b64decode(sources[0].split(",", 1)[1]) == pngs[0].read_bytes()
    assert "Content-Security-Policy" in text and "default-src 'none'" in text


def test_the_cells_are_leaderboard_md_cells(built):
    _, out, _ = built
    md = md_tables((out / "leaderboard.md").read_text(encoding="utf-8"))
    tables = parse((out / "index.html").read_text(encoding="utf-8")).tables
    assert list(tables) == ["board-main", "board-smoke"]
    assert [tables["board-main"], tables["board-smoke"]] == md
    assert tables["board-main"][0][:5] == [EVIL, "SFT", "–", "–", "2"]  # a name is shown as text


def test_the_smoke_table_is_labelled(built):
    _, out, _ = built
    text = (out / "index.html").read_text(encoding="utf-8")
    smoke = text[text.index('<section id="smoke"'):]
    assert "Smoke test: benchmarks scored on a slice (not a measurement)" in smoke[:200]
    assert "Smoke test, not a measurement: these benchmarks were scored on a slice (IFEval 5 questions)" in smoke


def test_names_are_escaped(built):
    _, out, _ = built
    text = (out / "index.html").read_text(encoding="utf-8")
    assert EVIL not in text and "alert(1)</" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert text.count("<script>") == 1  # the page's own


def test_every_cell_reveals_its_records(built):
    store, out, report = built
    text = (out / "index.html").read_text(encoding="utf-8")
    parsed = parse(text)
    targets = {t for links in parsed.links.values() for t in links}
    assert {t.removeprefix("#") for t in targets} <= parsed.ids  # every link lands on a detail
    # Every record of the table is named in exactly one cell's detail.
    files = {r.file for row in report.table.rows for rs in row.results.values() for r in rs}
    assert files == {f"records/{p.name}" for p in (store / "records").iterdir()}
    for name in files:
        assert text.count(f"<td>{name}</td>") == 1
    # The ProFit h0.1 GSM8K cell of tiny-base: its two records, seeds, settings, questions and versions.
    row = next(i for i, r in enumerate(report.table.rows) if r.key.base == "tiny-base" and r.key.tau == 0.1)
    detail = text[text.index(f'id="r{row}-gsm8k"'):]
    detail = detail[:detail.index("</section>")]
    mine = [r.file for r in report.table.rows[row].results["profit_gsm8k"]]
    assert len(mine) == 2 and all(f"<td>{name}</td>" in detail for name in mine)
    for expected in ("85.0 ± 5.0 [80.0–90.0]", "profit_gsm8k (GSM8K), version 1", "5 of 5",
                     "temperature 0.7", "top_k 20", "repeats 2", "lm_eval 0.4.13", "vllm 0.32.0", "test-cpu"):
        assert expected in detail, expected


def test_the_same_store_gives_the_same_bytes(built, tmp_path):
    store, _, _ = built  # with the plots: test_determinism.py
    pages = [(build_report(store, tmp_path / name, plots=False), tmp_path / name / "index.html")[1].read_bytes()
             for name in ("a", "b")]
    assert pages[0] == pages[1] and b"<img" not in pages[0]


def test_reported_rows_avg_and_delta(tmp_path):
    """A base the paper reports: its rows join the main table (unlinked but for the method), Avg and Δ cells link
    to how they are made."""
    store = tmp_path / "store"
    tasks = ["profit_gsm8k", "profit_math500", "profit_aime24", "profit_gpqa_diamond", "profit_ifeval"]
    for seed in (1, 2):
        for objective in ("sft", "profit"):
            for k, task in enumerate(tasks):
                record(store, task=task, scores=ones(k + seed + (objective == "profit"), 8),
                       run=run("Qwen3-0.6B-Base", objective, seed))
    build_report(store, tmp_path / "out", plots=False)
    text = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    tables = parse(text).tables
    assert tables["board-main"] == md_tables((tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8"))[0]
    assert [r[1] for r in tables["board-main"]][2:] == [f"{m} (reported)" for m in
                                                         ("Vanilla", "SFT", "Entropy", "DFT", "ProFit")]
    assert 'href="#r1-avg"' in text and 'href="#r1-delta"' in text and 'id="reported"' in text
    assert 'data-method="reported"' in text and "the paper&#x27;s reported rows" in text
    assert "<img" not in text  # no plots asked for, none shown


def test_the_best_setting_table(tmp_path):
    """--select-on: the best-setting table comes between the main and smoke tables, as in leaderboard.md, its
    cells linked to the same records."""
    store = tmp_path / "store"
    for objective, lr, dev, test in (("sft", 1e-4, 5, 9), ("sft", 3e-4, 7, 6), ("profit", 1e-4, 8, 5)):
        for seed in (1, 2):
            r = {**run("b", objective, seed), "config": {"learning_rate": lr, "seed": seed}}
            path = f"/ckpt/b-{objective}-{lr}-{seed}"
            record(store, task="profit_testbed_dev", scores=ones(dev, 10), run=r, model_path=path)
            record(store, task="profit_testbed", scores=ones(test, 10), run=r, model_path=path)
    build_report(store, tmp_path / "out", plots=False, select_on="profit_testbed_dev")
    text = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    parsed = parse(text)
    assert list(parsed.tables) == ["board-main", "board-section-0"]
    assert list(parsed.tables.values()) == md_tables((tmp_path / "out" / "leaderboard.md").read_text("utf-8"))
    assert parsed.tables["board-section-0"][0][4] == "learning_rate=0.0003"
    assert {t.removeprefix("#") for t in parsed.links["board-section-0"]} <= parsed.ids


# -- in the browser ----------------------------------------------------------------------------------------------

class Chromium:
    """Headless chromium over the DevTools protocol on a pipe; collects console errors and dialogs."""

    def __init__(self, width: int = 1400, height: int = 1000, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="profit-chromium-")
        to_browser, self.write = os.pipe()
        self.read, from_browser = os.pipe()
        # bash, not sh: dash's redirections take single-digit descriptors only.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser, from_browser)]
        for fd in (to_browser, from_browser):
            os.close(fd)
        self.log = open(Path(self.profile) / "stderr.log", "wb")  # closed in close()
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", f'exec "$0" "$@" 3<&{high[0]} 4>&{high[1]}', CHROMIUM, *FLAGS,
             f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            pass_fds=high, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, start_new_session=True)
        for fd in high:
            os.close(fd)
        self.buffer, self.events, self.next_id, self.session = b"", [], 0, None
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.close()
            raise

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.read, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the pipe: {self.stderr()[-2000:]}")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def _event(self, message: dict) -> None:
        self.events.append(message)
        if message.get("method") == "Page.javascriptDialogOpening":  # never leave a dialog blocking the page
            os.write(self.write, json.dumps({"id": 0, "method": "Page.handleJavaScriptDialog", "sessionId":
                                             message.get("sessionId"), "params": {"accept": False}}).encode()
                     + b"\0")

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        ident = self.next_id
        message = {"id": ident, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self.write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._event(reply)

    def wait_for(self, event: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            found = next((e for e in self.events if e.get("method") == event), None)
            if found:
                self.events.remove(found)
                return found
            self._event(self._message(deadline))

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the middle of the element."""
        x, y = self.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                       "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect(); "
                       "return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, error log entries (CSP refusals included) and dialogs so far."""
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params.get('exceptionDetails')}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(f"log: {params['entry'].get('text')}")
            elif method == "Page.javascriptDialogOpening":
                found.append(f"dialog: {params.get('message')}")
        return found

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        Path(path).write_bytes(data)
        return data

    def stderr(self) -> str:
        self.log.flush()
        return (Path(self.profile) / "stderr.log").read_text(errors="replace")

    def close(self) -> None:
        try:
            self.session = None
            self.call("Browser.close")
            self.proc.wait(timeout=10)
        except (OSError, RuntimeError, TimeoutError, subprocess.TimeoutExpired):  # ended below
            pass
        if self.proc.poll() is None:  # its own process group (start_new_session): the browser and its helpers
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for fd in (self.read, self.write):
            os.close(fd)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    started = time.monotonic()
    b = Chromium()
    b.started_in = time.monotonic() - started
    yield b
    b.close()


def rows(b: Chromium, table: str) -> list[tuple]:
    """(base, method, strategy, τ) of the table's rows in their displayed order, and whether each is shown."""
    return [tuple(r) for r in b.js(
        f"Array.from(document.querySelectorAll('#{table} tbody tr')).map(tr => "
        "[...Array.from(tr.cells).slice(0, 4).map(td => td.textContent), tr.offsetParent !== null])")]


TINY = "tiny-base"


@needs_chromium
def test_in_chromium_sort_filter_details(built, browser, tmp_path):
    _, out, _ = built
    b = browser
    b.open((out / "index.html").as_uri())
    assert b.js("document.body.classList.contains('js')")  # the script ran (CSP let it)
    assert b.js("document.querySelectorAll('#plots img').length") >= 2
    assert b.js("Array.from(document.querySelectorAll('#plots img')).every(i => i.complete && i.naturalWidth > 0)")
    before = rows(b, "board-main")
    assert before[0][:2] == (EVIL, "SFT")  # injected markup is a name, shown as text
    assert b.js("document.querySelectorAll('script').length") == 1

    # (b) Sorting: GSM8K, highest first; ties keep the table's order; again: lowest first.
    b.click("#board-main th:nth-child(6) button")
    by_gsm8k = [(EVIL, "ProFit", "higher", "0.1"), (TINY, "DFT", "–", "–"), (TINY, "ProFit", "higher", "0.1"),
                (TINY, "SFT", "–", "–"), (TINY, "ProFit", "higher", "0.5"), (TINY, "ProFit", "lower", "0.5"),
                (TINY, "base", "–", "–"), (EVIL, "SFT", "–", "–")]
    assert [r[:4] for r in rows(b, "board-main")] == by_gsm8k
    assert b.js("document.querySelector('#board-main th:nth-child(6)').getAttribute('aria-sort')") == "descending"
    b.click("#board-main th:nth-child(6) button")
    ascending = [by_gsm8k[i] for i in (7, 6, 5, 3, 4, 2, 1, 0)]
    assert [r[:4] for r in rows(b, "board-main")] == ascending
    # Testbed: <script>'s rows and DFT have none, and come last in the table's order.
    b.click("#board-main th:nth-child(7) button")
    assert [r[:2] for r in rows(b, "board-main")][-3:] == [(EVIL, "SFT"), (EVIL, "ProFit"), (TINY, "DFT")]
    assert rows(b, "board-main")[0][:4] == (TINY, "ProFit", "higher", "0.1")  # 90 (100/80)
    b.click("#board-main th:nth-child(2) button")  # Method, as text: A to Z
    assert [r[1] for r in rows(b, "board-main")] == ["base", "DFT", "ProFit", "ProFit", "ProFit", "ProFit",
                                                     "SFT", "SFT"]
    # (c) Filters: unticking the <script> base hides its rows in both tables; a benchmark hides its column.
    b.click(f"#controls input[data-filter=base][value={json.dumps(EVIL)}]")
    for table in ("board-main", "board-smoke"):
        shown = rows(b, table)
        assert {r[0] for r in shown if r[4]} == {TINY} and {r[0] for r in shown if not r[4]} == {EVIL}
        assert [r for r in shown if r[0] == TINY and not r[4]] == []
    assert b.js("document.getElementById('board-main-count').textContent") == "6 of 8 rows shown"
    b.click("#controls input[data-filter=col][value=b-gsm8k]")
    assert b.js("document.querySelector('#board-main th:nth-child(6)').offsetParent") is None
    assert b.js("document.querySelector('#board-main th:nth-child(7)').offsetParent") is not None
    # A cell reveals its records: the tiny-base ProFit h0.1 GSM8K cell (shown again after Reset).
    b.click("#reset")
    assert [r[:4] for r in rows(b, "board-main")] == [r[:4] for r in before] and all(r[4] for r in before)
    b.click("#board-main tbody tr:nth-child(6) td:nth-child(6) a")
    assert b.js("document.getElementById('details').offsetParent !== null || "
                "getComputedStyle(document.getElementById('details')).display !== 'none'")
    shown_detail = b.js("Array.from(document.querySelectorAll('.detail')).filter(d => d.offsetParent !== null)"
                        ".map(d => d.innerText)")
    assert len(shown_detail) == 1 and "GSM8K" in shown_detail[0] and "records/" in shown_detail[0]
    assert "temperature 0.7" in shown_detail[0] and "85.0 ± 5.0 [80.0–90.0]" in shown_detail[0]
    shot = b.screenshot(tmp_path / "page.png")
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 10_000
    # (a) No console error, exception, CSP refusal or dialog (an alert from a name would be one) all along.
    assert b.problems() == []


@needs_chromium
def test_in_chromium_the_page_works_without_its_script_too(built, browser):
    """The same page with scripts off: the table in its order, a cell link shows its detail (CSS :target)."""
    _, out, _ = built
    b = browser
    b.call("Emulation.setScriptExecutionDisabled", value=True)
    try:
        b.open("about:blank")  # else the fragment alone would change: no new load
        b.open((out / "index.html").as_uri() + "#r2-gsm8k")
        visible = b.call("Runtime.evaluate", expression="1")  # evaluation still works with page scripts off
        assert visible["result"]["value"] == 1
        assert b.js("document.body.classList.contains('js')") is False
        assert b.js("getComputedStyle(document.getElementById('r2-gsm8k')).display") == "block"
        assert b.problems() == []
    finally:
        b.call("Emulation.setScriptExecutionDisabled", value=False)


@needs_chromium
def test_in_chromium_the_checks_catch_errors(browser, tmp_path):
    """The checks above can fail: a console error, an exception, a dialog and a CSP refusal are all seen."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'sha256-x' "
                   "'unsafe-eval'\"><script>alert(1)</script><img src=\"data:,\" onerror=\"alert(2)\">",
                   encoding="utf-8")
    browser.open(bad.as_uri())
    browser.js("setTimeout(() => { console.error('boom'); undefinedFunction(); }, 0); alert(3)")
    browser.js("new Promise(done => setTimeout(done, 50))")
    found = browser.problems()
    assert sum("Content Security Policy" in p for p in found) >= 1
    assert any(p.startswith("console.error") for p in found) and any(p.startswith("exception") for p in found)
    assert any(p == "dialog: 3" for p in found)


def screenshot(page: Path, png: Path, width: int = 1600, height: int = 900) -> None:
    """The page's first screen with one cell's records revealed (the docs' screenshot)."""
    b = Chromium(width, height)
    try:
        b.open(page.resolve().as_uri())
        link = "#board-main tbody tr:nth-child(5) td:nth-child(6) a"
        if b.js(f"document.querySelector({json.dumps(link)}) !== null"):
            b.click(link)
        b.js("window.scrollTo(0, 0)")
        b.screenshot(png)
        if b.problems():
            raise SystemExit(f"the page logged errors: {b.problems()}")
    finally:
        b.close()


if __name__ == "__main__":
    if CHROMIUM is None or len(sys.argv) != 3:
        raise SystemExit("usage (needs chromium): python -m tests.harness.report.test_html INDEX.html OUT.png")
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
    print("wrote", sys.argv[2])
