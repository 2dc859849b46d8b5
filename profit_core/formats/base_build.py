"""`base_build.json`: what a built testbed base holds (settings, their digest, the weights' sha256, the pretraining
loss); written last, so a folder with it is a finished build."""

from __future__ import annotations

import json
from pathlib import Path

from ..files import write_json

NAME = "base_build.json"
SCHEMA = 1


def read(folder: str | Path) -> dict | None:
    """The record, or None when the folder holds no finished (readable) build."""
    try:
        data = json.loads((Path(folder) / NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write(folder: str | Path, record: dict) -> None:
    write_json(Path(folder) / NAME, {"schema": SCHEMA, **record})
