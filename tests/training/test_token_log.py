"""`token_log: true` records every supervised token with the weight the loss actually gave it."""

import json

from profit_core.formats import token_log, train_log
from training.api import train


def test_the_log_holds_the_weights_the_loss_used(quick_config):
    cfg = quick_config(max_steps=3, token_log=True, logging_steps=1,
                       objective={"objective": "profit", "strategy": "random", "tau": 0.5})
    out = train(cfg)
    steps = list(token_log.read(out))
    assert [s["step"] for s in steps] == [1, 2, 3]
    logged, _ = train_log.read(train_log.path_of(out))
    for entry, stats in zip(steps, logged):
        assert set(entry["weight"]) <= {0.0, 1.0}  # a hard gate: kept or not
        # The same tokens the step's statistics count, with the same kept share (both from the loss's output).
        assert len(entry["weight"]) == stats["supervised_tokens"]
        assert abs(sum(entry["weight"]) / len(entry["weight"]) - stats["kept_fraction"]) < 1e-9
        assert all(p > 0 for p in entry["p"]) and min(entry["row"]) >= 0
    # Rows and token indices point at supervised tokens of the data file's rows.
    assert all(t > 0 for s in steps for t in s["token"])


def test_token_log_does_not_change_the_run(quick_config, tmp_path):
    plain = quick_config(max_steps=1, output_dir=str(tmp_path / "a"))
    logged = quick_config(max_steps=1, output_dir=str(tmp_path / "b"), token_log=True)
    assert plain.config_hash() == logged.config_hash()
    train(plain)
    train(logged)
    manifests = [json.loads((tmp_path / d / "profit_run.json").read_text()) for d in "ab"]
    assert manifests[0]["train_tokens"] == manifests[1]["train_tokens"]
    assert not list((tmp_path / "a").glob("token_weights*")) and list((tmp_path / "b").glob("token_weights*"))
