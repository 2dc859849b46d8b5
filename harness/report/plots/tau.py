"""Accuracy against the ProFit threshold τ: one figure per benchmark and for Avg, and the paper's Fig. 4."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from harness.report.aggregate import Cell, Row, Table
from harness.report.benchmarks import Benchmark
from harness.report.plots.canvas import COLORS, figure, write_csv

STRATEGIES = ("higher", "lower")  # τ means a probability bound only for these two
_STRATEGY_TEXT = {"higher": "keep p ≥ τ (higher)", "lower": "keep p ≤ τ (lower)"}
REFERENCES = ("sft", "dft", "base")
_REF_STYLE = {"sft": ("SFT", "#000000"), "dft": ("DFT", "#7f7f7f"), "base": ("base", "#8c564b")}
TAU_FIELDS = ["base_model", "variant", "series", "strategy", "tau", "mean", "stderr", "kept_fraction", "best"]
FIG4_FIELDS = ["base_model", "variant", "strategy", "benchmark", "tau", "mean", "stderr", "sft_mean"]


def _pct(x: float | None) -> float | None:
    # The CSV and the figure get the same rounded numbers.
    return None if x is None else round(100.0 * x, 4) + 0.0


def panels(table: Table) -> dict[tuple[str, str], list[Row]]:
    """(base model, variant) -> its ProFit rows with a τ bound, sorted by τ; only pairs that have any."""
    out: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in table.rows:
        if row.key.objective == "profit" and row.key.strategy in STRATEGIES:
            out[(row.key.base, row.key.variant)].append(row)
    return {k: sorted(v, key=lambda r: r.key.tau) for k, v in sorted(out.items())}


def _references(table: Table, base: str, variant: str) -> list[Row]:
    refs = []
    for objective in REFERENCES:
        same = [r for r in table.rows if r.key.base == base and r.key.objective == objective]
        pick = [r for r in same if r.key.variant == variant] or [r for r in same if r.key.variant == ""]
        refs.extend(pick[:1])
    return refs


def tidy(table: Table, value: Callable[[Row], Cell | None]) -> list[dict]:
    """Rows of one accuracy-vs-τ figure: the τ series, then the reference lines (tau empty)."""
    out = []
    for (base, variant), rows in panels(table).items():
        for strategy in STRATEGIES:
            points = [(r, value(r)) for r in rows if r.key.strategy == strategy and value(r) is not None]
            if not points:
                continue
            best = max(points, key=lambda p: (p[1].mean, -p[0].key.tau))[0]
            for r, cell in points:
                out.append({"base_model": base, "variant": variant, "series": "profit", "strategy": strategy,
                            "tau": r.key.tau, "mean": _pct(cell.mean), "stderr": _pct(cell.stderr),
                            "kept_fraction": _pct(r.kept_fraction), "best": int(r is best)})
        for ref in _references(table, base, variant):
            cell = value(ref)
            if cell is not None:
                out.append({"base_model": base, "variant": variant, "series": ref.key.objective, "strategy": "",
                            "tau": None, "mean": _pct(cell.mean), "stderr": _pct(cell.stderr),
                            "kept_fraction": None, "best": 0})
    return out


def _log_x(taus: list[float]) -> bool:
    return bool(taus) and min(taus) > 0 and max(taus) / min(taus) >= 100


def draw_acc_vs_tau(rows: list[dict], title: str, path: Path) -> None:
    groups = sorted({(r["base_model"], r["variant"]) for r in rows})
    ncols = min(len(groups), 3)
    nrows = -(-len(groups) // ncols)
    with figure(path, ncols=ncols, nrows=nrows, panel=(3.8, 2.8), right=0.7, bottom=1.15, wgap=1.4,
                hgap=1.6) as (_, axes):
        flat = [ax for row in axes for ax in row]
        for ax in flat[len(groups):]:
            ax.set_visible(False)
        for ax, (base, variant) in zip(flat, groups):
            mine = [r for r in rows if (r["base_model"], r["variant"]) == (base, variant)]
            kept_ax = None
            for i, strategy in enumerate(STRATEGIES):
                pts = [r for r in mine if r["series"] == "profit" and r["strategy"] == strategy]
                if not pts:
                    continue
                color = COLORS[i]
                x, y = [p["tau"] for p in pts], [p["mean"] for p in pts]
                ax.plot(x, y, "o-", color=color, label=_STRATEGY_TEXT[strategy])
                if all(p["stderr"] is not None for p in pts):
                    ax.fill_between(x, [p["mean"] - p["stderr"] for p in pts],
                                    [p["mean"] + p["stderr"] for p in pts], color=color, alpha=0.18, lw=0)
                best = next(p for p in pts if p["best"])
                ax.plot([best["tau"]], [best["mean"]], "*", color=color, ms=13, mec="black", mew=0.6)
                at_right = best["tau"] == max(x)
                ax.annotate(f"best τ={best['tau']:g}", (best["tau"], best["mean"]), textcoords="offset points",
                            xytext=(-4 if at_right else 4, 6), ha="right" if at_right else "left", fontsize=7,
                            color=color)
                kept = [p for p in pts if p["kept_fraction"] is not None]
                if kept:
                    kept_ax = kept_ax or ax.twinx()
                    kept_ax.plot([p["tau"] for p in kept], [p["kept_fraction"] for p in kept], ":", color=color,
                                 marker=".", label=f"kept tokens, {strategy}")
            for r in mine:
                if r["series"] in _REF_STYLE:
                    name, color = _REF_STYLE[r["series"]]
                    ax.axhline(r["mean"], ls="--", lw=1, color=color, label=f"{name} {r['mean']:.1f}")
            handles, labels = ax.get_legend_handles_labels()
            if kept_ax is not None:
                kept_ax.set_ylabel("kept tokens during training (%)")
                kept_ax.set_ylim(0, 105)
                kept_ax.grid(False)
                more = kept_ax.get_legend_handles_labels()
                handles, labels = handles + more[0], labels + more[1]
            if _log_x([r["tau"] for r in mine if r["tau"]]):
                ax.set_xscale("log")
            ax.set_xlabel("τ")
            ax.set_ylabel(f"{title} accuracy (%)")
            ax.set_title(base + (f" [{variant}]" if variant else ""))
            # Below the panel: inside it would hide the bands.
            ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2)


def acc_vs_tau(table: Table, bench: Benchmark | None, out_dir: Path) -> list[Path]:
    """plots/acc_vs_tau_<benchmark>.png (or _avg) and its CSV; nothing when no run has a τ."""
    if bench is None:
        rows, name, title = tidy(table, lambda r: r.avg), "avg", table.avg_label
    else:
        rows = tidy(table, lambda r: r.cells.get(bench.task))
        name, title = table.slug(bench), bench.label
    if not any(r["series"] == "profit" for r in rows):
        return []
    png, csv = out_dir / f"acc_vs_tau_{name}.png", out_dir / f"acc_vs_tau_{name}.csv"
    write_csv(csv, TAU_FIELDS, rows)
    draw_acc_vs_tau(rows, title, png)
    return [png, csv]


def fig4_tidy(table: Table) -> list[dict]:
    out = []
    columns = [(b.label, lambda r, b=b: r.cells.get(b.task)) for b in table.benches]
    columns.append((table.avg_label, lambda r: r.avg))
    for (base, variant), rows in panels(table).items():
        sft = next((r for r in _references(table, base, variant) if r.key.objective == "sft"), None)
        for strategy in STRATEGIES:
            for label, value in columns:
                ref = value(sft) if sft else None
                for r in rows:
                    cell = value(r)
                    if r.key.strategy == strategy and cell is not None:
                        out.append({"base_model": base, "variant": variant, "strategy": strategy, "benchmark": label,
                                    "tau": r.key.tau, "mean": _pct(cell.mean), "stderr": _pct(cell.stderr),
                                    "sft_mean": _pct(ref.mean) if ref else None})
    return out


def draw_fig4(rows: list[dict], avg_label: str, path: Path) -> None:
    groups = sorted({(r["base_model"], r["variant"]) for r in rows})
    labels = list(dict.fromkeys(r["benchmark"] for r in rows))
    with figure(path, ncols=2, nrows=len(groups), panel=(4.0, 2.8), bottom=1.0, hgap=1.5) as (_, axes):
        for axrow, (base, variant) in zip(axes, groups):
            for ax, strategy, letter in zip(axrow, ("lower", "higher"), "ab"):
                ax.set_title(f"({letter}) {_STRATEGY_TEXT[strategy]} — {base}" + (f" [{variant}]" if variant else ""))
                ax.set_xlabel("τ")
                ax.set_ylabel("accuracy (%)")
                pts_all = [r for r in rows if (r["base_model"], r["variant"], r["strategy"]) == (base, variant,
                                                                                                  strategy)]
                if not pts_all:
                    ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes)
                    continue
                for i, label in enumerate(labels):
                    pts = [r for r in pts_all if r["benchmark"] == label]
                    if not pts:
                        continue
                    is_avg = label == avg_label
                    color = "#000000" if is_avg else COLORS[i % len(COLORS)]
                    ax.plot([p["tau"] for p in pts], [p["mean"] for p in pts], "o-", color=color,
                            lw=2.2 if is_avg else 1.2, ms=3, label=label)
                    if pts[0]["sft_mean"] is not None:
                        ax.axhline(pts[0]["sft_mean"], ls="--", lw=0.9, color=color)
                if _log_x([p["tau"] for p in pts_all]):
                    ax.set_xscale("log")
                ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=3, title="dashed: SFT",
                          title_fontsize=7)


def higher_vs_lower(table: Table, out_dir: Path) -> list[Path]:
    rows = fig4_tidy(table)
    if not rows:
        return []
    png, csv = out_dir / "higher_vs_lower.png", out_dir / "higher_vs_lower.csv"
    write_csv(csv, FIG4_FIELDS, rows)
    draw_fig4(rows, table.avg_label, png)
    return [png, csv]
