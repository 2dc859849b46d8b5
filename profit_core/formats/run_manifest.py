"""`profit_run.json`, the owner record and manifest of a training run folder.

It is written twice: when a run starts (`"complete": false`, with the config and its hash, so the folder is known
to belong to that config: a rerun or `--resume` of another config is refused), and last, atomically, when the
model files are all in place (`"complete": true` plus the run's statistics). A folder without it is not a run.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from ..files import write_json

NAME = "profit_run.json"
SCHEMA = 1


class ManifestError(UserError):
    """A run manifest that cannot be read."""


def path_of(folder: str | Path) -> Path:
    return Path(folder) / NAME


def read(folder: str | Path) -> dict | None:
    """The manifest, or None when the folder has none; ManifestError when it is there but unreadable."""
    path = path_of(folder)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"{path}: unreadable run manifest ({err}); delete the run folder to start over") from None
    if not isinstance(data, dict) or "config_hash" not in data:
        raise ManifestError(f"{path}: not a run manifest (no config_hash); delete the run folder to start over")
    return data


def read_or_none(folder: str | Path) -> dict | None:
    """For readers that only ask "is there a finished run here": an unreadable manifest counts as none."""
    try:
        return read(folder)
    except ManifestError:
        return None


def is_complete(folder: str | Path, config_hash: str | None = None) -> bool:
    """True when `folder` holds a finished run (of the config with `config_hash`, if given)."""
    manifest = read_or_none(folder)
    if not manifest or manifest.get("complete") is not True:
        return False
    return config_hash is None or manifest.get("config_hash") == config_hash


def write_started(folder: str | Path, config: dict, config_hash: str) -> None:
    write_json(path_of(folder), {"schema": SCHEMA, "config": config, "config_hash": config_hash,
                                 "complete": False}, indent=2)


def write_complete(folder: str | Path, manifest: dict) -> None:
    write_json(path_of(folder), {"schema": SCHEMA, **manifest, "complete": True}, indent=2)


def config_diff(old: dict | None, new: dict, limit: int = 4) -> str:
    """`field old -> new, ...` for the fields two configs disagree on (flattened one level for `objective`)."""

    def flat(cfg: dict | None) -> dict:
        out = {}
        for key, value in (cfg or {}).items():
            if isinstance(value, dict):
                out.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                out[key] = value
        return out

    a, b = flat(old), flat(new)
    changed = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k) and k != "output_dir"]
    text = ", ".join(f"{k} {a.get(k)!r} -> {b.get(k)!r}" for k in changed[:limit])
    return text + (f" and {len(changed) - limit} more" if len(changed) > limit else "") if changed else "unknown"
