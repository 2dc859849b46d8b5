"""What a leaderboard row is: a base model, a method (profit_core/names.py) and every training setting that sets
its runs apart from other runs of the same base; only runs that differ in nothing but the seed share a row.

The settings are found, not listed: of each run's training config (its manifest), the fields that differ between
runs of the same base become the row's `variant`, labelled `field=value` (learning_rate=0.0003, lora_rank=16,
data=gsm8k_train.jsonl, ...). So a LoRA-rank sweep is one row per rank, and an lr sweep one row per rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from profit_core import names
from training.config import NOT_HASHED

# Display order of objectives within one base model; unknown objectives follow, by name.
_OBJECTIVE_ORDER = ("base", "sft", "dft", "entropy", "quantile", "profit")
_STRATEGY_ORDER = ("higher", "lower", "middle", "random")
NONE = "–"  # shown for a field that does not apply
# Training-config fields that never set runs apart: the seed is pooled over; the fields that change nothing in the
# weights (folders, cadences, logs: training.config.NOT_HASHED); the base model itself (a row's `base`) and the
# method (its objective).
_NOT_A_SETTING = {"seed", "model", "base_model_name", "objective", *NOT_HASHED}


@dataclass(frozen=True)
class RowKey:
    base: str
    objective: str  # base, sft, dft, entropy, quantile, profit, or whatever the run says
    strategy: str = ""  # profit only
    tau: float | None = None  # profit only
    tau_high: float | None = None  # profit/middle only
    method: str = "base"  # the label: profit_core.names.label of the objective
    variant: str = ""  # the settings that set these runs apart from others of the base, e.g. "learning_rate=0.0003"

    @property
    def strategy_text(self) -> str:
        return self.strategy or NONE

    @property
    def tau_text(self) -> str:
        if self.tau is None:
            return NONE
        return f"{self.tau:g}..{self.tau_high:g}" if self.strategy == "middle" else f"{self.tau:g}"

    @property
    def is_sft(self) -> bool:
        return self.objective == "sft"

    def sort_key(self) -> tuple:
        obj = self.objective
        rank = _OBJECTIVE_ORDER.index(obj) if obj in _OBJECTIVE_ORDER else len(_OBJECTIVE_ORDER)
        strat = _STRATEGY_ORDER.index(self.strategy) if self.strategy in _STRATEGY_ORDER else len(_STRATEGY_ORDER)
        return (self.base.lower(), self.base, self.variant, rank, obj, self.method, strat, self.strategy,
                -1.0 if self.tau is None else self.tau, self.tau_high or 0.0)


def _text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def settings(run: dict) -> dict[str, str]:
    """The run's training settings as `field -> value text` (data by its file name and content hash)."""
    config = run.get("config") if isinstance(run.get("config"), dict) else {}
    out = {k: _text(v) for k, v in config.items() if k not in _NOT_A_SETTING and not isinstance(v, dict)}
    if config.get("data"):
        data = run.get("data") if isinstance(run.get("data"), dict) else {}
        out["data"] = f"{PurePath(str(config['data'])).name}#{str(data.get('sha256', ''))[:8]}"
    return out


def method_fields(run: dict | None) -> dict:
    """The RowKey fields that name the method; ValueError/TypeError when the run's objective is malformed."""
    if run is None:
        return {"objective": "base", "method": names.label(None)}
    objective = run.get("objective")
    if not isinstance(objective, dict):
        raise TypeError("it is not an object")
    name = str(objective.get("objective", "unknown"))
    out = {"objective": name, "method": names.label(objective)}
    if name == "profit":
        out["strategy"] = str(objective.get("strategy", ""))
        out["tau"] = float(objective["tau"])
        if out["strategy"] == "middle":
            out["tau_high"] = float(objective["tau_high"])
    return out


def row_keys(runs: list[tuple[dict | None, str, dict]]) -> list[RowKey]:
    """The row of each (run manifest or None for a base model, base name, its method_fields); see the module
    docstring."""
    found = [settings(run) if run else None for run, _, _ in runs]
    by_base: dict[str, list[dict[str, str]]] = {}
    for (_, base, _), mine in zip(runs, found):
        if mine is not None:
            by_base.setdefault(base, []).append(mine)
    varying = {}
    for base, all_ in by_base.items():
        fields = set().union(*all_)
        varying[base] = sorted(k for k in fields if len({s.get(k) for s in all_}) > 1)
    keys = []
    for (_, base, method), mine in zip(runs, found):
        variant = ", ".join(f"{k}={mine.get(k, NONE)}" for k in varying.get(base, [])) if mine is not None else ""
        keys.append(RowKey(base=base, variant=variant, **method))
    return keys
