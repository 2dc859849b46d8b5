"""`profit pipeline CONFIG --rehearse`: a recipe run end to end on CPU in minutes, with tiny stand-ins.

The config is rewritten, then run by the same pipeline (graph, executor, jobs), so every step a GPU run takes is
taken, on small inputs:

- each base model becomes a tiny random model of the same architecture class: model_type and architectures (and
  the settings that shape the code path: tied embeddings, dtype, positions, norms, rope) from the base folder's
  config.json when it is on this machine, else from training/known_bases.py; hidden size 128, 2 layers, head_dim 64
  (vLLM's CPU attention refuses 16), the real Qwen3 tokenizer (tests/fixtures/qwen3-tokenizer, the one real
  tokenizer here; other architectures get it too, their vocabulary sized to it). Built once under the rehearsal's
  folder, deterministically, and reused;
- a data file that is not on this machine becomes the bundled example of the same format (examples/);
- every training stops after 2 optimizer steps; the loss path (loss_impl), precision, batch, cut-off, gradient
  checkpointing and objectives are the config's;
- launchers run 2 CPU processes: `accelerate launch ... --num_processes 2 --main_process_port 0` with the same
  config file (the DDP config then runs gloo DDP; `--cpu` would run a single process), plus the
  training.cpu_fsdp wrapper after an FSDP config (accelerate enables FSDP on accelerators only);
  `torchrun --standalone --nproc_per_node 2`;
- evaluation: 1 question per task, at most 16 new tokens; sampling preset and repeats as configured; engine
  settings as configured but the GPU-only ones (tensor/data parallelism, gpu_memory_utilization, device cuda);
  max_model_len stays an upper bound that each model's positions and the tasks clamp (harness/evaluate/engine.py);
- everything is written under its own folder (default runs/rehearse/<config name>/: bases/, runs/, store/, results/
  and rehearsal.yaml, the rewritten config), never into the real run's folders.

What it checks: that every piece of the recipe runs together (config fields, launcher, process group, sharding, loss
path, precision, checkpoint save and load, engine settings, tasks, sampling, store, report). What it does not: GPU
memory (the memory plan of `--dry-run` covers it), NCCL, the real weights, tokenizer and data, the speed, and any
number in the report (tiny random models).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shlex
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from profit_core.errors import UserError

from .config import PipelineConfig, PipelineConfigError

log = logging.getLogger("profit.pipeline")

REPO = Path(__file__).resolve().parents[2]
TOKENIZER = REPO / "tests" / "fixtures" / "qwen3-tokenizer"
EXAMPLES = REPO / "examples"
# A bundled example per data format (training/data): the stand-in for a data file that is not on this machine.
EXAMPLE_DATA = {"sharegpt": "sharegpt.jsonl", "openai": "openai.jsonl", "alpaca": "alpaca.json",
                "prompt_response": "prompt_response.parquet", "gsm8k": "gsm8k.jsonl", "auto": "sharegpt.jsonl"}
TINY = {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "head_dim": 64,
        "intermediate_size": 256}
# Fields of a real config that the tiny one sets itself or that describe the real model's size, weights or layers.
DROPPED_FIELDS = {"_name_or_path", "transformers_version", "architectures", "model_type", "auto_map",
                  "quantization_config", "torch_dtype", "dtype", "vocab_size", "num_key_value_heads",
                  "layer_types", "mlp_only_layers", "max_window_layers", "bos_token_id", "eos_token_id",
                  "pad_token_id", "id2label", "label2id", *TINY}
BUILDER_VERSION = 1
GPU_ONLY_ENGINE = ("tensor_parallel_size", "data_parallel_size", "gpu_memory_utilization")
FSDP_WRAPPER = "training.cpu_fsdp"
MARKER = "rehearsal_base.json"


@dataclass(frozen=True)
class Cuts:
    """How far a rehearsal shrinks the recipe. The defaults are `--rehearse`'s; the last three cut further, for the
    test suite (tests/harness/pipeline/test_rehearse.py), which rehearses every paper config in minutes."""

    steps: int = field(default=2, metadata={"help": "max_steps of every training."})
    limit: int = field(default=1, metadata={"help": "questions per task."})
    max_gen_toks: int = field(default=16, metadata={"help": "the most new tokens per answer."})
    processes: int = field(default=2, metadata={"help": "CPU processes per launched training."})
    methods: int | None = field(default=None, metadata={"help": "only the first N methods, expanded (None: all)."})
    launchers: bool = field(default=True, metadata={"help": "False: every training in the pipeline's own worker."})
    tasks: tuple[str, ...] | None = field(default=None, metadata={"help": "score only these tasks (None: the "
                                                                          "config's)."})


@dataclass
class TinyBase:
    """One base's stand-in: what it is built from and where."""

    name: str = field(metadata={"help": "the base's name in the config."})
    folder: Path = field(metadata={"help": "where the tiny model is built."})
    source: str = field(metadata={"help": "where its architecture came from."})
    config: dict = field(metadata={"help": "the tiny config.json fields (before the tokenizer's ids)."})

    @property
    def seed(self) -> int:
        """Random weights seeded by the base's name: two bases of one shape (Qwen3-0.6B and -4B become the same
        tiny shape) still get different weights, so their checkpoints and records never coincide."""
        return int(hashlib.sha256(self.name.encode()).hexdigest()[:8], 16)

    @property
    def digest(self) -> str:
        spec = {"config": self.config, "seed": self.seed, "version": BUILDER_VERSION, "tokenizer": _tokenizer_digest()}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> str:
        c = self.config
        return (f"tiny {c['architectures'][0]} ({c['model_type']}; hidden {TINY['hidden_size']}, "
                f"{TINY['num_hidden_layers']} layers, head_dim {TINY['head_dim']}, vocab {c['vocab_size']}, "
                f"{'tied' if c.get('tie_word_embeddings') else 'untied'} embeddings, {c['dtype']}) from {self.source}")

    def build(self) -> Path:
        """The tiny model folder, built once (random weights from a fixed seed) and reused while its spec holds."""
        if _marker(self.folder).get("digest") == self.digest:
            return self.folder
        if self.folder.exists() and not (self.folder / MARKER).is_file():
            raise UserError(f"rehearsal: {self.folder} exists and is not a rehearsal base; choose another "
                            "--rehearse-root")
        staging = self.folder.with_name(f".{self.folder.name}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        build_tiny(self.config, staging, self.seed)
        (staging / MARKER).write_text(json.dumps({"base": self.name, "source": self.source, "digest": self.digest},
                                                 indent=2) + "\n")
        shutil.rmtree(self.folder, ignore_errors=True)
        os.replace(staging, self.folder)
        return self.folder


@dataclass
class Rehearsal:
    config: PipelineConfig = field(metadata={"help": "the rewritten config the pipeline runs."})
    root: Path = field(metadata={"help": "the rehearsal's folder."})
    bases: list[TinyBase] = field(metadata={"help": "the tiny stand-ins, one per base."})
    notes: list[str] = field(metadata={"help": "what was changed, for the printout."})
    source: str = field(default="", metadata={"help": "the real config file."})

    def lines(self) -> list[str]:
        return [f"rehearsal of {self.source or 'the config'} in {self.root}/ (its own bases, runs, store and report; "
                f"the rewritten config: {self.root / 'rehearsal.yaml'})",
                *(f"  base {b.name}: {b.describe()}" for b in self.bases),
                *(f"  {note}" for note in self.notes)]

    def build_bases(self) -> None:
        """Build the tiny bases (seconds each) and write the rewritten config beside them."""
        self.root.mkdir(parents=True, exist_ok=True)
        for base in self.bases:
            log.info("rehearsal base %s -> %s", base.name, base.folder)
            base.build()
        (self.root / "rehearsal.yaml").write_text(
            f"# the rehearsal of {self.source}: `profit pipeline {self.source} --rehearse` rewrote it into this "
            "(harness/pipeline/rehearse.py)\n" + _yaml(_raw(self.config)))


def rehearse(cfg: PipelineConfig, source: str | Path = "", root: str | Path | None = None,
             precision: str = "auto", cuts: Cuts = Cuts()) -> Rehearsal:
    """The rehearsal of `cfg`: the rewritten config, its tiny bases (not built yet) and what was changed.
    precision: `auto` keeps the config's 16-bit precision where this CPU computes bf16 natively and trains in fp32
    elsewhere (`native_bf16`); `keep` keeps it. Refuses (UserError) what cannot be rehearsed on CPU, naming it."""
    if precision not in ("auto", "keep"):
        raise UserError(f"rehearsal precision must be auto or keep, got {precision!r}")
    root = Path(root) if root else Path("runs") / "rehearse" / cfg.name
    _refuse_overlap(cfg, root)
    notes: list[str] = []
    raw = _raw(cfg)
    raw.update(name=f"{cfg.name}-rehearsal", runs_dir=str(root / "runs"), store=str(root / "store"),
               report_dir=str(root / "results"))
    if raw.get("reference"):
        notes.append(f"reference {raw['reference']} dropped (tiny models reproduce nothing)")
        raw["reference"] = ""
    if raw["eval"].get("output_path"):
        notes.append(f"eval.output_path {raw['eval']['output_path']} -> {root / 'lm_eval'}")
        raw["eval"]["output_path"] = str(root / "lm_eval")

    bases = [_tiny_base(b, root / "bases" / b.name) for b in cfg.base_models]
    raw["base_models"] = []
    for b, tiny in zip(cfg.base_models, bases):
        entry = {"name": b.name, "path": str(tiny.folder), "train": _train(b.train, cfg.train, notes, b.name)}
        if b.launcher and cuts.launchers:
            entry["launcher"] = _launcher(b.launcher, cuts, notes, f"base {b.name}")
        raw["base_models"].append(entry)
    raw["train"] = {**_train(cfg.train, {}, notes, ""), "max_steps": cuts.steps}
    notes.append(f"trainings: max_steps {cuts.steps}; the config's objectives, loss_impl, batch, cut-off and "
                 "gradient checkpointing")
    if precision == "auto":
        _precision(cfg, raw, notes)
    raw["launcher"] = _launcher(cfg.launcher, cuts, notes, "launcher") if cfg.launcher and cuts.launchers else ""
    if not cuts.launchers and (cfg.launcher or any(b.launcher for b in cfg.base_models)):
        notes.append("launchers dropped: every training runs in the pipeline's worker (a cut of the test suite)")
    if cuts.methods:
        expanded = cfg.methods_expanded()
        raw["methods"] = [{**m.objective.to_dict(), **m.train} for m in expanded[:cuts.methods]]
        notes.append(f"methods: the first {len(raw['methods'])} of {len(expanded)} "
                     f"({', '.join(m.folder for m in expanded[:cuts.methods])}; a cut of the test suite)")
    if cfg.executor != "local":
        notes.append(f"executor {cfg.executor} -> local")
        raw["executor"] = "local"
    raw.pop("slurm", None)
    if cfg.token_analysis:
        notes.append("token_analysis off (it needs the testbed base)")
        raw["token_analysis"] = False
    raw["eval"] = _eval(raw["eval"], cuts, notes)
    try:
        rewritten = PipelineConfig.from_dict(raw, source=f"rehearsal of {source or cfg.name}")
    except PipelineConfigError as err:
        raise UserError(f"rehearsal: {err}") from None
    return Rehearsal(rewritten, root, bases, notes, str(source))


# ---- the rewrites ------------------------------------------------------------------------------------------------


def _raw(cfg: PipelineConfig) -> dict:
    raw = asdict(cfg)
    raw["eval"]["tasks"] = [{k: v for k, v in t.items() if v is not None} for t in raw["eval"]["tasks"]]
    raw["base_models"] = [{k: v for k, v in b.items() if v} for b in raw["base_models"]]
    return raw


def _yaml(raw: dict) -> str:
    import yaml

    if raw.get("executor") == "local":
        raw.pop("slurm", None)
    return yaml.safe_dump(raw, sort_keys=False, width=1000)


def _refuse_overlap(cfg: PipelineConfig, root: Path) -> None:
    mine = root.resolve()
    for what, folder in (("runs_dir", cfg.runs_dir), ("store", cfg.store), ("report_dir", cfg.report_dir)):
        theirs = Path(folder).resolve()
        if mine == theirs or theirs in mine.parents or mine in theirs.parents:
            raise UserError(f"rehearsal folder {root} overlaps the config's {what} {folder}; a rehearsal never "
                            "writes into the real run's folders: choose another with --rehearse-root")


def _train(train: dict, shared: dict, notes: list[str], where: str) -> dict:
    """Training fields with a data file that is not on this machine replaced by the bundled example."""
    out = dict(train)
    data = out.get("data")
    if data and not Path(data).is_file():
        fmt = out.get("data_format") or shared.get("data_format") or "auto"
        example = EXAMPLES / EXAMPLE_DATA.get(fmt, EXAMPLE_DATA["auto"])
        out["data"] = str(example)
        notes.append(f"{f'base {where} ' if where else ''}data {data} is not on this machine -> "
                     f"{example.relative_to(REPO)} ({fmt})")
    return out


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX). Without it torch emulates bf16 matmuls:
    measured on an AVX2 machine, a tiny model's training step took 100 s under bf16 autocast and 5 s in fp32."""
    import torch

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:
        return False


def _precision(cfg: PipelineConfig, raw: dict, notes: list[str]) -> None:
    """16-bit training precisions -> fp32 where this CPU has no native bf16 (the tiny bases keep the real dtype,
    so the checkpoints are still saved in it)."""
    from training.config import TrainConfig

    chosen = {TrainConfig.from_dict({**cfg.train, **b.train, "model": "m", "data": "d", "output_dir": "o"}).precision
              for b in cfg.base_models}
    sixteen = sorted(p for p in chosen if p != "fp32")
    if not sixteen or (native_bf16() and "fp16" not in sixteen):
        return
    raw["train"]["precision"] = "fp32"
    for entry in raw["base_models"]:
        entry.get("train", {}).pop("precision", None)
    why = "this CPU has no native bf16 (AVX512-BF16, AMX)" if not native_bf16() else "fp16 needs a GPU"
    notes.append(f"precision {', '.join(sixteen)} -> fp32: {why}, and emulated 16-bit training is ~20x slower; "
                 "the tiny bases keep the real dtype, so checkpoints are still saved in it (--rehearse-precision "
                 "keep keeps it)")


def _launcher(launcher: str, cuts: Cuts, notes: list[str], where: str) -> str:
    out = cpu_launcher(launcher, cuts.processes)
    notes.append(f"{where} `{launcher}` -> `{out}`")
    return out


VALUED = {"num_processes", "main_process_port", "main_process_ip", "num_machines", "machine_rank", "gpu_ids",
          "nproc_per_node", "nnodes", "node_rank", "master_addr", "master_port", "rdzv_endpoint", "rdzv_backend",
          "rdzv_id", "rdzv_conf"}
BARE = {"cpu", "standalone"}


def _strip(words: list[str]) -> list[str]:
    """The words without the flags that say where processes run (VALUED with their value, BARE alone)."""
    out, skip = [], False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        name, eq, _ = word[2:].partition("=") if word.startswith("--") else ("", "", "")
        name = name.replace("-", "_")
        if name in BARE:
            continue
        if name in VALUED:
            skip = not eq and i + 1 < len(words)
            continue
        out.append(word)
    return out


def cpu_launcher(launcher: str, processes: int = 2) -> str:
    """The launcher rewritten to run `processes` CPU processes the way it runs on GPUs (see the module docstring)."""
    from training.config import ConfigError
    from training.memory import launch_from_launcher

    words = shlex.split(launcher)
    try:
        launch = launch_from_launcher(launcher)
    except ConfigError as err:
        raise UserError(f"rehearsal: {err}") from None
    if words[:2] == ["accelerate", "launch"]:
        if launch.strategy == "zero3":
            raise UserError(f"rehearsal: launcher `{launcher}` runs DeepSpeed ZeRO-3, which does not run on CPU "
                            "here (deepspeed is not installed); rehearse with the FSDP2 launcher "
                            "(configs/accelerate/fsdp2.yaml), which shards the same way")
        words = _strip(words) + ["--num_processes", str(processes), "--main_process_port", "0"]
        if launch.strategy == "fsdp2":
            words += ["-m", FSDP_WRAPPER]
        return shlex.join(words)
    # torchrun (launch_from_launcher knows no other): one node, a free port, 2 processes.
    program = 1 if words[0] == "torchrun" else words.index("torch.distributed.run") + 1
    return shlex.join(words[:program] + ["--standalone", "--nproc_per_node", str(processes)] +
                      _strip(words[program:]))


def _eval(ev: dict, cuts: Cuts, notes: list[str]) -> dict:
    ev = copy.deepcopy(ev)
    if cuts.tasks is not None:
        notes.append(f"tasks: {', '.join(cuts.tasks)} instead of {', '.join(t['name'] for t in ev['tasks'])} (a cut "
                     "of the test suite)")
        ev["tasks"] = [{"name": name} for name in cuts.tasks]
    for task in ev["tasks"]:
        task["limit"] = cuts.limit
        task["max_gen_toks"] = min(task.get("max_gen_toks") or cuts.max_gen_toks, cuts.max_gen_toks)
    notes.append(f"eval: limit {cuts.limit}, max_gen_toks <= {cuts.max_gen_toks} per task; sampling "
                 f"{ev['sampling']} (its repeats kept), backend {ev['backend']}")
    engine = dict(ev.get("engine") or {})
    dropped = [k for k in GPU_ONLY_ENGINE if k in engine]
    if engine.get("device") == "cuda":
        dropped.append("device")
    removed = {name: engine.pop(name) for name in dropped}
    if removed:
        notes.append(f"engine: {', '.join(f'{k} {v}' for k, v in removed.items())} dropped (GPU only)")
    if engine.get("max_model_len"):
        notes.append(f"engine: max_model_len {engine['max_model_len']} kept as an upper bound (each model's "
                     "positions and the tasks clamp it)")
    ev["engine"] = engine
    return ev


# ---- the tiny bases ----------------------------------------------------------------------------------------------


def _tiny_base(base, folder: Path) -> TinyBase:
    """Where the base's architecture comes from (its config.json, else known_bases.py) and the tiny config."""
    from training.known_bases import lookup

    if base.builtin:
        from .builtins import BUILTINS

        real = BUILTINS[base.builtin].folder()
    else:
        real = Path(base.path)
    if (real / "config.json").is_file():
        fields = json.loads((real / "config.json").read_text())
        source = f"{real / 'config.json'}"
    elif not base.builtin and lookup(base.path) is not None:
        fields = lookup(base.path)
        source = f"training/known_bases.py ({real.name}; {real} is not on this machine)"
    else:
        what = f"the builtin {base.builtin!r} is not built yet" if base.builtin else \
            f"{real} is not on this machine and not one of training/known_bases.py"
        raise UserError(f"rehearsal: base {base.name}: {what}, so its architecture is unknown")
    return TinyBase(base.name, folder, source, tiny_config(fields))


def tiny_config(real: dict[str, Any]) -> dict[str, Any]:
    """A tiny config of the same architecture class as the config.json fields `real`."""
    if "text_config" in real:
        raise UserError(f"rehearsal: {real.get('model_type')} has a text_config (a multimodal model); only causal "
                        "language models can be rehearsed")
    out = {k: v for k, v in real.items() if k not in DROPPED_FIELDS}
    heads, kv = real.get("num_attention_heads") or 1, real.get("num_key_value_heads")
    out.update(TINY)
    out["num_key_value_heads"] = 1 if kv and kv < heads else TINY["num_attention_heads"]  # grouped or not
    out["model_type"] = real["model_type"]
    out["architectures"] = real.get("architectures") or []
    out["dtype"] = str(real.get("dtype") or real.get("torch_dtype") or "float32").removeprefix("torch.")
    out["vocab_size"] = max(real.get("vocab_size") or 0, _round_up(_tokenizer_size(), 64))
    return out


def _round_up(n: int, k: int) -> int:
    return -(-n // k) * k


def build_tiny(config: dict[str, Any], out: Path, seed: int = 0) -> Path:
    """Build the model of `config` (tiny_config's) with random weights and the Qwen3 tokenizer into `out`."""
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    tokenizer = _tokenizer()
    fields = {k: v for k, v in config.items() if k not in ("model_type", "dtype")}
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
           "pad_token_id": tokenizer.pad_token_id}
    hf_config = AutoConfig.for_model(config["model_type"], **fields, **ids)
    torch.manual_seed(seed)
    names = config["architectures"]
    cls = getattr(transformers, names[0], None) if names else None
    model = cls(hf_config) if cls is not None else AutoModelForCausalLM.from_config(hf_config)
    if not names:
        model.config.architectures = [type(model).__name__]
    model = model.to(getattr(torch, config["dtype"]))
    model.generation_config = GenerationConfig(**ids)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


_TOKENIZER = None


def _tokenizer():
    global _TOKENIZER
    if _TOKENIZER is None:
        if not (TOKENIZER / "vocab.json").is_file():
            raise UserError(f"rehearsal: the Qwen3 tokenizer is not at {TOKENIZER} (it comes with the repository; "
                            "an install without tests/ cannot rehearse)")
        from transformers import AutoTokenizer

        _TOKENIZER = AutoTokenizer.from_pretrained(TOKENIZER)
    return _TOKENIZER


def _tokenizer_size() -> int:
    return len(_tokenizer())


def _tokenizer_digest() -> str:
    h = hashlib.sha256()
    for name in sorted(p.name for p in TOKENIZER.iterdir() if p.is_file()):
        h.update(name.encode() + (TOKENIZER / name).read_bytes())
    return h.hexdigest()[:16]


def _marker(folder: Path) -> dict:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return {}
