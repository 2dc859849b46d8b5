"""MMLU data hook: reads the 57 test CSVs from the bundled tar.xz in memory (paths from this file, so
`lm_eval --include_path` works from any folder)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    # lm-eval loads this file by path; the shared helpers live in tasks/_profit_common
    sys.path.append(str(HERE.parent))

import csv  # noqa: E402
import io  # noqa: E402
import tarfile  # noqa: E402

from _profit_common.data import test_split, verified_bytes  # noqa: E402
from _profit_common.scorers import score_multiple_choice  # noqa: E402,F401  (named by the YAML)
from _profit_common.task import ProfitTask  # noqa: E402,F401  (named by the YAML)

ARCHIVE = HERE / "data" / "test.tar.xz"
SUFFIX = "_test.csv"


def read_members() -> dict[str, bytes]:
    """{"test/<subject>_test.csv": bytes} for the 57 CSVs, after checking the archive against SHA256SUMS."""
    with tarfile.open(fileobj=io.BytesIO(verified_bytes(ARCHIVE)), mode="r:xz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def load(**_metadata):
    """The 14042 test questions, subjects in alphabetical order, rows in file order: `id` ("<subject>/<row>"),
    `subject`, `question`, `choices` (4 texts), `letters` ("ABCD") and the gold `answer` letter."""
    docs = []
    for name, data in sorted(read_members().items()):
        subject = name.rsplit("/", 1)[-1].removesuffix(SUFFIX)
        # Hendrycks' CSVs have no header: question, A, B, C, D, answer letter.
        for i, row in enumerate(csv.reader(io.StringIO(data.decode("utf-8"), newline=""))):
            if len(row) != 6 or row[5] not in ("A", "B", "C", "D"):
                raise ValueError(f"MMLU {name} row {i}: expected question, 4 choices and a letter, got {row!r}")
            docs.append({"id": f"{subject}/{i}", "subject": subject, "question": row[0].strip(),
                         "choices": [text.strip() for text in row[1:5]], "letters": "ABCD", "answer": row[5]})
    return test_split(docs)
