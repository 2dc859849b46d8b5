"""lm-eval's `local-completions` with one change: a distinct, reproducible seed per request.

Stock lm-eval sends the same `seed` with every request, so under sampling the k repeats of a problem come back
identical and avg@k collapses to avg@1. Here request i of a run gets seed + i (requests are built in a fixed order).
"""

from __future__ import annotations

import itertools

from lm_eval.api.registry import register_model
from lm_eval.models.openai_completions import LocalCompletionsAPI


@register_model("profit-local-completions")
class SeededLocalCompletions(LocalCompletionsAPI):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._request_seeds = itertools.count(self._seed)

    def _create_payload(self, messages, generate=False, gen_kwargs=None, seed: int = 1234, eos=None, **kwargs):
        if generate and (gen_kwargs or {}).get("temperature", 0) > 0:
            seed = next(self._request_seeds)
        return super()._create_payload(messages, generate=generate, gen_kwargs=gen_kwargs, seed=seed, eos=eos,
                                       **kwargs)
