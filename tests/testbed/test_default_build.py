"""The default build end to end (minutes on two cores): slow, run with `pytest -m slow`."""

import pytest

from testbed import BaseConfig, build_base, token_probabilities


@pytest.mark.slow
def test_default_base_separates_core_from_trivial_tokens(tmp_path_factory):
    """The paper's premise, with exact labels: the base gives core tokens a clearly higher p than trivial ones.
    (Its accuracy on the task and retention splits is measured through the harness: the quickstart's base row.)"""
    base = build_base(tmp_path_factory.mktemp("default") / "base", config=BaseConfig(), progress=False)
    sft_wording = token_probabilities(base, n=100)[0]
    assert sft_wording["mean"]["core"] > sft_wording["mean"]["trivial"] + 0.15
