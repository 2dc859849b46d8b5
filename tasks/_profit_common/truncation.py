"""Was a generation cut at the token limit? lm-eval hands `process_results` only the text, so we ask, in order:

1. the response's own `finish_reason` attribute ("length" = cut), set by backends that know it (the replay model);
2. the tokenizer named by `PROFIT_TOKENIZER` (a local model folder): the text re-tokenised is within
   `TRUNCATION_SLACK` of `max_gen_toks`. Re-tokenising can merge tokens the model emitted separately, hence the slack;
3. neither: unknown, and the task then reports no `truncated` metric at all rather than a guess.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

TRUNCATION_SLACK = 0.02


@lru_cache(maxsize=2)
def _tokenizer(path: str):
    from transformers import AutoTokenizer

    if not os.path.isdir(path):
        raise FileNotFoundError(f"PROFIT_TOKENIZER={path!r} is not a folder with a tokenizer (use the model's folder)")
    return AutoTokenizer.from_pretrained(path, local_files_only=True)


def token_threshold(max_gen_toks: int) -> int:
    return max_gen_toks - max(1, math.ceil(TRUNCATION_SLACK * max_gen_toks))


def is_truncated(response: str, max_gen_toks: int | None) -> bool | None:
    reason = getattr(response, "finish_reason", None)
    if reason is not None:
        return reason == "length"
    path = os.environ.get("PROFIT_TOKENIZER")
    if not path or not max_gen_toks:
        return None
    n_tokens = len(_tokenizer(path)(str(response), add_special_tokens=False)["input_ids"])
    return n_tokens >= token_threshold(int(max_gen_toks))
