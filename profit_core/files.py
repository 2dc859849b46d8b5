"""Whole-file writes that a reader (or a crash) sees as the old file or the new one, hashing, canonical JSON."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

_CHUNK = 1 << 22


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_mode(path: Path) -> None:
    """Give a file the permissions an ordinary `open(path, "w")` would (0666 less the umask). Writers that go
    through a private temporary file (mkstemp, safetensors) leave 0600, which makes a store or checkpoint shared by
    a group unreadable to its members."""
    os.chmod(path, 0o666 & ~_umask())


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write `data` to `path` atomically (temporary file in the same folder, fsync, rename, fsync the folder).

    The file gets the permissions an ordinary `open(path, "w")` would (`default_mode`).
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            default_mode(Path(tmp))
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def write_json(path: Path, data, indent: int = 1, sort_keys: bool = False) -> None:
    atomic_write(path, json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n")


def canonical_json(obj) -> str:
    """The one JSON spelling that hashes use: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
