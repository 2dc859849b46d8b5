from testbed.analysis import BINS, token_probabilities


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
