"""GPQA-Diamond data hook: decrypts the authors' zip in memory and fixes each question's choice order."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    # lm-eval loads this file by path; the shared helpers live in tasks/_profit_common
    sys.path.append(str(HERE.parent))

import csv  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import zipfile  # noqa: E402

from _profit_common.data import test_split, verified_bytes  # noqa: E402
from _profit_common.scorers import score_gpqa_diamond  # noqa: E402,F401  (named by the YAML)
from _profit_common.task import ProfitTask  # noqa: E402,F401  (named by the YAML)

# Published in the dataset's README; it only keeps the questions away from web crawlers (see data/PROVENANCE.md).
ZIP_PASSWORD = b"deserted-untie-orchid"
MEMBER = "dataset/gpqa_diamond.csv"
LETTERS = "ABCD"


def choice_order(record_id: str) -> list[int]:
    """A permutation of the 4 options (0 = the correct one) fixed per question: sorted by sha256(id:index), so it
    is the same on every machine and Python version and needs no global seed."""
    return sorted(range(4), key=lambda i: hashlib.sha256(f"{record_id}:{i}".encode()).hexdigest())


def load(**_metadata):
    """The 198 Diamond questions with options A-D and the correct letter. Nothing decrypted is written anywhere."""
    archive = io.BytesIO(verified_bytes(HERE / "data" / "dataset.zip"))
    with zipfile.ZipFile(archive) as zf:
        table = zf.read(MEMBER, pwd=ZIP_PASSWORD).decode("utf-8")
    docs = []
    for row in csv.DictReader(io.StringIO(table)):
        options = [row["Correct Answer"]] + [row[f"Incorrect Answer {k}"] for k in (1, 2, 3)]
        order = choice_order(row["Record ID"])
        doc = {"id": row["Record ID"], "question": row["Question"].strip(), "subdomain": row["Subdomain"]}
        doc.update({LETTERS[pos]: options[i].strip() for pos, i in enumerate(order)})
        doc["answer"] = LETTERS[order.index(0)]
        docs.append(doc)
    return test_split(docs)
