"""ARC-Challenge data hook (paths from this file, so `lm_eval --include_path` works from any folder)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    # lm-eval loads this file by path; the shared helpers live in tasks/_profit_common
    sys.path.append(str(HERE.parent))

from _profit_common.data import read_jsonl, test_split  # noqa: E402
from _profit_common.scorers import score_multiple_choice  # noqa: E402,F401  (named by the YAML)
from _profit_common.task import ProfitTask  # noqa: E402,F401  (named by the YAML)


def load(**_metadata):
    """The 1172 test questions in file order: `choices` (texts, in the file's label order), `letters` ("ABCD"; "ABC"
    or "ABCDE" for 7 questions) and the gold `answer` letter."""
    docs = []
    for row in read_jsonl(HERE / "data" / "test.jsonl"):
        labels = row["choices"]["label"]
        letters = "".join(labels)
        if letters != "ABCDE"[: len(labels)] or row["answerKey"] not in labels:
            raise ValueError(f"ARC row {row['id']}: labels {labels}, answer {row['answerKey']!r}: not A, B, C, ...")
        docs.append({"id": row["id"], "question": row["question"].strip(),
                     "choices": [text.strip() for text in row["choices"]["text"]],
                     "letters": letters, "answer": row["answerKey"]})
    return test_split(docs)
