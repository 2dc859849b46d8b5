"""`<store>/records/<key>.json`: one evaluation of one checkpoint on one task (docs/formats.md).

The key is the first 24 hex of sha256 over the canonical JSON of the key fields, so a changed checkpoint, task
version, sampling setting, seed or harness version is never served from the cache. `problem` is the one check of
a record's shape, used by the store before anything trusts a record file.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path, PurePosixPath

from ..files import canonical_json

# 2: model.path and the paths in model.run are relative to the store (1 held absolute machine paths).
SCHEMA = 2
KEY_FIELDS = ("model_hash", "task", "task_version", "sampling", "seed", "harness_version")


def record_key(*, model_hash: str, task: str, task_version, sampling: dict, seed: int, harness_version: str) -> str:
    fields = {"model_hash": model_hash, "task": task, "task_version": task_version, "sampling": sampling,
              "seed": seed, "harness_version": harness_version}
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()[:24]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Unusable(Exception):
    """A record file that cannot be used. `corrupt`: broken (unreadable, or not shaped like a record), as opposed to
    a whole record of another schema, which a newer harness wrote and an older one must leave alone."""

    def __init__(self, why: str, corrupt: bool = True):
        super().__init__(why)
        self.why, self.corrupt = why, corrupt


def problem(raw) -> str | None:
    """Why `raw` is not shaped like a record (None when it is)."""
    if not isinstance(raw, dict):
        return "not a JSON object"
    if not raw.get("key"):
        return "key is missing"
    model, task, metrics = raw.get("model"), raw.get("task"), raw.get("metrics")
    if not isinstance(model, dict) or not model.get("content_hash"):
        return "model.content_hash is missing"
    if not isinstance(task, dict) or not task.get("name"):
        return "task.name is missing"
    primary = raw.get("primary_metric")
    metric = metrics.get(primary) if isinstance(metrics, dict) and isinstance(primary, str) else None
    if not isinstance(metric, dict) or not _number(metric.get("value")):
        return f"metrics.{primary}.value is missing or not a number"
    if not isinstance(raw.get("sampling"), dict):
        return "sampling is missing"
    return None


def upgrade_1(raw: dict) -> dict:
    """A schema-1 record read as schema 2: its absolute machine paths become their last component (where the
    folder was on the machine that wrote it says nothing on this one); everything else is kept."""

    def name(value):
        return PurePosixPath(value).name if isinstance(value, str) and value.startswith("/") else value

    raw = json.loads(json.dumps(raw))
    model = raw.get("model")
    if isinstance(model, dict):
        model["path"] = name(model.get("path"))
        run = model.get("run")
        if isinstance(run, dict):
            places = [(run, "base_model"), (run.get("data"), "path")]
            places += [(run.get("config"), key) for key in ("model", "data", "output_dir", "chat_template")]
            for holder, key in places:
                if isinstance(holder, dict) and key in holder:
                    holder[key] = name(holder[key])
    raw["schema"] = SCHEMA
    return raw


def read(path: Path) -> dict:
    """The record in `path`; Unusable when it is unreadable, malformed or of another schema."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise Unusable(f"unreadable JSON ({err})") from None
    if isinstance(raw, dict) and raw.get("schema") == 1:
        raw = upgrade_1(raw)
    if isinstance(raw, dict) and "schema" in raw and raw["schema"] != SCHEMA:
        raise Unusable(f"schema {raw['schema']!r} is not {SCHEMA}", corrupt=False)
    why = problem(raw)
    if why:
        raise Unusable(why)
    return raw
