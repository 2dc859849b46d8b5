"""`ProfitTask`: the lm-eval task class every profit_* YAML names with `class: !function utils.ProfitTask`.

It differs from lm-eval's ConfigurableTask only in `process_results`:
- the YAML's `process_results` is a per-response scorer from `scorers.SCORERS`; it is applied to *every* repeat of a
  doc (the YAML's empty filter keeps all of them), inside the sandboxed worker, and metrics are averaged over repeats
  (avg@k); IFEval's instruction-level lists are pooled;
- a response the worker cannot score within its time limit gets the empty response's verdict (wrong), computed here
  without a worker; so does one that `bounds.py` refuses, in the worker, before parsing it;
- `PROFIT_STRIP_THINK=1` scores only the text after `</think>`;
- `truncated` (share of generations cut at `max_gen_toks`, read from the task's live generation_kwargs, so it follows
  any override) is added when it can be measured (see truncation.py).
"""

from __future__ import annotations

import logging

from _profit_common.sandbox import ScoringFailed, shared_sandbox
from _profit_common.scorers import SCORERS, empty_verdict
from _profit_common.text import strip_think, strip_think_enabled
from _profit_common.truncation import is_truncated
from lm_eval.api.task import ConfigurableTask

log = logging.getLogger(__name__)


def _scorer_name(fn) -> str:
    for name, scorer in SCORERS.items():
        if fn is scorer:
            return name
    raise ValueError(
        f"profit task: `process_results` must be one of the scorers in _profit_common/scorers.py "
        f"({', '.join(f.__name__ for f in SCORERS.values())}), got {fn!r}"
    )


def average_repeats(per_repeat: list[dict]) -> dict:
    """Numbers are averaged over repeats; lists (instruction-level booleans) are concatenated."""
    out = {}
    for key, first in per_repeat[0].items():
        values = [r[key] for r in per_repeat]
        if isinstance(first, list):
            out[key] = [v for vs in values for v in vs]
        else:
            out[key] = sum(map(float, values)) / len(values)
    return out


class ProfitTask(ConfigurableTask):
    def __init__(self, config: dict | None = None, **kwargs):
        config = {k: v for k, v in (config or {}).items() if k != "class"}
        self._scorer = _scorer_name(config.get("process_results"))
        super().__init__(config=config, **kwargs)

    def process_results(self, doc: dict, results: list) -> dict:
        (responses,) = results
        if isinstance(responses, str):
            raise TypeError(
                f"{self.config.task}: process_results got one response per doc; profit tasks need every repeat, "
                "i.e. `filter_list: [{name: none, filter: []}]` in the YAML"
            )
        strip = strip_think_enabled()
        per_repeat = [self._score(doc, strip_think(r) if strip else str(r)) for r in responses]
        out = average_repeats(per_repeat)
        max_gen_toks = (self.config.generation_kwargs or {}).get("max_gen_toks")
        cut = [is_truncated(r, max_gen_toks) for r in responses]
        if None not in cut:
            out["truncated"] = sum(cut) / len(cut)
        return out

    def _score(self, doc: dict, response: str) -> dict:
        sandbox = shared_sandbox()
        try:
            return sandbox.score(self._scorer, doc, response)
        except ScoringFailed as exc:
            log.warning("%s: a response could not be scored (%s); counted as wrong", self.config.task, exc)
            return empty_verdict(self._scorer, doc)
