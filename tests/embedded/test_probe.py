import pytest

from training.embedded.cli import parse_method
from training.embedded.probe import ProbeConfig, run_probe
from training.embedded.splits import TestbedSpec

SMALL = ProbeConfig(epochs=1, batch_size=4, n_sft=8, n_eval=4)
SPEC = TestbedSpec(n_sft=8)


@pytest.mark.parametrize(
    "method, core, trivial",
    [("sft", 1.0, 1.0), ("lower:1.0", 1.0, 1.0), ("profit:1.0", 0.0, 0.0)],
)
def test_probe_trains_the_tokens_its_objective_keeps(tiny_base, method, core, trivial):
    row = run_probe(tiny_base, parse_method(method), seed=0, cfg=SMALL, spec=SPEC)
    assert row["kept_core"] == core and row["kept_trivial"] == trivial
    assert 0.0 <= row["acc_task"] <= 1.0 and 0.0 <= row["acc_retention"] <= 1.0
    assert 0.0 < row["p_trivial"] < 1.0 and 0.0 < row["p_core"] < 1.0


def test_method_names_parse_or_fail_clearly():
    assert parse_method("profit:0.3").tau == 0.3
    assert parse_method("lower:0.3").strategy == "lower"
    with pytest.raises(ValueError, match="threshold"):
        parse_method("profit")
    with pytest.raises(ValueError, match="unknown objective"):
        parse_method("magic")


def test_bad_probe_settings_fail_at_construction():
    with pytest.raises(ValueError, match="batch_size"):
        ProbeConfig(batch_size=0)
    with pytest.raises(ValueError, match="lr"):
        ProbeConfig(lr=0.0)
