"""MATH-500 data hook (paths from this file, so `lm_eval --include_path` works from any folder)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    # lm-eval loads this file by path; the shared helpers live in tasks/_profit_common
    sys.path.append(str(HERE.parent))

from _profit_common.data import read_jsonl, test_split  # noqa: E402
from _profit_common.scorers import score_math500  # noqa: E402,F401  (named by the YAML)
from _profit_common.task import ProfitTask  # noqa: E402,F401  (named by the YAML)


def load(**_metadata):
    """The 500 problems; `answer` is the reference final answer (LaTeX)."""
    return test_split(read_jsonl(HERE / "data" / "test.jsonl"))
