"""The testbed: a small base model pretrained offline on a generated corpus, and a synthetic one-to-many
reasoning task with a ground-truth core / trivial label for every token of every reference.

    from testbed import analysis, build_base, variant_base
    base = build_base()                                  # cached folder; transformers and vLLM load it
    core = build_base(config=variant_base("core-skill"))  # the base of a design variant (variants.py)
    doc = analysis({"testbed-base": base}, runs=[...])   # core vs trivial token p; what each run trained on

Its problems are multi-step add/subtract word problems whose references mix CORE tokens (equations, the answer)
with TRIVIAL wording from paraphrase pools. Objectives are compared on it through the main stack (`profit train`,
`profit eval` with the lm-eval task tasks/profit_testbed, `profit report`), as `profit pipeline` runs them.
Layering: it builds on training and tasks; the harness builds on it.
"""

from .analysis import analysis, token_probabilities
from .build import TINY, BaseConfig, base_folder, build_base, cache_root, variant_base
from .splits import TestbedSpec
from .variants import VARIANTS

__all__ = ["TINY", "VARIANTS", "BaseConfig", "TestbedSpec", "analysis", "base_folder", "build_base", "cache_root",
           "token_probabilities", "variant_base"]
