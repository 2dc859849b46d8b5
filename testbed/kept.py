"""What a training run actually trained on: the mean weight its loss gave the core, trivial and neutral tokens of
the SFT data (for a hard gate, the share it kept), from `profit train`'s token log (`token_log: true`) joined with
the data's ground-truth labels. Never a recomputation of the gate: `random` draws, entropy ranks and p all move as
the model trains, so only the weights the loss used say what it used.

The labels of a data file `X.jsonl` are in `X_labels.jsonl` beside it: one `{"char_labels": "..."}` per row, one
character per character of the row's answer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from profit_core.errors import UserError
from profit_core.formats import run_manifest, token_log
from training.data import ChatRenderer
from training.data.reading import read_rows

from .encode import UNSUPERVISED, encode
from .render import LABEL_NAMES, Rendered


def labels_path(data: str | Path) -> Path:
    data = Path(data)
    return data.with_name(f"{data.stem}_labels.jsonl")


def token_labels(run: Path, data: Path) -> dict[int, str]:
    """Data row -> the label of each of its tokens, rendered exactly as the run rendered it (its tokenizer and
    chat template, saved in the run folder)."""
    from transformers import AutoTokenizer

    renderer = ChatRenderer.choose(AutoTokenizer.from_pretrained(run))
    labels = [json.loads(line)["char_labels"] for line in labels_path(data).read_text(encoding="utf-8").splitlines()]
    out = {}
    for row, ((_, messages), chars) in enumerate(zip(read_rows(data), labels)):
        turns = messages["messages"]
        ref = Rendered(turns[0]["content"], turns[1]["content"], chars, answer=0, steps=0)
        out[row] = encode(renderer, ref).token_labels
    return out


def kept_shares(run: str | Path) -> dict:
    """{"kept": {"core": mean weight, "trivial": ..., "neutral": ...}, "tokens": {class: count}, "steps": n}."""
    run = Path(run)
    manifest = run_manifest.read(run)
    if not manifest or manifest.get("complete") is not True:
        raise UserError(f"{run}: not a finished training run")
    data = Path(manifest["data"]["path"])
    if not labels_path(data).is_file():
        raise UserError(f"{data}: no ground-truth labels beside it ({labels_path(data).name})")
    by_row = token_labels(run, data)
    weight, count, steps = defaultdict(float), defaultdict(int), set()
    for entry in token_log.read(run):
        steps.add(entry["step"])
        for row, token, w in zip(entry["row"], entry["token"], entry["weight"]):
            label = by_row[row][token]
            if label == UNSUPERVISED:
                raise ValueError(f"{run}: the token log names token {token} of row {row}, which is not supervised")
            weight[LABEL_NAMES[label]] += w
            count[LABEL_NAMES[label]] += 1
    if not steps:
        raise UserError(f"{run}: no token log (train with token_log: true)")
    names = list(LABEL_NAMES.values())
    return {"kept": {n: round(weight[n] / count[n], 4) if count[n] else None for n in names},
            "tokens": {n: count[n] for n in names}, "steps": len(steps)}
