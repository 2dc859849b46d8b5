import json

from training.embedded.analysis import BINS, token_probabilities


def test_token_probabilities_are_consistent(tiny_base, tmp_path):
    taus = (0.0, 0.1, 0.5, 1.0)
    out = tmp_path / "token_analysis.json"
    result = token_probabilities(tiny_base, n=6, taus=taus, out=out)
    assert json.loads(out.read_text()) == result
    assert [m["wording"] for m in result["models"]] == ["sft", "pretrain"]
    for entry in result["models"]:
        assert entry["method"] == "base"
        assert len(entry["hist"]["edges"]) == BINS + 1
        names = ("core", "trivial", "neutral")
        assert sum(entry["count"][name] for name in names) == entry["count"]["overall"]
        for name in names:
            assert entry["count"][name] > 0
            assert sum(entry["hist"][name]) == entry["count"][name]
            assert 0.0 < entry["mean"][name] < 1.0
        shares = entry["kept_share"]
        assert shares[0]["core"] == shares[0]["trivial"] == 1.0  # tau = 0 keeps everything
        for name in ("core", "trivial", "all"):
            kept = [s[name] for s in shares]
            assert kept == sorted(kept, reverse=True)
        assert shares[-1]["trivial"] == 0.0  # an untrained model gives no token p = 1
