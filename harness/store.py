"""The results store: one JSON record (+ gzipped samples) per evaluation key, safe for many concurrent writers.

Layout (see docs/formats.md):
    <root>/records/<key>.json        the record; its presence is a cache hit
    <root>/samples/<key>.jsonl.gz    per-sample prompts and outputs, written before the record
    <root>/locks/<key>.lock          held (flock) by the one worker computing <key>

Locks are kernel `flock`s, so a killed worker's claim vanishes with its process: no stale lock can block a resume.
Every file is written to a temporary name in its own folder, fsynced, then `os.replace`d, so a reader sees either
nothing or a whole file.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

SCHEMA = 1
KEY_FIELDS = ("model_hash", "task", "task_version", "sampling", "seed", "harness_version")


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_key(*, model_hash: str, task: str, task_version, sampling: dict, seed: int, harness_version: str) -> str:
    """First 24 hex of sha256 over the canonical JSON of the key fields (docs/formats.md)."""
    fields = {
        "model_hash": model_hash,
        "task": task,
        "task_version": task_version,
        "sampling": sampling,
        "seed": seed,
        "harness_version": harness_version,
    }
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()[:24]


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader (or a crash) sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
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


class Store:
    """Records keyed by `record_key`; `claim` hands each missing key to exactly one live worker."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.records = self.root / "records"
        self.samples = self.root / "samples"
        self.locks = self.root / "locks"

    def record_path(self, key: str) -> Path:
        return self.records / f"{key}.json"

    def samples_path(self, key: str) -> Path:
        return self.samples / f"{key}.jsonl.gz"

    def has(self, key: str) -> bool:
        return self.record_path(key).is_file()

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self.record_path(key).read_text())
        except FileNotFoundError:
            return None

    def put(self, record: dict, samples: Iterable[dict]) -> None:
        """Samples first, record last: a record never points at samples that are not there yet."""
        key = record["key"]
        lines = "".join(canonical_json(s) + "\n" for s in samples).encode()
        atomic_write(self.samples_path(key), gzip.compress(lines, mtime=0))
        atomic_write(self.record_path(key), (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())

    def read_samples(self, key: str) -> list[dict]:
        with gzip.open(self.samples_path(key), "rt") as f:
            return [json.loads(line) for line in f]

    def iter_records(self) -> Iterator[dict]:
        for path in sorted(self.records.glob("*.json")):
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                yield json.loads(path.read_text())

    @contextlib.contextmanager
    def claim(self, key: str) -> Iterator[bool]:
        """Yields True while this process holds the key's lock, False when another live process holds it."""
        self.locks.mkdir(parents=True, exist_ok=True)
        path = self.locks / f"{key}.lock"
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                yield False
                return
            # The holder before us may have unlinked the file after we opened it: then our lock is on a dead inode.
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
            os.write(fd, canonical_json(holder).encode())
            yield True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            os.close(fd)

    def in_progress(self) -> list[str]:
        """Keys whose lock is held right now by some live worker."""
        busy = []
        for path in sorted(self.locks.glob("*.lock")) if self.locks.is_dir() else []:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                busy.append(path.stem)
            finally:
                os.close(fd)
        return busy
