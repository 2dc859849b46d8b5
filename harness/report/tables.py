"""The leaderboard as Markdown, CSV and LaTeX, from one list of display rows so the three always agree."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from harness.report.aggregate import Cell, Table
from harness.report.reported import ReportedRow, matching
from harness.report.rows import NONE


@dataclass
class DisplayRow:
    texts: list[str]
    csv: dict[str, str]


def pct(x: float) -> float:
    # Round once, here, so text and CSV-derived displays agree; no negative zero.
    return round(100.0 * x, 1) + 0.0


def cell_text(cell: Cell | None, signed: bool = False, marker: str = "") -> str:
    """`mean ± se` in %, the per-seed range when the cell pools several seeds, and a mark when the cell differs
    from SFT's at p < 0.05 (seeds and questions; significance.csv)."""
    if cell is None:
        return NONE
    mean = pct(cell.mean)
    text = f"{mean:+.1f}" if signed else f"{mean:.1f}"
    if cell.stderr is not None:
        text += f" ± {pct(cell.stderr):.1f}"
    if len(cell.values) >= 2:
        text += f" [{pct(min(cell.values)):.1f}–{pct(max(cell.values)):.1f}]"
    return text + marker


def _num(x: float | None) -> str:
    return "" if x is None else f"{100.0 * x:.4f}"


def with_settings(table: Table) -> bool:
    """Whether rows of a base differ in training settings (rows.py's `variant`): then a Setting column names them."""
    return any(row.key.variant for row in table.rows)


def headers(table: Table, benches: list, with_avg: bool) -> list[str]:
    return ["Base model", "Method", "Strategy", "τ", *(["Setting"] if with_settings(table) else []), "Seeds",
            *(b.label for b in benches), *([table.avg_label, "Δ vs SFT"] if with_avg else [])]


def _text_columns(head: list[str]) -> list[bool]:
    """Left-aligned columns: the method's identity (and the setting); numbers right."""
    return [i < 4 or h == "Setting" for i, h in enumerate(head)]


def csv_fields(table: Table) -> list[str]:
    fields = ["base_model", "method", "objective", "strategy", "tau", "variant", "source", "seeds"]
    for bench in table.benches:
        slug = table.slug(bench)
        fields += [f"{slug}_mean", f"{slug}_stderr", f"{slug}_seeds", f"{slug}_questions"]
    return fields + ["avg_mean", "avg_stderr", "delta_vs_sft", "delta_stderr"]


# p < 0.05 against SFT on the same base (seeds and questions; significance.csv): above or below it.
MARKERS = {1: " ▲", -1: " ▼"}


def _ours(table: Table, benches: list, with_avg: bool, significant: dict) -> list[DisplayRow]:
    out, settings = [], with_settings(table)
    for row in table.rows:
        texts = [row.key.base, row.key.method, row.key.strategy_text, row.key.tau_text,
                 *([row.key.variant or NONE] if settings else []), str(row.seeds)]
        texts += [cell_text(row.cells.get(b.task), marker=MARKERS.get(significant.get((row.key, b.task)), ""))
                  for b in benches]
        if with_avg:
            texts += [cell_text(row.avg), cell_text(row.delta, signed=True)]
        record = {"base_model": row.key.base, "method": row.key.method, "objective": row.key.objective,
                  "strategy": row.key.strategy, "tau": "" if row.key.tau is None else row.key.tau_text,
                  "variant": row.key.variant, "source": "ours", "seeds": str(row.seeds)}
        for bench in table.benches:
            cell, slug = row.cells.get(bench.task), table.slug(bench)
            record[f"{slug}_mean"] = _num(cell.mean if cell else None)
            record[f"{slug}_stderr"] = _num(cell.stderr if cell else None)
            record[f"{slug}_seeds"] = ";".join(_num(v) for v in cell.values) if cell else ""
            record[f"{slug}_questions"] = str(table.partial.get(bench.task, "all")) if cell else ""
        for name, cell in (("avg", row.avg), ("delta", row.delta)):
            key = "delta_vs_sft" if name == "delta" else "avg_mean"
            record[key] = _num(cell.mean if cell else None)
            record[f"{name}_stderr"] = _num(cell.stderr if cell else None)
        out.append(DisplayRow(texts, record))
    return out


def _reported(table: Table, base: str, rows: list[ReportedRow]) -> list[DisplayRow]:
    """The paper's rows for a base, in the main table's columns (the paper's five, and its Avg when ours has it)."""
    sft = next((r for r in rows if r.objective == "sft"), None)
    out, setting = [], [NONE] if with_settings(table) else []
    for r in rows:
        mean = float(r.avg)
        delta = None if (r is sft or sft is None) else mean - float(sft.avg)
        texts = [base, f"{r.method} (reported)", NONE, NONE, *setting, NONE]
        texts += [r.scores[b.id] if b.in_paper else NONE for b in table.main]
        if table.paper_avg:
            texts += [r.avg, NONE if delta is None else f"{delta + 0.0:+.2f}"]
        record = {"base_model": base, "method": r.method, "objective": r.objective, "strategy": "", "tau": "",
                  "variant": "", "source": "reported", "seeds": ""}
        for bench in table.benches:
            slug = table.slug(bench)
            record[f"{slug}_mean"] = r.scores[bench.id] if bench.in_paper else ""
            record.update({f"{slug}_stderr": "", f"{slug}_seeds": "", f"{slug}_questions": ""})
        record.update({"avg_mean": f"{mean:.4f}", "avg_stderr": "",
                       "delta_vs_sft": "" if delta is None else f"{delta:.4f}", "delta_stderr": ""})
        out.append(DisplayRow(texts, record))
    return out


def display_rows(table: Table, reported: list[ReportedRow], significant: dict | None = None
                 ) -> tuple[list[DisplayRow], list[DisplayRow], bool]:
    """The main table's rows (full benchmarks; each base's group followed by the paper's rows for it), the smoke
    table's rows (columns scored on a slice: no Avg, no Δ, no marks), and whether paper rows were added."""
    significant = significant or {}
    main = _ours(table, table.main, table.paper_avg, significant)
    out, added = [], False
    for i, (row, shown) in enumerate(zip(table.rows, main)):
        out.append(shown)
        last_of_base = i + 1 == len(table.rows) or table.rows[i + 1].key.base != row.key.base
        if last_of_base and reported and any(b.in_paper for b in table.main):
            extra = _reported(table, row.key.base, matching(row.key.base, reported))
            out.extend(extra)
            added = added or bool(extra)
    smoke = _ours(table, table.smoke, False, {}) if table.smoke else []
    return out, smoke, added


@dataclass
class Section:
    """A table of its own below the leaderboard: a bold title, a header, rows."""

    title: str
    head: list[str]
    rows: list[DisplayRow]


def best_section(table: Table, best: list, held_out: str, significant: dict) -> Section:
    """Each method at its best setting (best.py): the setting chosen, how many were tried, the held-out score that
    chose it, then its scores on every other column, marked against SFT at its own best setting."""
    label = next((r.bench.label for b in best for rs in b.row.results.values() for r in rs
                  if r.bench.task == held_out), held_out)
    head = ["Base model", "Method", "Strategy", "τ", "Setting", "Tried", "Seeds", f"{label} (selection)",
            *(b.label for b in table.main)]
    rows = []
    for b in best:
        row = b.row
        texts = [row.key.base, row.key.method, row.key.strategy_text, row.key.tau_text, row.key.variant or NONE,
                 str(b.settings), str(row.seeds), cell_text(b.selection)]
        texts += [cell_text(row.cells.get(bench.task), marker=MARKERS.get(significant.get((row.key, bench.task)), ""))
                  for bench in table.main]
        rows.append(DisplayRow(texts, {}))
    title = (f"Each method at its own best setting, chosen on {label} (held-out questions, never the test split); "
             "▲ / ▼ against SFT at its best setting.")
    return Section(title, head, rows)


def _md_table(head: list[str], rows: list[DisplayRow]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(":--" if t else "--:" for t in _text_columns(head)) + "|"]
    for row in rows:
        texts = [t.replace("|", "\\|") for t in row.texts]  # a name with a pipe must not split the cell
        lines.append("| " + " | ".join(texts) + " |")
    return lines


def smoke_title(table: Table) -> str:
    sizes = ", ".join(f"{b.label} {table.partial[b.task]}" for b in table.smoke)
    return (f"Smoke test, not a measurement: these benchmarks were scored on a slice ({sizes} questions) to check "
            "that their task definitions run end to end; their differences are noise. No average, no comparison.")


def markdown(table: Table, rows: list[DisplayRow], smoke: list[DisplayRow], footer: list[str],
             sections: list[Section] = ()) -> str:
    lines = _md_table(headers(table, table.main, table.paper_avg), rows) if table.main else []
    for section in sections:
        lines += ([""] if lines else []) + [f"**{section.title}**", ""] + _md_table(section.head, section.rows)
    if smoke:
        lines += ([""] if lines else []) + [f"**{smoke_title(table)}**", ""]
        lines += _md_table(headers(table, table.smoke, False), smoke)
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {line}" for line in footer) + "\n"


def csv_text(table: Table, rows: list[DisplayRow], smoke: list[DisplayRow]) -> str:
    """One row per row of the main table (its CSV row holds every column, slices included: `<bench>_questions`
    says which were); smoke rows add nothing a main row does not already hold."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_fields(table), lineterminator="\n")
    writer.writeheader()
    for row in rows or smoke:
        writer.writerow(row.csv)
    return buf.getvalue()


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$", "τ": r"$\tau$",
          "Δ": r"$\Delta$", "–": "--", "√": r"$\surd$", "Σ": r"$\Sigma$", "²": r"$^2$", "≥": r"$\geq$",
          "'": "'", "▲": r"$\blacktriangle$", "▼": r"$\blacktriangledown$"}


def latex_escape(text: str) -> str:
    escaped = "".join(_LATEX.get(ch, ch) for ch in text)
    # A negative number wants a minus sign, not a hyphen.
    return "$-$" + escaped[1:] if text[:1] == "-" and text[1:2].isdigit() else escaped


def _latex_tabular(head: list[str], rows: list[DisplayRow]) -> list[str]:
    lines = [r"\begin{tabular}{" + "".join("l" if t else "r" for t in _text_columns(head)) + "}", r"\toprule",
             " & ".join(latex_escape(h) for h in head) + r" \\", r"\midrule"]
    previous = None
    for row in rows:
        if previous is not None and row.texts[0] != previous:
            lines.append(r"\midrule")
        previous = row.texts[0]
        lines.append(" & ".join(latex_escape(t) for t in row.texts) + r" \\")
    return lines + [r"\bottomrule", r"\end{tabular}"]


def latex(table: Table, rows: list[DisplayRow], smoke: list[DisplayRow], footer: list[str],
          sections: list[Section] = ()) -> str:
    lines = ["% Generated by `profit report` from the results store; regenerate rather than edit.",
             "% Needs \\usepackage{booktabs}.", r"\begin{table}[t]", r"\centering", r"\small"]
    if table.main:
        lines += _latex_tabular(headers(table, table.main, table.paper_avg), rows)
    for section in sections:
        lines += [r"\par\medskip", latex_escape(section.title) + r"\par\smallskip"]
        lines += _latex_tabular(section.head, section.rows)
    if smoke:
        lines += [r"\par\medskip", latex_escape(smoke_title(table)) + r"\par\smallskip"]
        lines += _latex_tabular(headers(table, table.smoke, False), smoke)
    lines += [r"\par\smallskip\footnotesize"]
    lines += [latex_escape(line) + r"\par" for line in footer]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
