"""What a training run actually trained on: the mean weight its loss gave the core, trivial and neutral tokens of
the SFT data (for a hard gate, the share it kept), from `profit train`'s token log (`token_log: true`) joined with
the data's ground-truth labels (beside the data file: data.labels_path). Never a recomputation of the gate: `random`
draws, entropy ranks and p all move as the model trains, so only the weights the loss used say what it used.

Exact labels (the testbed's) are `{"char_labels": ...}` rows; rule labels (testbed/gsm8k_labels.py) also name their
`labeller`, and with them a token with core and trivial characters counts as `mixed` (testbed/encode.py) instead of
stopping the analysis.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from profit_core.errors import UserError
from profit_core.formats import run_manifest, token_log
from training.data import ChatRenderer
from training.data.formats import BadRow, detect_format, to_messages
from training.data.reading import read_rows

from .data import labels_path
from .encode import TOKEN_LABEL_NAMES, UNSUPERVISED, class_names, encode
from .render import Rendered


def read_labels(data: str | Path) -> list[dict]:
    """The rows of the labels file beside `data`."""
    return [json.loads(line) for line in labels_path(data).read_text(encoding="utf-8").splitlines()]


def labeller(data: str | Path) -> str | None:
    """Which rules made the labels beside `data` (None: exact labels, or no labels file)."""
    path = labels_path(data)
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    return json.loads(first).get("labeller") if first.strip() else None


def token_labels(run: Path, data: Path, data_format: str = "auto") -> dict[int, str]:
    """Data row -> the label of each of its tokens, rendered exactly as the run rendered it (its tokenizer and
    chat template, saved in the run folder; its data format's conversion)."""
    from transformers import AutoTokenizer

    renderer = ChatRenderer.choose(AutoTokenizer.from_pretrained(run))
    labels = read_labels(data)
    mixed = any("labeller" in row for row in labels)
    rows = [row for _, row in read_rows(data)]
    if len(rows) != len(labels):
        raise UserError(f"{labels_path(data)}: {len(labels)} rows for the {len(rows)} rows of {data}")
    out = {}
    for index, (row, chars) in enumerate(zip(rows, labels)):
        if isinstance(row, BadRow):  # a row the run skipped (skip_bad_rows): never in its token log
            continue
        turns = [m for m in to_messages(row, detect_format(row) if data_format == "auto" else data_format)
                 if m["role"] != "system"]
        ref = Rendered(turns[0]["content"], turns[1]["content"], chars["char_labels"], answer=0, steps=0)
        try:
            out[index] = encode(renderer, ref, mixed=mixed).token_labels
        except ValueError as err:
            raise UserError(f"{labels_path(data)}: row {index + 1}: {err}") from None
    return out


def kept_shares(run: str | Path) -> dict:
    """{"kept": {"core": mean weight, "trivial": ..., "neutral": ...}, "tokens": {class: count}, "steps": n}; with
    rule labels also the `mixed` class."""
    run = Path(run)
    manifest = run_manifest.read(run)
    if not manifest or manifest.get("complete") is not True:
        raise UserError(f"{run}: not a finished training run")
    data = Path(manifest["data"]["path"])
    if not labels_path(data).is_file():
        raise UserError(f"{data}: no ground-truth labels beside it ({labels_path(data).name})")
    by_row = token_labels(run, data, manifest["data"].get("format", "auto"))
    weight, count, steps = defaultdict(float), defaultdict(int), set()
    for entry in token_log.read(run):
        steps.add(entry["step"])
        for row, token, w in zip(entry["row"], entry["token"], entry["weight"]):
            label = by_row[row][token]
            if label == UNSUPERVISED:
                raise ValueError(f"{run}: the token log names token {token} of row {row}, which is not supervised")
            weight[TOKEN_LABEL_NAMES[label]] += w
            count[TOKEN_LABEL_NAMES[label]] += 1
    if not steps:
        raise UserError(f"{run}: no token log (train with token_log: true)")
    names = class_names(labeller(data) is not None)
    return {"kept": {n: round(weight[n] / count[n], 4) if count[n] else None for n in names},
            "tokens": {n: count[n] for n in names}, "steps": len(steps)}
