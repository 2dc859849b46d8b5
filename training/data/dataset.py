"""From a data file to tokenized, masked, truncated examples, with the counts the run manifest records."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from profit_core.files import sha256_file

from .formats import BadRow, detect_format, to_messages
from .reading import read_rows
from .render import IGNORE_INDEX, ChatRenderer


@dataclass
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]
    row: int = 0  # which row of the data file (0-based, blank lines not counted) it came from

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class DataStats:
    path: str
    format: str
    sha256: str
    rows: int = 0  # examples kept for training
    skipped_rows: int = 0  # malformed rows skipped under skip_bad_rows
    truncated: int = 0  # examples cut to cutoff_len
    no_supervision: int = 0  # examples left without any assistant token after truncation (dropped)
    supervised_tokens: int = 0
    skipped_examples: list[str] = field(default_factory=list)  # the first few reasons, for the log

    def manifest(self) -> dict:
        out = asdict(self)
        out.pop("skipped_examples")
        return out


class ExampleList:
    """A torch-style dataset of dicts (what Trainer and its length-grouped sampler expect)."""

    def __init__(self, examples: list[TokenizedExample]):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        ex = self.examples[i]
        return {"input_ids": ex.input_ids, "labels": ex.labels, "row": ex.row}


def build_dataset(
    path: str | Path,
    renderer: ChatRenderer,
    cutoff_len: int,
    data_format: str = "auto",
    skip_bad_rows: bool = False,
    show_progress: bool = True,
) -> tuple[ExampleList, DataStats]:
    """Every row becomes one example; a malformed row raises BadRow naming file, line and reason (or is counted)."""
    stats = DataStats(path=str(path), format=data_format, sha256=sha256_file(path))
    examples: list[TokenizedExample] = []
    for number, (where, row) in enumerate(tqdm(read_rows(path), desc="tokenizing", unit=" rows",
                                               disable=not show_progress)):
        try:
            if isinstance(row, BadRow):
                raise row
            if stats.format == "auto":
                stats.format = detect_format(row)
            ids, labels = renderer.encode(to_messages(row, stats.format))
        except BadRow as err:
            if not skip_bad_rows:
                raise BadRow(f"{where}: {err} (set skip_bad_rows: true to skip and count such rows)") from None
            stats.skipped_rows += 1
            if len(stats.skipped_examples) < 5:
                stats.skipped_examples.append(f"{where}: {err}")
            continue
        if len(ids) > cutoff_len:
            ids, labels = ids[:cutoff_len], labels[:cutoff_len]
            stats.truncated += 1
        supervised = sum(1 for t in labels[1:] if t != IGNORE_INDEX)
        if supervised == 0:
            stats.no_supervision += 1
            continue
        stats.supervised_tokens += supervised
        examples.append(TokenizedExample(ids, labels, number))
    stats.rows = len(examples)
    if not examples:
        raise BadRow(f"{path}: no usable training example (skipped {stats.skipped_rows}, "
                     f"without supervised tokens after truncation {stats.no_supervision})")
    return ExampleList(examples), stats
