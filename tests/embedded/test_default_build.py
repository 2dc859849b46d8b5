"""The default build end to end (minutes on two cores): slow, run with `pytest -m slow`."""

import json

import pytest

from training.embedded import BaseConfig, build_base, token_probabilities
from training.embedded.build import MANIFEST


@pytest.mark.slow
def test_default_base_knows_the_pretraining_task_and_separates_core_from_trivial(tmp_path_factory):
    base = build_base(tmp_path_factory.mktemp("default") / "base", config=BaseConfig(), progress=False)
    record = json.loads((base / MANIFEST).read_text())
    acc = record["greedy_accuracy"]
    # learnable but not yet learned: the pretraining skill is there, the longer SFT-task chains mostly not
    assert acc["retention"] >= 0.8 and acc["test"] <= 0.5
    sft_wording = token_probabilities(base, n=100)["models"][0]
    assert sft_wording["mean"]["core"] > sft_wording["mean"]["trivial"] + 0.15
