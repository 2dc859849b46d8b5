from profit_core import names


def test_one_name_per_method_for_folders_and_rows():
    profit = {"objective": "profit", "strategy": "higher", "tau": 0.1, "tau_high": 1.0, "normalization": "global"}
    assert names.slug(profit) == "profit-higher-0.1" and names.label(profit) == "ProFit"
    middle = {**profit, "strategy": "middle", "tau_high": 0.5}
    assert names.slug(middle) == "profit-middle-0.1-0.5"
    assert names.slug({**profit, "normalization": "kept"}) == "profit-higher-0.1-norm-kept"
    # entropy's own convention is kept (the 80/20 code's token-mean over the selected tokens): global is named
    entropy = {"objective": "entropy", "entropy_ratio": 0.2, "normalization": "kept"}
    assert names.slug(entropy) == "entropy-0.2" and names.label(entropy) == "Entropy (top 0.2)"
    entropy_global = {**entropy, "normalization": "global"}
    assert names.slug(entropy_global) == "entropy-0.2-norm-global"
    assert names.label(entropy_global) == "Entropy (top 0.2) [norm=global]"
    assert names.slug({"objective": "sft", "normalization": "global"}) == "sft"
    assert names.label(None) == "base"


def test_objective_config_names_itself_through_the_same_function():
    from training.objectives import ObjectiveConfig

    cfg = ObjectiveConfig("quantile", quantile=0.7, normalization="sequence")
    assert cfg.describe() == names.slug(cfg.to_dict()) == "quantile-0.7-norm-sequence"


def test_an_unset_normalisation_is_the_objectives_own_and_is_stored_resolved():
    from training.config import TrainConfig
    from training.objectives import ObjectiveConfig

    assert ObjectiveConfig("entropy").normalization == "kept"
    assert ObjectiveConfig("entropy").to_dict()["normalization"] == "kept"  # manifests and records say which
    for objective in ("sft", "profit", "dft", "quantile"):
        assert ObjectiveConfig(objective).normalization == "global"
    assert ObjectiveConfig("entropy", normalization="global").normalization == "global"
    # the paper preset sets ProFit's fields only: an entropy run on top of it keeps entropy's own convention
    train = TrainConfig.from_dict({"preset": "paper", "objective": "entropy", "model": "m", "data": "d.jsonl",
                                   "output_dir": "o"})
    assert train.objective.normalization == "kept"
