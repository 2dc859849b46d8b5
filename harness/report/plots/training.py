"""Training curves (loss and kept-token fraction per step) from the training logs the store keeps per checkpoint."""

from __future__ import annotations

from pathlib import Path

from harness.report.aggregate import Table
from harness.report.plots.canvas import COLORS, figure, write_csv
from harness.store import Store

FIELDS = ["base_model", "method", "strategy", "tau", "seed", "checkpoint", "step", "loss", "kept_fraction"]


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def tidy(table: Table, store: Path) -> tuple[list[dict], list[str]]:
    out, notes, missing = [], [], 0
    db = Store(store)
    for row in table.rows:
        if row.key.objective == "base":
            continue
        checkpoints = {r.content_hash: r for rs in row.results.values() for r in rs}
        for content_hash, result in sorted(checkpoints.items(), key=lambda kv: (str(kv[1].train_seed), kv[0])):
            entries, bad = db.train_log(content_hash)
            if not entries:
                missing += 1
                continue
            if bad:
                notes.append(f"train_logs/{content_hash[:24]}.jsonl: {bad} unreadable line(s) skipped")
            for e in entries:
                out.append({"base_model": row.key.base, "method": row.key.method, "strategy": row.key.strategy,
                            "tau": row.key.tau, "seed": result.train_seed,
                            "checkpoint": result.label, "step": int(e["step"]),
                            "loss": _number(e.get("loss")), "kept_fraction": _number(e.get("kept_fraction"))})
    if missing:
        notes.append(f"training curves: the store keeps no training log for {missing} checkpoint(s); they are "
                     "left out")
    return out, notes


def draw(rows: list[dict], path: Path) -> None:
    series = list(dict.fromkeys((r["base_model"], r["method"], r["strategy"], r["tau"]) for r in rows))
    legend = len(series) <= 16
    with figure(path, ncols=2, panel=(4.0, 2.8), right=2.8 if legend else 0.3) as (_, axes):
        loss_ax, kept_ax = axes[0]
        for i, key in enumerate(series):
            color = COLORS[i % len(COLORS)]
            label = " ".join(str(k) for k in (key[0], key[1], key[2], "" if key[3] is None else f"τ={key[3]:g}") if k)
            mine = [r for r in rows if (r["base_model"], r["method"], r["strategy"], r["tau"]) == key]
            for j, checkpoint in enumerate(dict.fromkeys(r["checkpoint"] for r in mine)):
                pts = [r for r in mine if r["checkpoint"] == checkpoint]
                for ax, field in ((loss_ax, "loss"), (kept_ax, "kept_fraction")):
                    xy = [(p["step"], p[field]) for p in pts if p[field] is not None]
                    if xy:
                        ax.plot([x for x, _ in xy], [y for _, y in xy], color=color, lw=1, alpha=0.85,
                                label=label if j == 0 else None)
        loss_ax.set(xlabel="step", ylabel="training loss", title="loss")
        kept_ax.set(xlabel="step", ylabel="kept fraction of supervised tokens", title="kept fraction",
                    ylim=(0, 1.05))
        if legend:
            kept_ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))


def training_curves(table: Table, store: Path, out_dir: Path) -> tuple[list[Path], list[str]]:
    rows, notes = tidy(table, store)
    if not rows:
        return [], notes
    png, csv = out_dir / "training_curves.png", out_dir / "training_curves.csv"
    write_csv(csv, FIELDS, rows)
    draw(rows, png)
    return [png, csv], notes
