"""The one name of each method: its run folder (`slug`) and its report row (`label`), from the objective's fields.

Dependency-free: it reads the plain dict an objective is stored as (`ObjectiveConfig.to_dict()`, the `objective`
of a run manifest), so training, the pipeline and the report name a method the same way.
"""

from __future__ import annotations

LABELS = {"base": "base", "sft": "SFT", "dft": "DFT", "entropy": "Entropy", "quantile": "Quantile",
          "profit": "ProFit"}
# The parameter an objective is known by, besides τ: printed in its label and folder name.
PARAMETER = {"entropy": "entropy_ratio", "quantile": "quantile"}
# Each objective's default normalisation (its source code's convention: the 80/20 entropy code averages over the
# selected tokens, the ProFit code divides by all supervised tokens); another one is part of the name.
NORMALIZATION = {"entropy": "kept"}


def default_normalization(objective: str) -> str:
    return NORMALIZATION.get(objective, "global")


def _num(value) -> str:
    return f"{float(value):g}"


def _other_normalization(objective: dict) -> bool:
    default = default_normalization(str(objective.get("objective")))
    return objective.get("normalization", default) != default


def slug(objective: dict) -> str:
    """Folder name: sft, dft, entropy-0.2, quantile-0.8, profit-higher-0.1, profit-middle-0.1-0.5, sft-norm-kept,
    entropy-0.2-norm-global."""
    name = str(objective.get("objective", "unknown"))
    parts = [name]
    if name == "profit":
        parts += [str(objective.get("strategy")), _num(objective.get("tau"))]
        if objective.get("strategy") == "middle":
            parts.append(_num(objective.get("tau_high")))
    elif name in PARAMETER:
        parts.append(_num(objective.get(PARAMETER[name])))
    if _other_normalization(objective):
        parts.append(f"norm-{objective['normalization']}")
    return "-".join(parts)


def label(objective: dict | None) -> str:
    """Report label of the method (without τ and strategy, which have columns of their own): SFT, ProFit,
    Entropy (top 0.2), DFT [norm=kept]; None is the untrained base model."""
    if objective is None:
        return LABELS["base"]
    name = str(objective.get("objective", "unknown"))
    text = LABELS.get(name, name)
    if name in PARAMETER and objective.get(PARAMETER[name]) is not None:
        text += f" (top {_num(objective[PARAMETER[name]])})"
    if _other_normalization(objective):
        text += f" [norm={objective['normalization']}]"
    return text
