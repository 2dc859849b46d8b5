"""`<store>/.pipeline_state.json`: the input digests of the pipeline's last token analysis and report, so an
unchanged pipeline does not redo them."""

from __future__ import annotations

import json
from pathlib import Path

from ..files import write_json

NAME = ".pipeline_state.json"


def read(folder: str | Path) -> dict:
    try:
        data = json.loads((Path(folder) / NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}  # lost or damaged: the stages are simply redone
    return data if isinstance(data, dict) else {}


def write(folder: str | Path, data: dict) -> None:
    write_json(Path(folder) / NAME, data, sort_keys=True)
