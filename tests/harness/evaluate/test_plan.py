"""The work list: sampling presets, keys, shards, and the CLI's --dry-run / --list."""

import pytest

from harness.evaluate import sampling
from harness.evaluate.api import parse_shard, plan
from harness.evaluate.cli import main
from tests.harness.tiny_model import FIXTURE_TASKS


def test_paper_preset_follows_the_paper_per_task():
    aime = sampling.resolve("paper", task_repeats=32, task_max_gen_toks=32768)
    gsm = sampling.resolve("paper", task_repeats=8, task_max_gen_toks=8192)
    assert (aime["repeats"], aime["max_gen_toks"], gsm["repeats"], gsm["max_gen_toks"]) == (32, 32768, 8, 8192)
    assert (gsm["temperature"], gsm["top_p"], gsm["top_k"], gsm["apply_chat_template"]) == (0.7, 0.8, 20, True)
    assert sampling.generation_kwargs(gsm) == {"max_gen_toks": 8192, "temperature": 0.7, "do_sample": True,
                                               "top_p": 0.8, "top_k": 20}
    greedy = sampling.resolve("greedy", task_repeats=32, task_max_gen_toks=32768, max_gen_toks=64)
    assert (greedy["repeats"], greedy["max_gen_toks"], greedy["temperature"]) == (1, 64, 0.0)
    assert sampling.generation_kwargs(greedy)["do_sample"] is False
    with pytest.raises(ValueError, match="unknown preset"):
        sampling.resolve("beam", task_repeats=1, task_max_gen_toks=8)


def test_real_task_registry_gives_paper_repeats(ckpts):
    items, _ = plan([ckpts["good"]], ["profit_paper5"], sampling="paper")
    by_task = {it.info.name: it.sampling for it in items}
    assert set(by_task) == {"profit_gpqa_diamond", "profit_gsm8k", "profit_math500", "profit_aime24", "profit_ifeval"}
    assert by_task["profit_aime24"]["repeats"] == 32 and by_task["profit_gsm8k"]["repeats"] == 8


def test_keys_differ_by_limit_seed_and_preset(ckpts):
    def key(**kw):
        (it,), _ = plan([ckpts["good"]], ["tiny_arith"], include_paths=[FIXTURE_TASKS], **kw)
        return it.key

    base = key()
    assert base == key()
    assert len({base, key(limit=5), key(seed=1), key(sampling="paper"), key(max_gen_toks=4)}) == 5


def test_shards_partition_the_work_list(ckpts):
    paths = list(ckpts.values())
    full, _ = plan(paths, ["profit_paper5"])
    shards = [plan(paths, ["profit_paper5"], shard=f"{i}/3")[0] for i in range(3)]
    keys = [it.key for s in shards for it in s]
    assert sorted(keys) == sorted(it.key for it in full) and len(set(keys)) == len(full) == 15
    again = plan(paths, ["profit_paper5"], shard="1/3")[0]
    assert [it.key for it in again] == [it.key for it in shards[1]]  # stable: no coordination needed
    for bad in ("3/3", "1", "a/b", "-1/2"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


def test_unknown_task_lists_the_known_ones(ckpts):
    with pytest.raises(ValueError, match="unknown task.*profit_gsm8k"):
        plan([ckpts["good"]], ["gsm8k_typo"])


def test_cli_dry_run_and_empty_list(ckpts, tmp_path, capsys):
    assert main([str(ckpts["good"]), "--tasks", "tiny_arith", "--include-path", str(FIXTURE_TASKS),
                 "--store", str(tmp_path), "--dry-run"]) == 0
    assert "todo" in capsys.readouterr().out
    assert main(["--list", "--store", str(tmp_path / "none")]) == 0
    assert "no store" in capsys.readouterr().out


def test_engine_length_follows_each_model_on_every_device():
    from harness.evaluate.engine import EngineSettings

    olmo_like = EngineSettings(device="cuda", max_model_len=40960, gpu_memory_utilization=0.9)
    # vLLM refuses a length beyond the model's positions: a config's 40,960 is a bound, not a demand.
    assert olmo_like.resolved(longest_generation=2048, model_limit=4096).max_model_len == 4096
    assert olmo_like.resolved(longest_generation=30720, model_limit=32768).max_model_len == 32768
    assert EngineSettings(device="cpu").resolved(longest_generation=96, model_limit=512).max_model_len == 512
    assert EngineSettings(device="cpu").resolved(longest_generation=64, model_limit=None).max_model_len == 64 + 2048


def test_a_generation_limit_that_cannot_fit_is_cut_and_recorded(ckpts):
    from harness.evaluate.api import group_settings
    from harness.evaluate.engine import EngineSettings

    items, _ = plan([ckpts["good"]], ["profit_paper5"], sampling="paper")
    positions = items[0].ckpt.max_positions
    by_task = {it.info.name: it.sampling for it in items}
    aime = by_task["profit_aime24"]
    room = positions - min(2048, positions // 2)
    assert aime["max_gen_toks"] == room
    assert aime["max_gen_toks_cut"] == {"requested": 32768, "engine_tokens": positions, "prompt_tokens": 2048}
    settings = group_settings(items, EngineSettings(device="cpu"))(items[0].ckpt)
    assert settings.max_model_len == positions
    # The cut is part of the key: a run cut elsewhere never passes for this one.
    (other,), _ = plan([ckpts["good"]], ["profit_aime24"], sampling="paper", engine=EngineSettings(prompt_tokens=1))
    assert other.sampling["max_gen_toks"] == positions - 1 and other.key != next(
        it.key for it in items if it.info.name == "profit_aime24")
