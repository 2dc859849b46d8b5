"""The results store: one JSON record (+ gzipped samples) per evaluation key, safe for many concurrent writers, and
the one API through which anything is written into a store folder.

Layout (see docs/formats.md):
    <root>/records/<key>.json        the record (profit_core/formats/store_record.py); its presence is a cache hit
    <root>/samples/<key>.jsonl.gz    per-sample prompts and outputs, written before the record
    <root>/locks/<key>.lock          held (flock) by the one worker computing <key>
    <root>/quarantine/               records that could not be read, set aside (never deleted) and recomputed
    <root>/train_logs/<hash>.jsonl   the training log of each scored checkpoint, by content hash (for the report)
    <root>/token_analysis.json       the testbed's token analysis (profit_core/formats/token_analysis.py)
    <root>/.pipeline_state.json      what `profit pipeline` last analysed and reported

Locks are kernel `flock`s, so a killed worker's claim vanishes with its process: no stale lock can block a resume.
Every file is written to a temporary name in its own folder, fsynced, then `os.replace`d, so a reader sees either
nothing or a whole file.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import logging
import os
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from profit_core.errors import UserError
from profit_core.files import atomic_write, canonical_json
from profit_core.folders import FolderError, claim, refuse_file
from profit_core.formats import pipeline_state, store_record, token_analysis, train_log
from profit_core.formats.store_record import SCHEMA, record_key

log = logging.getLogger("profit.store")

__all__ = ["SCHEMA", "Store", "StoreError", "record_key"]

# What a store folder holds; anything else in it means it is not a store.
ENTRIES = ("records", "samples", "locks", "quarantine", "train_logs", "token_analysis.json", ".pipeline_state.json")


class StoreError(UserError):
    """The store folder cannot be used; the message says what is wrong and what to do."""


class Store:
    """Records keyed by `record_key`; `claim` hands each missing key to exactly one live worker."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.records = self.root / "records"
        self.samples = self.root / "samples"
        self.locks = self.root / "locks"
        self.quarantine = self.root / "quarantine"
        self.set_aside: list[str] = []  # what this process moved to quarantine, and why
        self.skipped: list[str] = []  # whole records it cannot read (another schema), left where they are

    def check(self, create: bool = False) -> Store:
        """Refuse a store path that is a file, a store whose records/ is not a folder, or a folder that is not a
        store; with create, make (and mark) the folder. Call before any work whose results it will hold; without
        create nothing is written."""
        try:
            refuse_file(self.root, "results store")
            claim(self.root, "store", ENTRIES, what="results store", create=create)
        except FolderError as err:
            raise StoreError(str(err)) from None
        for sub in (self.records, self.samples, self.locks, self.quarantine):
            if sub.exists() and not sub.is_dir():
                raise StoreError(f"results store {self.root}: {sub.name} is a file, not a folder; move it away")
        if create:
            self.records.mkdir(exist_ok=True)
        return self

    def record_path(self, key: str) -> Path:
        return self.records / f"{key}.json"

    def samples_path(self, key: str) -> Path:
        return self.samples / f"{key}.jsonl.gz"

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    def get(self, key: str) -> dict | None:
        """The record, or None when there is none; an unusable record is set aside first (so it is recomputed)."""
        path = self.record_path(key)
        return self._read(path) if path.is_file() else None

    def put(self, record: dict, samples: Iterable[dict]) -> None:
        """Samples first, record last: a record never points at samples that are not there yet."""
        key = record["key"]
        why = store_record.problem(record)
        if why or record.get("schema") != SCHEMA:
            raise ValueError(f"refusing to store a malformed record {key}: {why}")
        lines = "".join(canonical_json(s) + "\n" for s in samples).encode()
        atomic_write(self.samples_path(key), gzip.compress(lines, mtime=0))
        atomic_write(self.record_path(key), json.dumps(record, indent=1, sort_keys=True) + "\n")

    # ---- the other files a store holds: written only here ------------------------------------------------------

    def train_log_path(self, content_hash: str) -> Path:
        return self.root / "train_logs" / f"{content_hash[:24]}.jsonl"

    def put_train_log(self, content_hash: str, entries: list[dict]) -> None:
        atomic_write(self.train_log_path(content_hash), "".join(json.dumps(e) + "\n" for e in entries))

    def train_log(self, content_hash: str) -> tuple[list[dict], int]:
        """(entries, unreadable lines) of a scored checkpoint's training log; ([], 0) when there is none."""
        return train_log.read(self.train_log_path(content_hash))

    @property
    def token_analysis_path(self) -> Path:
        return self.root / token_analysis.NAME

    def put_token_analysis(self, doc: dict) -> None:
        token_analysis.write(self.token_analysis_path, doc)

    def pipeline_state(self) -> dict:
        return pipeline_state.read(self.root)

    def put_pipeline_state(self, state: dict) -> None:
        pipeline_state.write(self.root, state)

    def read_samples(self, key: str) -> list[dict]:
        with gzip.open(self.samples_path(key), "rt") as f:
            return [json.loads(line) for line in f]

    def scan(self) -> Iterator[tuple[str, dict]]:
        """(file name, record) of every usable record, by file name; corrupt ones are set aside (`set_aside`),
        records of another schema skipped (`skipped`)."""
        # Hidden names are other writers' temporary files (records are written by rename).
        for path in sorted(p for p in self.records.glob("*.json") if not p.name.startswith(".")):
            raw = self._read(path)
            if raw is not None:
                yield path.name, raw

    def iter_records(self) -> Iterator[dict]:
        return (raw for _, raw in self.scan())

    def _read(self, path: Path) -> dict | None:
        try:
            return store_record.read(path)
        except FileNotFoundError:  # set aside or replaced by another process meanwhile
            return None
        except store_record.Unusable as err:
            if err.corrupt:
                self._set_aside(path, err.why)
            else:
                self.skipped.append(f"records/{path.name}: skipped, {err.why} (written by another harness version)")
            return None

    def _set_aside(self, path: Path, why: str) -> None:
        """Move an unusable record into quarantine/ (never delete it), with a note of why beside it."""
        self.quarantine.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = self.quarantine / f"{path.name}.{stamp}"
        n = 1
        while target.exists():
            target = self.quarantine / f"{path.name}.{stamp}.{n}"
            n += 1
        try:
            os.replace(path, target)
        except FileNotFoundError:  # another process set it aside first
            return
        atomic_write(target.with_name(target.name + ".why.txt"), why + "\n")
        message = f"records/{path.name}: {why}; set aside in {target.relative_to(self.root)}, to be recomputed"
        self.set_aside.append(message)
        log.warning("%s", message)

    def reproduces(self, reference: Store) -> tuple[list[str], list[str], list[str]]:
        """(identical, differing, new) keys of this store's records against `reference`'s: identical when the
        reference holds the same key (same checkpoint content, task, settings) with the same metrics and per-question
        scores."""
        identical, differing, new = [], [], []
        for mine in self.iter_records():
            theirs = reference.get(mine["key"])
            if theirs is None:
                new.append(mine["key"])
            elif (mine["metrics"], mine.get("per_doc")) == (theirs["metrics"], theirs.get("per_doc")):
                identical.append(mine["key"])
            else:
                differing.append(mine["key"])
        return identical, differing, new

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
