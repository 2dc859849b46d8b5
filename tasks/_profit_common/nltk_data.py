"""Point nltk at the punkt_tab data shipped with profit_ifeval, so IFEval scoring never tries to download it."""

from __future__ import annotations

from pathlib import Path

NLTK_DATA_DIR = Path(__file__).resolve().parents[1] / "profit_ifeval" / "nltk_data"


def use_bundled_nltk_data() -> None:
    """Must run before `lm_eval.tasks.ifeval` is imported: that import downloads punkt_tab when nltk cannot find it."""
    import nltk

    if not (NLTK_DATA_DIR / "tokenizers" / "punkt_tab" / "english").is_dir():
        raise FileNotFoundError(f"the bundled nltk punkt_tab data is missing: {NLTK_DATA_DIR}")
    if str(NLTK_DATA_DIR) not in nltk.data.path:
        nltk.data.path.append(str(NLTK_DATA_DIR))
