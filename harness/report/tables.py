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
    bold: list[bool]
    csv: dict[str, str]


def pct(x: float) -> float:
    # Round once, here, so bold (best of the rounded values) and text always agree; no negative zero.
    return round(100.0 * x, 1) + 0.0


def cell_text(cell: Cell | None, signed: bool = False) -> str:
    if cell is None:
        return NONE
    mean = pct(cell.mean)
    text = f"{mean:+.1f}" if signed else f"{mean:.1f}"
    return text if cell.stderr is None else f"{text} ± {pct(cell.stderr):.1f}"


def _num(x: float | None) -> str:
    return "" if x is None else f"{100.0 * x:.4f}"


def headers(table: Table) -> list[str]:
    return ["Base model", "Method", "Strategy", "τ", "Seeds", *(b.label for b in table.benches), table.avg_label,
            "Δ vs SFT"]


def csv_fields(table: Table) -> list[str]:
    fields = ["base_model", "method", "objective", "strategy", "tau", "variant", "source", "seeds"]
    for bench in table.benches:
        fields += [f"{table.slug(bench)}_mean", f"{table.slug(bench)}_stderr"]
    return fields + ["avg_mean", "avg_stderr", "delta_vs_sft", "delta_stderr"]


def _ours(table: Table) -> list[DisplayRow]:
    columns = [*(b.task for b in table.benches), "avg", "delta"]
    values = {col: [] for col in columns}
    for row in table.rows:
        cells = {**row.cells, "avg": row.avg, "delta": row.delta}
        for col in columns:
            if cells.get(col) is not None:
                values[col].append(pct(cells[col].mean))
    best = {col: max(v) for col, v in values.items() if len(v) >= 2}  # a lone value is not "best"
    out = []
    for row in table.rows:
        cells = {**row.cells, "avg": row.avg, "delta": row.delta}
        texts = [row.key.base, row.key.method, row.key.strategy_text, row.key.tau_text, str(row.seeds)]
        bold = [False] * 5
        for col in columns:
            cell = cells.get(col)
            texts.append(cell_text(cell, signed=col == "delta"))
            bold.append(cell is not None and pct(cell.mean) == best.get(col))
        record = {"base_model": row.key.base, "method": row.key.method, "objective": row.key.objective,
                  "strategy": row.key.strategy, "tau": "" if row.key.tau is None else row.key.tau_text,
                  "variant": row.key.variant, "source": "ours", "seeds": str(row.seeds)}
        for bench in table.benches:
            cell = row.cells.get(bench.task)
            record[f"{table.slug(bench)}_mean"] = _num(cell.mean if cell else None)
            record[f"{table.slug(bench)}_stderr"] = _num(cell.stderr if cell else None)
        for name, cell in (("avg", row.avg), ("delta", row.delta)):
            key = "delta_vs_sft" if name == "delta" else "avg_mean"
            record[key] = _num(cell.mean if cell else None)
            record[f"{name}_stderr"] = _num(cell.stderr if cell else None)
        out.append(DisplayRow(texts, bold, record))
    return out


def _reported(table: Table, base: str, rows: list[ReportedRow]) -> list[DisplayRow]:
    def avg(r: ReportedRow) -> float | None:
        if table.paper_avg:
            return float(r.avg)
        if all(b.in_paper for b in table.avg_benches):
            return sum(r.score(b.id) for b in table.avg_benches) / len(table.avg_benches)
        return None

    sft = next((r for r in rows if r.objective == "sft"), None)
    out = []
    for r in rows:
        mean = avg(r)
        delta = None if (r is sft or sft is None or mean is None) else mean - avg(sft)
        texts = [base, f"{r.method} (reported)", NONE, NONE, NONE]
        texts += [r.scores[b.id] if b.in_paper else NONE for b in table.benches]
        texts.append(NONE if mean is None else (r.avg if table.paper_avg else f"{mean:.2f}"))
        texts.append(NONE if delta is None else f"{delta + 0.0:+.2f}")
        record = {"base_model": base, "method": r.method, "objective": r.objective, "strategy": "", "tau": "",
                  "variant": "", "source": "reported", "seeds": ""}
        for bench in table.benches:
            record[f"{table.slug(bench)}_mean"] = r.scores[bench.id] if bench.in_paper else ""
            record[f"{table.slug(bench)}_stderr"] = ""
        record.update({"avg_mean": "" if mean is None else f"{mean:.4f}", "avg_stderr": "",
                       "delta_vs_sft": "" if delta is None else f"{delta:.4f}", "delta_stderr": ""})
        out.append(DisplayRow(texts, [False] * len(texts), record))
    return out


def display_rows(table: Table, reported: list[ReportedRow]) -> tuple[list[DisplayRow], bool]:
    """Our rows, each base model's group followed by the paper's rows for it; and whether any were added."""
    ours = _ours(table)
    out, added = [], False
    for i, (row, shown) in enumerate(zip(table.rows, ours)):
        out.append(shown)
        last_of_base = i + 1 == len(table.rows) or table.rows[i + 1].key.base != row.key.base
        if last_of_base and reported and any(b.in_paper for b in table.benches):
            extra = _reported(table, row.key.base, matching(row.key.base, reported))
            out.extend(extra)
            added = added or bool(extra)
    return out, added


def markdown(table: Table, rows: list[DisplayRow], footer: list[str]) -> str:
    head = headers(table)
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join([":--"] * 4 + ["--:"] * (len(head) - 4)) + "|"]
    for row in rows:
        texts = [t.replace("|", "\\|") for t in row.texts]  # a name with a pipe must not split the cell
        texts = [f"**{t}**" if b else t for t, b in zip(texts, row.bold)]
        lines.append("| " + " | ".join(texts) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {line}" for line in footer) + "\n"


def csv_text(table: Table, rows: list[DisplayRow]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_fields(table), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row.csv)
    return buf.getvalue()


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$", "τ": r"$\tau$",
          "Δ": r"$\Delta$", "–": "--", "√": r"$\surd$", "Σ": r"$\Sigma$", "²": r"$^2$", "≥": r"$\geq$",
          "'": "'"}


def latex_escape(text: str) -> str:
    escaped = "".join(_LATEX.get(ch, ch) for ch in text)
    # A negative number wants a minus sign, not a hyphen.
    return "$-$" + escaped[1:] if text[:1] == "-" and text[1:2].isdigit() else escaped


def latex(table: Table, rows: list[DisplayRow], footer: list[str]) -> str:
    head = headers(table)
    lines = ["% Generated by `profit report` from the results store; regenerate rather than edit.",
             "% Needs \\usepackage{booktabs}.",
             r"\begin{table}[t]", r"\centering", r"\small",
             r"\begin{tabular}{llll" + "r" * (len(head) - 4) + "}", r"\toprule",
             " & ".join(latex_escape(h) for h in head) + r" \\", r"\midrule"]
    previous = None
    for row in rows:
        if previous is not None and row.texts[0] != previous:
            lines.append(r"\midrule")
        previous = row.texts[0]
        texts = [rf"\textbf{{{latex_escape(t)}}}" if b else latex_escape(t) for t, b in zip(row.texts, row.bold)]
        lines.append(" & ".join(texts) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip\footnotesize"]
    lines += [latex_escape(line) + r"\par" for line in footer]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
