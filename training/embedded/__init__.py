"""The embedded offline default: a small base model pretrained on a generated corpus, and its testbed.

    from training.embedded import build_base, token_probabilities
    base = build_base()                       # cached folder; AutoModelForCausalLM / vLLM load it
    stats = token_probabilities(base, n=300)  # core vs trivial token p, and what the ProFit gate does

The testbed (tasks/profit_testbed) holds multi-step add/subtract word problems whose reference solutions mix
CORE tokens (equations, the answer) with TRIVIAL wording from paraphrase pools, with a label for every token.
"""

from .analysis import token_probabilities
from .build import TINY, BaseConfig, base_folder, build_base, cache_root
from .splits import TestbedSpec

__all__ = ["TINY", "BaseConfig", "TestbedSpec", "base_folder", "build_base", "cache_root", "token_probabilities"]
