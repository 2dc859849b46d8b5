"""IFEval data hook and scoring aggregation; nltk is pointed at the bundled punkt_tab before anything imports it."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    # lm-eval loads this file by path; the shared helpers live in tasks/_profit_common
    sys.path.append(str(HERE.parent))

from _profit_common.data import read_jsonl, test_split  # noqa: E402
from _profit_common.nltk_data import use_bundled_nltk_data  # noqa: E402
from _profit_common.scorers import score_ifeval  # noqa: E402,F401  (named by the YAML)
from _profit_common.task import ProfitTask  # noqa: E402,F401  (named by the YAML)

use_bundled_nltk_data()
from lm_eval.tasks.ifeval.utils import agg_inst_level_acc  # noqa: E402,F401  (named by the YAML)


def load(**_metadata):
    """The 541 prompts with their instruction ids and kwargs (the google-research input_data.jsonl)."""
    return test_split(read_jsonl(HERE / "data" / "input_data.jsonl"))
