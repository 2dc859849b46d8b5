"""What a run trained on, from its token log joined with the testbed's exact labels."""

import importlib
import json

import pytest

from testbed.data import DATA_DIR, sft_name
from testbed.kept import kept_shares
from training.api import train
from training.config import TrainConfig


def run(tiny_base, tmp_path, variant="default", **objective):
    cfg = TrainConfig.from_dict({"model": str(tiny_base), "data": str(DATA_DIR / sft_name(variant)),
                                 "output_dir": str(tmp_path / objective["objective"]), "max_steps": 2,
                                 "per_device_batch_size": 4, "gradient_accumulation_steps": 1, "cutoff_len": 256,
                                 "save_steps": 0, "token_log": True, "objective": objective})
    return train(cfg, progress=False)


def test_sft_trains_on_every_token_of_every_class(tiny_base, tmp_path):
    shares = kept_shares(run(tiny_base, tmp_path, objective="sft"))
    assert shares["kept"] == {"core": 1.0, "trivial": 1.0, "neutral": 1.0} and shares["steps"] == 2
    assert shares["tokens"]["core"] > 0 and shares["tokens"]["trivial"] > 0


def test_kept_shares_are_the_logged_weights_by_class(tiny_base, tmp_path):
    folder = run(tiny_base, tmp_path, objective="profit", strategy="higher", tau=0.05)
    shares = kept_shares(folder)
    entries = [json.loads(line) for line in (folder / "token_weights.jsonl").read_text().splitlines()]
    total = sum(len(e["weight"]) for e in entries)
    assert sum(shares["tokens"].values()) == total
    kept = sum(sum(e["weight"]) for e in entries)
    by_class = sum(shares["kept"][c] * shares["tokens"][c] for c in shares["tokens"])
    assert by_class == pytest.approx(kept, abs=1e-3)


def test_a_variants_run_is_joined_with_its_own_labels_and_sets_the_analysis_references(tiny_base, tmp_path,
                                                                                       monkeypatch):
    """kept.py reads the labels beside the run's data; the analysis renders the references as that data's variant
    does (the base alone would say: the default)."""
    analysis = importlib.import_module("testbed.analysis")  # the module (the package exports a function of its name)
    folder = run(tiny_base, tmp_path, variant="core-skill", objective="sft")
    shares = kept_shares(folder)
    assert shares["kept"] == {"core": 1.0, "trivial": 1.0, "neutral": 1.0}
    assert shares["tokens"]["core"] > 0 and shares["tokens"]["trivial"] > 0
    seen = []
    monkeypatch.setattr(analysis, "token_probabilities",
                        lambda folder, n, spec, label: seen.append(spec and spec.variant) or [])
    analysis.analysis({"base": tiny_base}, [folder])  # the run trained from another base: no variant from it
    manifest = json.loads((folder / "profit_run.json").read_text())
    analysis.analysis({manifest["base_model_name"]: tiny_base}, [folder])
    analysis.analysis({"base": tiny_base}, [], variant="shift-strong")
    assert seen == [None, "core-skill", "shift-strong"]
