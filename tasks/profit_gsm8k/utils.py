"""GSM8K data hooks (paths from this file, so `lm_eval --include_path` works from any folder)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    # lm-eval loads this file by path; the shared helpers live in tasks/_profit_common
    sys.path.append(str(HERE.parent))

from _profit_common.data import read_jsonl, test_split  # noqa: E402
from _profit_common.scorers import score_gsm8k  # noqa: E402,F401  (named by the YAML)
from _profit_common.task import ProfitTask  # noqa: E402,F401  (named by the YAML)


def load(**_metadata):
    """The 1319 test problems; `target` is the number after `####`, without thousands separators."""
    rows = read_jsonl(HERE / "data" / "test.jsonl")
    for row in rows:
        row["target"] = row["answer"].rsplit("####", 1)[1].strip().replace(",", "")
    return test_split(rows)


def fewshot_exemplars():
    """The 4 HUMAN/BOT exemplars of OpenCompass gsm8k_gen_1d7fe4, in order (fields `question`, `cot`)."""
    return read_jsonl(HERE / "data" / "fewshot_opencompass.jsonl")
