"""Rows from local .jsonl / .json / .parquet files, each with where it came from (for error messages)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .formats import BadRow


def read_rows(path: str | Path) -> Iterator[tuple[str, object]]:
    """Yield (location, row): `file:line` for .jsonl, `file[item i]` for .json, `file[row i]` for .parquet.

    A .jsonl line that is not UTF-8 JSON is yielded as a BadRow so the caller decides whether to fail or skip; a
    whole file that cannot be read (.json, .parquet) raises BadRow.
    """
    path = Path(path)
    if path.suffix == ".jsonl":
        with path.open("rb") as handle:  # bytes: one line of bad UTF-8 must not stop the others
            for number, raw in enumerate(handle, start=1):
                where = f"{path}:{number}"
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    yield where, BadRow(f"not valid UTF-8 (byte {err.start + 1} of the line)")
                    continue
                if not line.strip():
                    continue
                try:
                    yield where, json.loads(line)
                except json.JSONDecodeError as err:
                    yield where, BadRow(f"not valid JSON ({err.msg} at column {err.colno})")
    elif path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as err:
            raise BadRow(f"{path}: not valid UTF-8 (byte {err.start + 1}); re-save the file as UTF-8") from None
        except json.JSONDecodeError as err:
            raise BadRow(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list):
            raise BadRow(f"{path}: a .json data file must hold a list of rows (or {{'data': [...]}})")
        for index, row in enumerate(data):
            yield f"{path}[item {index}]", row
    elif path.suffix == ".parquet":
        import pyarrow
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except (pyarrow.ArrowException, OSError) as err:
            raise BadRow(f"{path}: not a readable parquet file ({err})") from None
        for index, row in enumerate(rows):
            yield f"{path}[row {index}]", row
    else:
        raise BadRow(f"{path}: unsupported data file type {path.suffix!r} (use .jsonl, .json or .parquet)")
