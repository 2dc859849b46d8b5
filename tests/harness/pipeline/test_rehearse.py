"""Every recipe in configs/paper/ rehearsed on CPU (`profit pipeline CONFIG --rehearse`, harness/pipeline/rehearse.py):
tiny random models of each base's architecture with the real Qwen3 tokenizer, the bundled ShareGPT file for the
missing Shadow-2K, 2-step trainings, one question per task; through the pipeline's graph, executor, launchers,
vLLM engine, store and report. The real runs' folders are never written.

A full rehearsal of the three files trains 39 runs through 2-process launchers and scores 45 checkpoints on five
tasks: tens of minutes on a 2-core machine (a launched 2-step training costs about a minute of CPU, a checkpoint's
five tasks about 25 s). The tests cut further, so each path is still taken at least once:
- table1: every base (Qwen3 tied under DDP, Qwen3 tied and untied and OLMo-2 under FSDP2) with its first method,
  each through its own launcher rewritten for 2 CPU processes (DDP: accelerate's gloo data parallelism; FSDP2: the
  training.cpu_fsdp wrapper, as tests/training/test_fsdp.py), scored on GSM8K;
- table1-llama: Llama-3.1 under FSDP2 with its first method, scored on all five tasks with the paper-llama preset;
- tau-sweep: all 19 methods (SFT and higher/lower at 9 thresholds), 2-step trainings in the pipeline's workers,
  scored on GSM8K, so the report draws its threshold plots.
The default suite runs the three cuts (about 3, 5 and 3 minutes on a 2-core machine); `-m slow` runs the full
rehearsals.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from harness.pipeline.config import PipelineConfig
from harness.pipeline.rehearse import Cuts, cpu_launcher, rehearse, tiny_config
from harness.pipeline.run import run
from profit_core.errors import UserError
from training.known_bases import BASES

ROOT = Path(__file__).resolve().parents[3]
PAPER = sorted((ROOT / "configs" / "paper").glob("*.yaml"))
GSM8K = ("profit_gsm8k",)
CUTS = {
    "table1": Cuts(methods=1, tasks=GSM8K),
    "table1-llama": Cuts(methods=1),
    "tau-sweep": Cuts(launchers=False, tasks=GSM8K),
}


@pytest.fixture
def in_repo(monkeypatch):
    """The paper configs' relative paths (models/, data/, configs/accelerate/) are the repository's; the launchers'
    programs (accelerate) are this environment's."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def real_outputs(cfg: PipelineConfig) -> dict[str, object]:
    """What the real run's folders hold now (to show that a rehearsal leaves them alone)."""
    out = {}
    for folder in (cfg.runs_dir, cfg.store, cfg.report_dir):
        path = ROOT / folder
        out[folder] = sorted((str(p), p.stat().st_mtime_ns) for p in path.rglob("*")) if path.exists() else None
    return out


def rehearse_and_check(config: Path, cuts: Cuts, tmp_path: Path) -> tuple[PipelineConfig, dict, float]:
    cfg = PipelineConfig.from_yaml(config)
    before = real_outputs(cfg)
    started = time.perf_counter()
    rehearsal = rehearse(cfg, config.relative_to(ROOT), root=tmp_path / "rehearse", cuts=cuts)
    rehearsal.build_bases()
    summary = run(rehearsal.config, progress=False, plans=False)
    seconds = time.perf_counter() - started
    print(f"rehearsal of {config.name}: {seconds:.0f} s; {summary['timings']}")
    assert real_outputs(cfg) == before

    small = rehearsal.config
    methods = small.methods_expanded()
    assert len(summary["trained"]) == len(cfg.base_models) * len(methods) * len(cfg.seeds)
    assert summary["records"] == (len(cfg.base_models) + len(summary["trained"])) * (5 if cuts.tasks is None else 1)
    board = (Path(small.report_dir) / "leaderboard.md").read_text()
    for base in cfg.base_models:
        assert f"| {base.name} |" in board
        manifest = json.loads((Path(small.runs_dir) / base.name / methods[0].folder / "seed42" /
                               "profit_run.json").read_text())
        assert manifest["complete"] and manifest["steps"] == 2
        assert manifest["config"]["loss_impl"] == "lean" and manifest["config"]["gradient_checkpointing"]
        folder = Path(small.runs_dir) / base.name / methods[0].folder / "seed42"
        saved = json.loads((folder / "config.json").read_text())
        base_dtype = json.loads((Path(small.base(base.name).path) / "config.json").read_text())["dtype"]
        assert saved["dtype"] == base_dtype  # the checkpoint keeps the base's dtype (bf16; OLMo-2 float32)
    assert (tmp_path / "rehearse" / "rehearsal.yaml").is_file()
    return small, summary, seconds


@pytest.mark.vllm
@pytest.mark.parametrize("config", PAPER, ids=lambda p: p.stem)
def test_every_paper_config_rehearses_on_cpu(config, tmp_path, in_repo, capfd):
    small, summary, _ = rehearse_and_check(config, CUTS[config.stem], tmp_path)
    output = capfd.readouterr()
    logs = output.out + output.err
    assert "did not enable it" not in logs  # no FSDP launch fell back to data parallelism
    for base in small.base_models:
        launcher = small.launcher_for(base.name)
        run_dir = Path(small.runs_dir) / base.name / small.methods_expanded()[0].folder / "seed42"
        manifest = json.loads((run_dir / "profit_run.json").read_text())
        if "fsdp2.yaml" in launcher:
            assert launcher.endswith("--num_processes 2 --main_process_port 0 -m training.cpu_fsdp")
            assert f"Saving model to {run_dir}/checkpoints" in logs  # accelerate's FSDP state save
        elif "ddp.yaml" in launcher:
            assert launcher.endswith("--num_processes 2 --main_process_port 0")
            # 2 ranks x accumulation 4 x 2 steps = 16 rows >= the 12 of the bundled file: all of it trained (one
            # process would train 8)
            assert manifest["supervised_tokens"] == manifest["data"]["supervised_tokens"]
        else:
            assert not launcher and config.stem == "tau-sweep"
            assert manifest["supervised_tokens"] < manifest["data"]["supervised_tokens"]  # one process: 8 rows
    if config.stem == "tau-sweep":
        assert len(summary["trained"]) == 19
        assert (Path(small.report_dir) / "plots" / "higher_vs_lower.png").is_file()


@pytest.mark.slow
@pytest.mark.vllm
@pytest.mark.timeout(3600)  # tens of minutes (above): the suite's 15-minute limit cut table1's short
@pytest.mark.parametrize("config", PAPER, ids=lambda p: p.stem)
def test_full_rehearsal(config, tmp_path, in_repo):
    """What `profit pipeline CONFIG --rehearse` runs: every training through its launcher, all five tasks."""
    rehearse_and_check(config, Cuts(), tmp_path)


# ---- the rewrites, without running anything ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "launcher, expected",
    [
        ("accelerate launch --config_file configs/accelerate/ddp.yaml",
         "accelerate launch --config_file configs/accelerate/ddp.yaml --num_processes 2 --main_process_port 0"),
        ("accelerate launch --config_file configs/accelerate/fsdp2.yaml --num_processes=8 --main_process_port 29501",
         "accelerate launch --config_file configs/accelerate/fsdp2.yaml --num_processes 2 --main_process_port 0 "
         "-m training.cpu_fsdp"),
        ("torchrun --nproc_per_node 8 --nnodes 1", "torchrun --standalone --nproc_per_node 2"),
        ("python -m torch.distributed.run --nproc-per-node=8",
         "python -m torch.distributed.run --standalone --nproc_per_node 2"),
    ],
)
def test_launchers_are_rewritten_for_two_cpu_processes(launcher, expected, in_repo):
    assert cpu_launcher(launcher) == expected


def test_zero3_cannot_be_rehearsed(in_repo):
    with pytest.raises(UserError, match="ZeRO-3.*FSDP2"):
        cpu_launcher("accelerate launch --config_file configs/accelerate/zero3.yaml")


@pytest.mark.parametrize("hub_id", list(BASES))
def test_tiny_config_keeps_the_architecture_class(hub_id):
    real = BASES[hub_id]
    tiny = tiny_config(real)
    assert tiny["model_type"] == real["model_type"] and tiny["architectures"] == real["architectures"]
    assert (tiny["hidden_size"], tiny["num_hidden_layers"], tiny["head_dim"]) == (128, 2, 64)
    assert tiny["tie_word_embeddings"] == real["tie_word_embeddings"]
    assert tiny["dtype"] == real["torch_dtype"]
    assert tiny["vocab_size"] >= 151_669  # the Qwen3 tokenizer's ids all have a row
    assert (tiny["num_key_value_heads"] < tiny["num_attention_heads"]) == \
        (real["num_key_value_heads"] < real["num_attention_heads"])


def test_rehearsal_rewrites_only_what_the_cpu_needs(in_repo, tmp_path):
    cfg = PipelineConfig.from_yaml(ROOT / "configs" / "paper" / "table1.yaml")
    rehearsal = rehearse(cfg, "configs/paper/table1.yaml", root=tmp_path / "r")
    small = rehearsal.config
    text = "\n".join(rehearsal.lines())
    assert "data/Shadow_2k.parquet is not on this machine -> examples/sharegpt.jsonl" in text
    assert "gpu_memory_utilization 0.9 dropped (GPU only)" in text
    assert "training/known_bases.py (Qwen3-14B-Base; models/Qwen3-14B-Base is not on this machine)" in text
    assert [m.label for m in small.methods_expanded()] == [m.label for m in cfg.methods_expanded()]
    assert small.train["max_steps"] == 2 and small.train["loss_impl"] == "lean"
    assert small.eval.sampling == "paper" and small.eval.engine == {}
    assert [(t.name, t.limit, t.max_gen_toks) for t in small.eval.tasks] == [("profit_paper5", 1, 16)]
    for folder in (small.runs_dir, small.store, small.report_dir):
        assert Path(folder).is_relative_to(tmp_path / "r")
    assert small.launcher_for("qwen3-0.6b-base").startswith("accelerate launch --config_file configs/accelerate/ddp")
    assert small.launcher_for("qwen3-14b-base").endswith("-m training.cpu_fsdp")


def test_a_rehearsal_never_writes_into_the_real_folders(in_repo, tmp_path):
    cfg = PipelineConfig.from_yaml(ROOT / "configs" / "paper" / "tau-sweep.yaml")
    with pytest.raises(UserError, match="overlaps the config's runs_dir"):
        rehearse(cfg, root=ROOT / "runs" / "paper" / "rehearsal")
