"""Figures that render to the same bytes every time, and the tidy CSVs beside them."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# A user's matplotlibrc must not change our bytes: start from matplotlib's defaults, then these.
_RC = {
    "svg.hashsalt": "profit-report",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 7,
    "legend.frameon": False,
}
DPI = 110
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")


@contextmanager
def figure(path: Path, ncols: int = 1, nrows: int = 1, panel: tuple[float, float] = (3.6, 2.6), *,
           left: float = 0.7, right: float = 0.3, top: float = 0.4, bottom: float = 0.55, wgap: float = 0.8,
           hgap: float = 0.8) -> Iterator:
    """Yield (figure, axes grid as a list of rows); save as PNG without version or time stamps on exit.

    Sizes are inches: each panel's plot area, and fixed margins and gaps around it (room for labels and legends
    placed outside). Fixed margins instead of a layout engine: several times faster on big grids, same result.
    """
    width = left + right + ncols * panel[0] + (ncols - 1) * wgap
    height = top + bottom + nrows * panel[1] + (nrows - 1) * hgap
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(_RC)
        fig = Figure(figsize=(width, height))
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                            top=1 - top / height, wspace=wgap / panel[0], hspace=hgap / panel[1])
        axes = fig.subplots(nrows, ncols, squeeze=False)
        yield fig, [list(row) for row in axes]
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, metadata={"Software": None})


def num(value, digits: int = 4) -> str:
    """Fixed float text for CSVs (the same numbers the figure was given)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: num(v) for k, v in row.items()})
