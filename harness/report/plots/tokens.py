"""Histograms of the model's probability p of core and trivial tokens, and the share of each class the runs
trained on, from the store's token_analysis.json (optional; profit_core/formats/token_analysis.py).

Where the data labels tokens (the synthetic testbed does), the paper's premise can be read directly: core tokens
should sit at high p, trivial ones lower (the paper: mean 0.768 vs 0.485); and the kept shares say what the gate
did with them during training (the weights the loss used, averaged over the run's steps and seeds).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from harness.report.plots.canvas import COLORS, figure, write_csv
from harness.store import Store
from profit_core.formats import token_analysis

CLASSES = ("core", "trivial")
FIELDS = ["model", "kind", "class", "bin_lo", "bin_hi", "count", "density", "mean", "strategy", "tau", "share"]
_BINS = np.linspace(0.0, 1.0, 21)


class _Bad(ValueError):
    pass


def _histogram(model: dict, cls: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(edges, counts, mean p) of one class, from raw `p` lists or a ready `hist`."""
    if isinstance(model.get("p"), dict) and cls in model["p"]:
        p = np.asarray(model["p"][cls], dtype=float)
        if p.ndim != 1 or not p.size or np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
            raise _Bad(f"p.{cls} must be a non-empty list of probabilities in [0, 1]")
        counts, _ = np.histogram(p, bins=_BINS)
        mean = float(p.mean())
        edges = _BINS
    elif isinstance(model.get("hist"), dict) and cls in model["hist"]:
        edges = np.asarray(model["hist"].get("edges"), dtype=float)
        counts = np.asarray(model["hist"][cls], dtype=float)
        if edges.ndim != 1 or len(edges) != len(counts) + 1 or np.any(np.diff(edges) <= 0) or counts.sum() <= 0:
            raise _Bad(f"hist.edges must be increasing and one longer than hist.{cls}, with some counts")
        mean = float(((edges[:-1] + edges[1:]) / 2 * counts).sum() / counts.sum())
    else:
        raise _Bad(f"neither p.{cls} nor hist.{cls} is given")
    given = (model.get("mean") or {}).get(cls)
    return edges, counts, float(given) if isinstance(given, (int, float)) else mean


def _kept(runs: list) -> list[dict]:
    """Mean over seeds of each ProFit τ run's kept share per class, by (base, strategy, τ)."""
    pooled: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        objective = run.get("objective") if isinstance(run, dict) else None
        kept = run.get("kept") if isinstance(run, dict) else None
        if not isinstance(objective, dict) or objective.get("objective") != "profit" or not isinstance(kept, dict):
            continue
        if objective.get("strategy") in ("higher", "lower"):
            pooled[(str(run.get("base", "")), objective["strategy"], float(objective.get("tau", 0.0)))].append(kept)
    rows = []
    for (base, strategy, tau), kepts in sorted(pooled.items()):
        for cls in CLASSES:
            values = [k[cls] for k in kepts if isinstance(k.get(cls), (int, float))]
            if values:
                rows.append({"model": base, "kind": "kept_share", "class": cls, "strategy": strategy, "tau": tau,
                             "share": round(float(np.mean(values)), 4)})
    return rows


def tidy(store: Path) -> tuple[list[dict], list[str]]:
    path = Store(store).token_analysis_path
    if not path.is_file():
        return [], []
    try:
        data = token_analysis.read(path)
    except token_analysis.AnalysisError as exc:
        return [], [str(exc)]
    rows, notes, seen = [], [], set()
    for model in data["models"]:
        label = str(model.get("label", "")) if isinstance(model, dict) else ""
        if not label or label in seen:
            notes.append(f"{token_analysis.NAME}: a model entry without a label, or a repeated label {label!r}, "
                         "skipped")
            continue
        try:
            hists = {cls: _histogram(model, cls) for cls in CLASSES}
        except (_Bad, TypeError, ValueError) as exc:
            notes.append(f"{token_analysis.NAME}: model {label!r} skipped ({exc})")
            continue
        seen.add(label)
        for cls, (edges, counts, mean) in hists.items():
            density = counts / counts.sum() / np.diff(edges)
            for lo, hi, c, d in zip(edges[:-1], edges[1:], counts, density):
                rows.append({"model": label, "kind": "hist", "class": cls, "bin_lo": round(float(lo), 4),
                             "bin_hi": round(float(hi), 4), "count": int(c), "density": round(float(d), 4),
                             "mean": round(mean, 4)})
    return rows + _kept(data.get("runs", [])), notes


def draw(rows: list[dict], path: Path) -> None:
    models = list(dict.fromkeys(r["model"] for r in rows if r["kind"] == "hist"))
    shares = [r for r in rows if r["kind"] == "kept_share"]
    n = len(models) + bool(shares)
    ncols = min(n, 3)
    with figure(path, ncols=ncols, nrows=-(-n // ncols)) as (_, axes):
        flat = [ax for row in axes for ax in row]
        for ax, model in zip(flat, models):
            for i, cls in enumerate(CLASSES):
                pts = [r for r in rows if r["kind"] == "hist" and r["model"] == model and r["class"] == cls]
                edges = [pts[0]["bin_lo"]] + [p["bin_hi"] for p in pts]
                ax.stairs([p["density"] for p in pts], edges, color=COLORS[i], lw=1.4,
                          label=f"{cls} (mean p {pts[0]['mean']:.3f})")
                ax.axvline(pts[0]["mean"], color=COLORS[i], ls="--", lw=0.9)
            ax.set(xlabel="p of the reference token", ylabel="density", title=model, xlim=(0, 1))
            ax.legend(loc="upper left")
        if shares:
            ax = flat[len(models)]
            keys = list(dict.fromkeys((r["model"], r["strategy"], r["class"]) for r in shares))
            for i, (model, strategy, cls) in enumerate(keys):
                pts = sorted((r for r in shares if (r["model"], r["strategy"], r["class"]) == (model, strategy, cls)),
                             key=lambda r: r["tau"])
                ax.plot([p["tau"] for p in pts], [p["share"] for p in pts], "o-" if cls == "core" else "s--",
                        color=COLORS[i // 2 % len(COLORS)], ms=3, label=f"{model} {strategy}: {cls}")
            ax.set(xlabel="τ", ylabel="mean weight in training (share kept)", title="what the loss trained on",
                   ylim=(-0.02, 1.02))
            ax.legend(loc="best")
        for ax in flat[n:]:
            ax.set_visible(False)


def token_hist(store: Path, out_dir: Path) -> tuple[list[Path], list[str]]:
    rows, notes = tidy(store)
    if not any(r["kind"] == "hist" for r in rows):
        return [], notes + [f"token probability histogram: no usable {token_analysis.NAME} in the store"]
    png, csv = out_dir / "token_p_hist.png", out_dir / "token_p_hist.csv"
    write_csv(csv, FIELDS, rows)
    draw(rows, png)
    return [png, csv], notes
