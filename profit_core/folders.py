"""The write guard: no command writes into a folder that holds a model, data, or anything the project did not create.

A folder a command writes (a results store, a report folder, a pipeline's runs folder) is claimed once: it must be
missing, empty, or hold only what that kind of folder holds; it then gets a small marker file naming its kind, and
from then on it is that command's, whatever else a user puts beside the outputs. A folder of another kind, a model
folder, or a folder of unknown files is refused with a message naming what is there. Training run folders have
their own, stricter owner record (the checkpoint manifest, `formats/run_manifest.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import UserError
from .files import write_json
from .model_folder import looks_like_model

MARKER = ".profit-folder.json"
KINDS = ("store", "report", "runs", "lm-eval")


class FolderError(UserError):
    """An output folder the command must not write into; the message says what is there and what to do."""


def marker_kind(folder: Path) -> str | None:
    try:
        return str(json.loads((Path(folder) / MARKER).read_text(encoding="utf-8")).get("kind"))
    except (OSError, ValueError, AttributeError):
        return None


def foreign_entries(folder: Path, known: Iterable[str] = (), allow: Callable[[Path], bool] | None = None) -> list[str]:
    """Names in `folder` that are neither `known` nor allowed by `allow`."""
    names = set(known) | {MARKER}
    return sorted(p.name for p in Path(folder).iterdir()
                  if p.name not in names and not in_flight(p) and not (allow and allow(p)))


def in_flight(path: Path) -> bool:
    """A temporary file of an atomic write (profit_core.files) that another process is writing right now."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


def refuse_file(folder: Path, what: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise FolderError(f"{what} {folder} is a file, not a folder; choose a folder path")


def claim(folder: str | Path, kind: str, known: Iterable[str] = (), what: str = "output folder",
          allow: Callable[[Path], bool] | None = None, create: bool = True) -> Path:
    """Make `folder` a folder of `kind` (creating it when missing), or raise FolderError. Returns the folder.
    create=False only checks (for validation before any work: nothing is written)."""
    if kind not in KINDS:
        raise ValueError(f"unknown folder kind {kind!r}")
    folder = Path(folder)
    refuse_file(folder, what)
    if folder.is_dir():
        mark = marker_kind(folder)
        if mark == kind:
            return folder
        if mark is not None:
            raise FolderError(f"{what} {folder} is a profit {mark} folder, not a {kind} folder; choose another path")
        if looks_like_model(folder):
            raise FolderError(f"{what} {folder} holds a model (config.json or weights); choose another folder")
        foreign = foreign_entries(folder, known, allow)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise FolderError(f"{what} {folder} holds files this command did not write ({shown}); choose an empty "
                              "or new folder")
    if create:
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / MARKER, {"kind": kind, "written_by": "profit-bench"})
    return folder
