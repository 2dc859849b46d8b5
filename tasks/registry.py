"""What the harness needs to know about the profit_* tasks without loading lm-eval: names, primary metric keys as
lm-eval reports them, default generation limits, and the environment that scoring reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tasks._profit_common.nltk_data import NLTK_DATA_DIR

TASKS_DIR = Path(__file__).resolve().parent
GROUP = "profit_paper5"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    label: str  # column header in tables (the paper's, for its benchmarks)
    primary_metric: str  # the key in lm-eval's results[task], "<metric>,<filter>"
    max_gen_toks: int  # the YAML's default (the paper's protocol)
    paper_repeats: int  # samples averaged per problem in the paper (avg@k)
    in_paper: bool = False  # one of the paper's five benchmarks (its Table 1 columns and Avg)

    @property
    def id(self) -> str:
        """The benchmark's short id (file names, the paper-table CSV's columns): the name without `profit_`."""
        return self.name.removeprefix("profit_")


# In the column order of the paper's Table 1, then this project's own tasks. The group `profit_paper5` runs the
# five paper benchmarks; reports order their columns as listed here.
_SPECS = [
    TaskSpec("profit_gpqa_diamond", "GPQA-D", "acc,none", 8192, 8, in_paper=True),
    TaskSpec("profit_gsm8k", "GSM8K", "acc,none", 8192, 8, in_paper=True),
    TaskSpec("profit_math500", "MATH-500", "acc,none", 8192, 8, in_paper=True),
    TaskSpec("profit_aime24", "AIME'24", "acc,none", 32768, 32, in_paper=True),
    TaskSpec("profit_ifeval", "IFEval", "prompt_level_strict_acc,none", 8192, 8, in_paper=True),
    TaskSpec("profit_arc_challenge", "ARC-C", "acc,none", 64, 1),
    TaskSpec("profit_mmlu", "MMLU", "acc,none", 64, 1),
    TaskSpec("profit_gsm8k_cot_zeroshot", "GSM8K (0-shot)", "acc,none", 8192, 8),
    TaskSpec("profit_testbed", "Testbed", "acc,none", 96, 1),
    TaskSpec("profit_testbed_retention", "Retention", "acc,none", 96, 1),
    TaskSpec("profit_testbed_dev", "Testbed dev", "acc,none", 96, 1),
]
TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in _SPECS}
PAPER5 = [spec.name for spec in _SPECS if spec.in_paper]


def scoring_env(tokenizer: str | os.PathLike | None = None, strip_think: bool = False) -> dict[str, str]:
    """Environment variables the tasks read at scoring time:
    NLTK_DATA (bundled punkt_tab, so IFEval never downloads), PROFIT_TOKENIZER (a local tokenizer folder, enables the
    `truncated` metric), PROFIT_STRIP_THINK (score only the text after `</think>`)."""
    env = {"NLTK_DATA": os.pathsep.join(p for p in (str(NLTK_DATA_DIR), os.environ.get("NLTK_DATA", "")) if p)}
    if tokenizer is not None:
        env["PROFIT_TOKENIZER"] = str(Path(tokenizer).resolve())
    env["PROFIT_STRIP_THINK"] = "1" if strip_think else "0"
    return env


def apply_scoring_env(tokenizer: str | os.PathLike | None = None, strip_think: bool = False) -> None:
    """Set `scoring_env(...)` in this process (call before lm-eval imports its IFEval checkers)."""
    os.environ.update(scoring_env(tokenizer, strip_think))
