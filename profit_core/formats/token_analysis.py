"""`token_analysis.json`: the model's probability p of core vs trivial reference tokens, and the share of each class
the gate kept during training (docs/formats.md). Written by the testbed's analysis into the store; drawn by the
report."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from ..files import write_json

NAME = "token_analysis.json"
SCHEMA = 2  # 2: `runs` (kept shares from the weights the loss used) instead of per-model `kept_share` at fixed τ


class AnalysisError(UserError):
    """A token analysis file that cannot be read."""


def read(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AnalysisError(f"{path.name}: unreadable ({err})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("models"), list):
        raise AnalysisError(f"{path.name}: expected {{'schema': {SCHEMA}, 'models': [...], 'runs': [...]}}")
    if not isinstance(data.get("runs", []), list):
        raise AnalysisError(f"{path.name}: `runs` must be a list")
    return data


def write(path: str | Path, data: dict) -> None:
    write_json(Path(path), {"schema": SCHEMA, **data})
