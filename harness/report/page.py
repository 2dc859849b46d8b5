"""index.html: the leaderboard as one self-contained page, from the same display rows as leaderboard.md.

The page holds the main table, the best-setting table (--select-on) and the smoke table with the exact cell texts
of leaderboard.md, sortable by any column and filterable by base model, method and benchmark; every cell reveals
the records behind it (files under store/records/, sampling, questions, seeds, versions); the plots are embedded as
base64 PNGs and the footer notes follow. Nothing is loaded from anywhere: no network, no external script or style
(a Content-Security-Policy says so to the browser, and allows only this page's own script and style by hash), and
every text from the store is HTML-escaped. The same store gives the same bytes: no time stamp, stable order.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections import defaultdict
from pathlib import Path

from harness.report.aggregate import Cell, Row, Table
from harness.report.benchmarks import Benchmark
from harness.report.reported import CITATION
from harness.report.rows import NONE
from harness.report.store import Result
from harness.report.tables import DisplayRow, Section, cell_text, headers, smoke_title
from profit_core.files import canonical_json

_TEXT_COLUMNS = {"Base model", "Method", "Strategy", "Setting"}  # sorted as text; every other column by number
_ROW_COLUMNS = {"Base model", "Method", "Strategy", "τ", "Seeds", "Setting", "Tried"}  # link to the row's details
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_PLOT_TEXT = {"acc_vs_tau_avg": "Avg accuracy against τ", "acc_vs_tau_": "accuracy against τ on ",
              "higher_vs_lower": "keep p ≤ τ against keep p ≥ τ (the paper's Fig. 4)",
              "training_curves": "loss and kept fraction per training step",
              "token_p_hist": "p of core and trivial tokens, and the share the gate keeps per τ"}

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1em 1.5em;color:#111;background:#fff}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}
table.board{border-collapse:collapse;margin:.3em 0}
.board th,.board td{border-bottom:1px solid #ddd;padding:.2em .55em;white-space:nowrap}
.board td.n{text-align:right;font-variant-numeric:tabular-nums}
.board thead th{position:sticky;top:0;background:#f3f3f3}
.board th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer}
.board th[aria-sort=ascending] button::after{content:" \\25B2"}
.board th[aria-sort=descending] button::after{content:" \\25BC"}
.board tr.reported td{color:#555;font-style:italic}
.board a{color:inherit;text-decoration:none;border-bottom:1px dotted #999}
.board a.on{background:#ffe9a8}
.smoke{border-left:4px solid #c90;padding-left:.8em}.smoke p.warn{font-weight:600;max-width:70em}
fieldset{display:inline-block;vertical-align:top;margin:0 .6em .4em 0;border:1px solid #ccc}
label{margin-right:.7em;white-space:nowrap}
.detail{display:none}.detail:target,.detail.open{display:block}
.detail table{border-collapse:collapse}.detail td,.detail th{border:1px solid #ddd;padding:.1em .4em;text-align:left}
.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em .8em}.detail dt{font-weight:600}
.detail dd{margin:0}.detail h3{margin:.3em 0}
body.js #details{position:fixed;right:1em;bottom:1em;width:min(52em,calc(100% - 3em));max-height:62vh;
overflow:auto;background:#fff;border:1px solid #888;box-shadow:0 2px 12px #0004;padding:.3em 1em;display:none}
body.js #details.open{display:block}#details-close{float:right}
body:not(.js) #details-close{display:none}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#444}
.notes li{margin:.15em 0;max-width:90em}
"""

_SCRIPT = """
(function () {
  "use strict";
  document.body.classList.add("js");
  var boards = Array.prototype.slice.call(document.querySelectorAll("table.board"));
  var controls = document.getElementById("controls");
  var panel = document.getElementById("details");
  function value(td, kind) {
    var v = td.getAttribute("data-v");
    if (v === null) { return null; }
    if (kind === "text") { return v; }
    var x = parseFloat(v);
    return isNaN(x) ? null : x;
  }
  function order(table, th) {
    var kind = th.getAttribute("data-kind");
    var now = th.getAttribute("aria-sort");
    var dir = now === "descending" ? "ascending" : now === "ascending" ? "descending" :
      (kind === "num" ? "descending" : "ascending");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", dir);
    var sign = dir === "ascending" ? 1 : -1;
    var col = th.cellIndex;
    var body = table.tBodies[0];
    var keyed = Array.prototype.map.call(body.rows, function (tr) {
      return {tr: tr, i: Number(tr.getAttribute("data-i")), v: value(tr.cells[col], kind)};
    });
    keyed.sort(function (a, b) {
      if (a.v === null || b.v === null) {
        return a.v === b.v ? a.i - b.i : (a.v === null ? 1 : -1);
      }
      var c = kind === "num" ? a.v - b.v : a.v.localeCompare(b.v, "en");
      return c !== 0 ? sign * c : a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.tr); });
  }
  function unsort(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.setAttribute("aria-sort", "none"); });
    var body = table.tBodies[0];
    Array.prototype.slice.call(body.rows).sort(function (a, b) {
      return Number(a.getAttribute("data-i")) - Number(b.getAttribute("data-i"));
    }).forEach(function (tr) { body.appendChild(tr); });
  }
  function apply() {
    var off = {base: new Set(), method: new Set(), col: new Set()};
    controls.querySelectorAll("input[data-filter]").forEach(function (box) {
      if (!box.checked) { off[box.getAttribute("data-filter")].add(box.value); }
    });
    boards.forEach(function (table) {
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
        tr.hidden = off.base.has(tr.getAttribute("data-base")) || off.method.has(tr.getAttribute("data-method"));
        shown += tr.hidden ? 0 : 1;
      });
      table.querySelectorAll("[data-col]").forEach(function (c) {
        c.hidden = off.col.has(c.getAttribute("data-col"));
      });
      var count = document.getElementById(table.id + "-count");
      if (count) { count.textContent = shown + " of " + table.tBodies[0].rows.length + " rows shown"; }
    });
  }
  boards.forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.querySelector("button").addEventListener("click", function () { order(table, th); });
    });
  });
  controls.addEventListener("change", apply);
  document.getElementById("reset").addEventListener("click", function () {
    controls.querySelectorAll("input[data-filter]").forEach(function (box) { box.checked = true; });
    boards.forEach(unsort);
    apply();
  });
  function close() {
    panel.classList.remove("open");
    document.querySelectorAll(".detail.open, a.on").forEach(function (e) { e.classList.remove("open", "on"); });
  }
  document.getElementById("details-close").addEventListener("click", close);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { close(); } });
  document.addEventListener("click", function (e) {
    var a = e.target.closest("a.cell");
    var target = a && document.getElementById(a.getAttribute("href").slice(1));
    if (!target) { return; }
    e.preventDefault();
    close();
    target.classList.add("open");
    panel.classList.add("open");
    if (a.closest("table.board")) { a.classList.add("on"); }
  });
  apply();
}());
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _pct(x: float | None, digits: int = 4) -> str:
    return NONE if x is None else f"{100.0 * x:.{digits}f}"


def _sort_number(text: str, cell: Cell | None) -> str | None:
    """A numeric column's sort key: the cell's unrounded mean in %, else the number the text starts with."""
    if cell is not None:
        return f"{100.0 * cell.mean:.6f}"
    found = _NUMBER.match(text)
    return found.group(0) if found else None


class _Page:
    """Builds the page; detail sections are keyed by (table row, column) so every table's cell links to one."""

    def __init__(self, table: Table):
        self.table = table
        self.index = {row.key: i for i, row in enumerate(table.rows)}
        self.by_label = {}
        for bench in table.benches:
            self.by_label.setdefault(bench.label, bench)

    def columns(self, head: list[str], benches: list[Benchmark] | None = None) -> list[Benchmark | None]:
        """The benchmark of each column: `benches` after the row columns, else found by header label."""
        if benches:
            lead = head.index(benches[0].label)
            return [None] * lead + list(benches) + [None] * (len(head) - lead - len(benches))
        return [self.by_label.get(h.removesuffix(" (selection)")) for h in head]

    # -- tables --------------------------------------------------------------------------------------------------

    def board(self, ident: str, head: list[str], rows: list[tuple[DisplayRow, Row | None]],
              benches: list[Benchmark] | None = None) -> str:
        cols = self.columns(head, benches)
        keys = [None if b is None else "b-" + self.table.slug(b) for b in cols]
        kinds = ["text" if h in _TEXT_COLUMNS else "num" for h in head]
        out = [f'<table class="board" id="{ident}"><thead><tr>']
        for h, key, kind in zip(head, keys, kinds):
            col = f' data-col="{_e(key)}"' if key else ""
            out.append(f'<th data-kind="{kind}" aria-sort="none"{col}><button type="button">{_e(h)}</button></th>')
        out.append("</tr></thead><tbody>")
        for i, (shown, row) in enumerate(rows):
            reported = shown.csv.get("source") == "reported"
            method = "reported" if reported else (row.key.method if row else shown.texts[1])
            out.append(f'<tr data-i="{i}" data-base="{_e(shown.texts[0])}" data-method="{_e(method)}"'
                       + (' class="reported"' if reported else "") + ">")
            for j, (text, h, bench, key, kind) in enumerate(zip(shown.texts, head, cols, keys, kinds)):
                out.append(self.td(text, h, bench, key, kind, j, row, reported))
            out.append("</tr>")
        out.append("</tbody></table>")
        out.append(f'<p class="count" id="{ident}-count">{len(rows)} rows</p>')
        return "".join(out)

    def td(self, text: str, head: str, bench: Benchmark | None, key: str | None, kind: str, j: int,
           row: Row | None, reported: bool) -> str:
        cell, target = None, None
        if row is not None:
            i = self.index[row.key]
            if bench is not None and bench.task in row.cells:
                cell, target = row.cells[bench.task], f"r{i}-{self.table.slug(bench)}"
            elif head == self.table.avg_label and row.avg is not None:
                cell, target = row.avg, f"r{i}-avg"
            elif head == "Δ vs SFT" and row.delta is not None:
                cell, target = row.delta, f"r{i}-delta"
            elif head in _ROW_COLUMNS:
                target = f"r{i}"
        elif reported and j == 1:
            target = "reported"
        if kind == "text":
            sort = None if text == NONE else text
        else:
            sort = _sort_number(text, cell)
        attrs = (f' data-col="{_e(key)}"' if key else "") + (f' data-v="{_e(sort)}"' if sort is not None else "")
        attrs += ' class="n"' if kind == "num" else ""
        inner = _e(text) if target is None else f'<a class="cell" href="#{target}">{_e(text)}</a>'
        return f"<td{attrs}>{inner}</td>"

    # -- details -------------------------------------------------------------------------------------------------

    def details(self) -> str:
        out = []
        for i, row in enumerate(self.table.rows):
            out.append(self.row_detail(i, row))
            for bench in self.table.benches:
                if bench.task in row.cells:
                    out.append(self.cell_detail(i, row, bench))
            if row.avg is not None:
                out.append(self.avg_detail(i, row))
            if row.delta is not None:
                out.append(self.delta_detail(i, row))
        out.append(f'<section class="detail" id="reported"><h3>Reported rows</h3><p>{_e(CITATION)}, numbers as '
                   "printed (no error bars given); Δ vs SFT recomputed from the printed Avg. Not measured here.</p>"
                   "</section>")
        return "".join(out)

    def title(self, row: Row) -> str:
        parts = [row.key.base, row.key.method]
        if row.key.strategy:
            parts.append(f"{row.key.strategy} τ={row.key.tau_text}")
        if row.key.variant:
            parts.append(row.key.variant)
        return " / ".join(parts)

    def row_detail(self, i: int, row: Row) -> str:
        results = [r for rs in row.results.values() for r in rs]
        checkpoints: dict[str, list[Result]] = defaultdict(list)
        for r in results:
            checkpoints[r.content_hash].append(r)
        ref = self.table.rows[self.index[row.ref]] if row.ref in self.index else None
        items = [("Objective", row.key.objective), ("Strategy, τ", f"{row.key.strategy_text}, {row.key.tau_text}"),
                 ("Training settings that set this row apart", row.key.variant or "none (every run of the base "
                  "shares them)"),
                 ("Seeds", f"{row.seeds} (records pooled in the row's fullest cell)"),
                 ("Kept token fraction (mean over checkpoints)",
                  NONE if row.kept_fraction is None else f"{row.kept_fraction:.4f}"),
                 ("Compared with (Δ vs SFT, ▲ / ▼)", NONE if ref is None else self.title(ref))]
        body = ["<tr><th>checkpoint</th><th>content hash</th><th>training seed</th><th>records</th></tr>"]
        for content_hash, rs in sorted(checkpoints.items(), key=lambda kv: (str(kv[1][0].train_seed), kv[0])):
            body.append(f"<tr><td>{_e(rs[0].label)}</td><td>{_e(content_hash[:16])}</td>"
                        f"<td>{_e(rs[0].train_seed)}</td><td>{len(rs)}</td></tr>")
        return (f'<section class="detail" id="r{i}"><h3>{_e(self.title(row))}</h3>{_dl(items)}'
                f'<table>{"".join(body)}</table></section>')

    def cell_detail(self, i: int, row: Row, bench) -> str:
        cell, results = row.cells[bench.task], row.results[bench.task]
        ordered = sorted(results, key=lambda r: (str(r.train_seed), str(r.eval_seed), r.content_hash))
        if cell.across_seeds:
            spread = (f"standard error across the {cell.n} records (std / √n); per record: "
                      + ", ".join(_pct(v, 2) for v in cell.values))
        else:
            spread = "one record: the evaluator's item-level standard error"
        questions = sorted({(r.n_scored, r.n_docs, str(r.limit)) for r in results}, key=str)
        items = [("Cell", f"{cell_text(cell)} (mean {_pct(cell.mean)} %; ± {_pct(cell.stderr)}: {spread})"),
                 ("Task", f"{bench.task} ({bench.label}), version "
                          + " / ".join(sorted({str(r.task_version) for r in results}))),
                 ("Questions scored", "; ".join(f"{s if s is not None else '?'} of {d if d is not None else '?'}"
                                                + ("" if lim == "None" else f" (limit {lim})")
                                                for s, d, lim in questions)
                  + (" — a slice: smoke test, not a measurement" if bench.task in self.table.partial else "")),
                 ("Sampling", "; ".join(sorted({_sampling(r.sampling) for r in results}))),
                 ("Versions (evaluation)", _versions([r.versions for r in results])
                  + f"; harness {' / '.join(sorted({r.harness_version or '?' for r in results}))}"
                  + f"; backend {' / '.join(sorted({r.backend or '?' for r in results}))}"),
                 ("Versions (training)", _versions([r.run_versions for r in results if r.run_versions])),
                 ("Chat template sha256", " / ".join(sorted({(r.chat_template or "none recorded")[:12]
                                                             for r in results}))),
                 ("Hardware", " / ".join(sorted({str(r.hardware.get("gpu") or r.hardware.get("cpu")
                                                     or "not recorded") for r in results})))]
        body = ["<tr><th>record file (in the store)</th><th>checkpoint</th><th>training seed</th><th>eval seed</th>"
                "<th>score %</th><th>item stderr %</th><th>questions</th><th>created</th></tr>"]
        for r in ordered:
            body.append(f"<tr><td>{_e(r.file)}</td><td>{_e(r.label)}</td><td>{_e(r.train_seed)}</td>"
                        f"<td>{_e(r.eval_seed)}</td><td>{_pct(r.value)}</td><td>{_pct(r.stderr)}</td>"
                        f"<td>{_e(r.n_scored)}</td><td>{_e(r.created)}</td></tr>")
        return (f'<section class="detail" id="r{i}-{_e(self.table.slug(bench))}"><h3>{_e(self.title(row))} — '
                f'{_e(bench.label)}</h3>{_dl(items[:1])}<table>{"".join(body)}</table>{_dl(items[1:])}'
                f'<p>The row: <a class="cell" href="#r{i}">its checkpoints</a>.</p></section>')

    def avg_detail(self, i: int, row: Row) -> str:
        parts = [f'<a class="cell" href="#r{i}-{_e(self.table.slug(b))}">{_e(b.label)} '
                 f"{_e(cell_text(row.cells[b.task]))}</a>" for b in self.table.avg_benches]
        return (f'<section class="detail" id="r{i}-avg"><h3>{_e(self.title(row))} — '
                f"{_e(self.table.avg_label)}</h3><p>{_e(cell_text(row.avg))}: the unweighted mean of "
                f"{', '.join(parts)}; ± = √(Σ se²)/{len(parts)}. Mean {_pct(row.avg.mean)} %.</p></section>")

    def delta_detail(self, i: int, row: Row) -> str:
        j = self.index[row.ref]
        ref = self.table.rows[j]
        return (f'<section class="detail" id="r{i}-delta"><h3>{_e(self.title(row))} — Δ vs SFT</h3>'
                f'<p>{_e(cell_text(row.delta, signed=True))}: <a class="cell" href="#r{i}-avg">this row\'s Avg</a> '
                f'minus <a class="cell" href="#r{j}-avg">the Avg of {_e(self.title(ref))}</a>; '
                f"± = √(se² + se_SFT²). Difference {_pct(row.delta.mean)} points.</p></section>")


def _dl(items: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _sampling(sampling: dict) -> str:
    return ", ".join(f"{k} {v if isinstance(v, (str, int, float)) or v is None else canonical_json(v)}"
                     for k, v in sorted(sampling.items())) or "not recorded"


def _versions(dicts: list[dict]) -> str:
    seen: dict[str, set] = defaultdict(set)
    for d in dicts:
        for name, version in d.items():
            seen[str(name)].add(str(version))
    return ", ".join(f"{name} {' / '.join(sorted(seen[name]))}" for name in sorted(seen)) or "not recorded"


def _checkboxes(name: str, legend: str, values: list[tuple[str, str]]) -> str:
    boxes = "".join(f'<label><input type="checkbox" data-filter="{name}" value="{_e(value)}" checked> '
                    f"{_e(text)}</label>" for value, text in values)
    return f"<fieldset><legend>{_e(legend)}</legend>{boxes}</fieldset>"


def _plot(path: Path, labels: dict[str, str]) -> str:
    stem = path.stem
    what = next((text + (labels.get(stem.removeprefix(prefix), stem.removeprefix(prefix))
                         if prefix == "acc_vs_tau_" else "")
                 for prefix, text in _PLOT_TEXT.items() if stem.startswith(prefix)), stem)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    csv = path.with_suffix(".csv")
    numbers = f"; numbers: plots/{_e(csv.name)}" if csv.is_file() else ""
    return (f'<figure id="plot-{_e(stem)}"><img alt="{_e(what)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(what)} (plots/{_e(path.name)}{numbers})</figcaption></figure>")


def page_html(table: Table, shown: list[DisplayRow], smoke: list[DisplayRow], footer: list[str],
              sections: list[Section] = (), pngs: list[Path] = ()) -> str:
    """The page for tables.display_rows' main and smoke rows, the extra sections and the footer lines of
    leaderboard.md; `pngs` are embedded in the order given."""
    page = _Page(table)
    ours = iter(table.rows)
    main_rows = [(d, None if d.csv.get("source") == "reported" else next(ours)) for d in shown]
    rows_by_text = {(r.key.base, r.key.method, r.key.strategy_text, r.key.tau_text, r.key.variant or NONE): r
                    for r in table.rows}

    bases = list(dict.fromkeys(row.key.base for row in table.rows))
    methods = [(m, m) for m in dict.fromkeys(row.key.method for row in table.rows)]
    if any(d.csv.get("source") == "reported" for d in shown):
        methods.append(("reported", "the paper's reported rows"))
    columns = [("b-" + table.slug(b), b.label + (" (slice)" if b.task in table.partial else ""))
               for b in table.benches]
    body = ['<header><h1>Leaderboard</h1><p>Generated by <code>profit report</code> from the results store '
            f"({_e(sum(len(rs) for row in table.rows for rs in row.results.values()))} records, sampling preset "
            f"{_e(table.preset or 'not recorded')}); the same store gives the same page. Files beside this page: "
            '<a href="leaderboard.md">leaderboard.md</a>, <a href="leaderboard.csv">.csv</a>, '
            '<a href="leaderboard.tex">.tex</a>, <a href="significance.csv">significance.csv</a>. '
            "Click a column header to sort (numbers by their mean; again to reverse), a cell for the records "
            "behind it.</p></header>",
            '<div id="controls">',
            _checkboxes("base", "Base model (rows)", [(b, b) for b in bases]),
            _checkboxes("method", "Method (rows)", methods),
            _checkboxes("col", "Benchmark (columns)", columns),
            '<button type="button" id="reset">Reset order and filters</button></div>']
    if table.main:
        body.append('<section id="main"><h2>Benchmarks scored in full</h2>'
                    + page.board("board-main", headers(table, table.main, table.paper_avg), main_rows,
                                 table.main)
                    + "</section>")
    for k, section in enumerate(sections):
        rows = [(d, rows_by_text.get(tuple(d.texts[:5]))) for d in section.rows]
        body.append(f'<section id="section-{k}"><h2>{_e(section.title)}</h2>'
                    + page.board(f"board-section-{k}", section.head, rows) + "</section>")
    if smoke:
        body.append('<section id="smoke" class="smoke"><h2>Smoke test: benchmarks scored on a slice (not a '
                    f'measurement)</h2><p class="warn">{_e(smoke_title(table))}</p>'
                    + page.board("board-smoke", headers(table, table.smoke, False), list(zip(smoke, table.rows)),
                                 table.smoke)
                    + "</section>")
    body.append('<aside id="details"><button type="button" id="details-close">close</button>'
                "<h2>Behind the cell</h2>" + page.details() + "</aside>")
    if pngs:
        labels = {table.slug(b): b.label for b in table.benches}
        body.append('<section id="plots"><h2>Plots</h2>' + "".join(_plot(Path(p), labels) for p in pngs)
                    + "</section>")
    body.append('<section id="notes"><h2>Notes</h2><ul class="notes">'
                + "".join(f"<li>{_e(line)}</li>" for line in footer) + "</ul></section>")
    csp = (f"default-src 'none'; img-src data:; style-src {_csp_hash(_STYLE)}; script-src {_csp_hash(_SCRIPT)}; "
           "base-uri 'none'; form-action 'none'")
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Leaderboard</title><style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{_SCRIPT}</script>\n</body></html>\n")
