"""What a leaderboard row is: (base model, method, strategy, τ) plus any training variant that changes results."""

from __future__ import annotations

from dataclasses import dataclass

# Display order of objectives within one base model; unknown objectives follow, by name.
_OBJECTIVE_ORDER = ("base", "sft", "dft", "entropy", "quantile", "profit")
_OBJECTIVE_LABEL = {"base": "base", "sft": "SFT", "dft": "DFT", "entropy": "Entropy", "quantile": "Quantile",
                    "profit": "ProFit"}
_STRATEGY_ORDER = ("higher", "lower", "middle", "random")
NONE = "–"  # shown for a field that does not apply


@dataclass(frozen=True)
class RowKey:
    base: str
    objective: str  # base, sft, dft, entropy, quantile, profit, or whatever the run says
    strategy: str = ""  # profit only
    tau: float | None = None  # profit only
    tau_high: float | None = None  # profit/middle only
    param: float | None = None  # entropy_ratio / quantile
    variant: str = ""  # e.g. "lora", "norm=sequence": runs that differ in more than the seed

    @property
    def method(self) -> str:
        label = _OBJECTIVE_LABEL.get(self.objective, self.objective)
        if self.param is not None:
            label += f" (top {self.param:g})"
        return f"{label} [{self.variant}]" if self.variant else label

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
        return (self.base.lower(), self.base, self.variant, rank, obj, strat, self.strategy,
                -1.0 if self.tau is None else self.tau, self.tau_high or 0.0, self.param or 0.0)


def row_key(run: dict | None, base_name: str) -> RowKey:
    """The row a checkpoint belongs to. Seeds are pooled, so the seed is the one thing left out."""
    if run is None:
        return RowKey(base=base_name, objective="base")
    obj = dict(run.get("objective") or {})
    objective = str(obj.get("objective", run.get("method", "unknown")))
    variant = []
    if run.get("finetuning", "full") != "full":
        variant.append(str(run["finetuning"]))
    if obj.get("normalization", "global") != "global":
        variant.append(f"norm={obj['normalization']}")
    strategy, tau, tau_high, param = "", None, None, None
    if objective == "profit":
        strategy = str(obj.get("strategy", "higher"))
        tau = float(obj.get("tau", 0.1))
        if strategy == "middle":
            tau_high = float(obj.get("tau_high", 1.0))
    elif objective == "entropy":
        param = float(obj.get("entropy_ratio", 0.2))
    elif objective == "quantile":
        param = float(obj.get("quantile", 0.8))
    return RowKey(base_name, objective, strategy, tau, tau_high, param, ",".join(variant))
