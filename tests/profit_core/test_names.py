from profit_core import names


def test_one_name_per_method_for_folders_and_rows():
    profit = {"objective": "profit", "strategy": "higher", "tau": 0.1, "tau_high": 1.0, "normalization": "global"}
    assert names.slug(profit) == "profit-higher-0.1" and names.label(profit) == "ProFit"
    middle = {**profit, "strategy": "middle", "tau_high": 0.5}
    assert names.slug(middle) == "profit-middle-0.1-0.5"
    entropy = {"objective": "entropy", "entropy_ratio": 0.2, "normalization": "kept"}
    assert names.slug(entropy) == "entropy-0.2-norm-kept" and names.label(entropy) == "Entropy (top 0.2) [norm=kept]"
    assert names.slug({"objective": "sft", "normalization": "global"}) == "sft"
    assert names.label(None) == "base"


def test_objective_config_names_itself_through_the_same_function():
    from training.objectives import ObjectiveConfig

    cfg = ObjectiveConfig("quantile", quantile=0.7, normalization="sequence")
    assert cfg.describe() == names.slug(cfg.to_dict()) == "quantile-0.7-norm-sequence"
