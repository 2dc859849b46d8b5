import pytest

from testbed.analysis import BINS, built_variant, token_probabilities
from testbed.splits import TestbedSpec
from testbed.variants import VARIANTS


def test_token_probabilities_are_consistent(tiny_base):
    models = token_probabilities(tiny_base, n=6, label="tiny")
    assert [m["wording"] for m in models] == ["sft", "pretrain"]
    assert [m["label"] for m in models] == ["tiny (sft wording)", "tiny (pretrain wording)"]
    for entry in models:
        assert entry["method"] == "base"
        assert len(entry["hist"]["edges"]) == BINS + 1
        names = ("core", "trivial", "neutral")
        assert sum(entry["count"][name] for name in names) == entry["count"]["overall"]
        for name in names:
            assert entry["count"][name] > 0
            assert sum(entry["hist"][name]) == entry["count"][name]
            assert entry["mean"][name] == round(entry["mean"][name], 4) and entry["mean"][name] > 0


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_variants_references_are_scored_in_its_layout_and_wording(tiny_base, variant):
    models = token_probabilities(tiny_base, n=3, spec=TestbedSpec(variant=variant), label="tiny")
    for entry in models:
        assert all(entry["count"][name] > 0 for name in ("core", "trivial", "neutral"))
    sft, pretrain = (m["mean"] for m in models)
    assert (sft == pretrain) == (VARIANTS[variant].sft_style == "pretrain")  # shift-none: the same references


def test_a_base_is_scored_as_the_variant_it_was_built_for(tiny_base):
    assert built_variant(tiny_base) == "default"
