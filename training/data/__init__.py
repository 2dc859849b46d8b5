"""Training data: read local files, turn each row into chat messages, render and mask with a chat template."""

from .collate import PackedCollator, PaddedCollator
from .dataset import DataStats, TokenizedExample, build_dataset
from .formats import BadRow, detect_format, to_messages
from .reading import read_rows
from .render import CHATML_TEMPLATE, ChatRenderer

__all__ = [
    "CHATML_TEMPLATE",
    "BadRow",
    "ChatRenderer",
    "DataStats",
    "PackedCollator",
    "PaddedCollator",
    "TokenizedExample",
    "build_dataset",
    "detect_format",
    "read_rows",
    "to_messages",
]
