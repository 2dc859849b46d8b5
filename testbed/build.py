"""Build (or find in the cache) the testbed's base model: tokenizer + pretrained LlamaForCausalLM folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from profit_core.files import sha256_file
from profit_core.formats import base_build
from profit_core.versions import versions

from .model import ModelShape
from .splits import TestbedSpec
from .variants import DEFAULT, variant

# Bump when the builder's code changes its output for the same settings. 2: the training code's ChatML template in
# the tokenizer; no greedy accuracy at build time (the pipeline scores the base through the harness).
BUILDER_VERSION = 2


@dataclass(frozen=True)
class BaseConfig:
    seed: int = field(default=0, metadata={"help": "seeds the corpus stream, the initialisation and the tokenizer."})
    steps: int = field(default=600, metadata={"help": "pretraining steps (one fresh batch each)."})
    batch_size: int = field(default=48, metadata={"help": "examples per pretraining step."})
    lr: float = field(default=4e-3, metadata={"help": "AdamW peak learning rate."})
    warmup: int = field(default=30, metadata={"help": "linear warmup steps."})
    lr_floor: float = field(default=0.05, metadata={"help": "cosine decays to lr * lr_floor."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    threads: int = field(
        default=1,
        metadata={
            "help": "torch CPU threads. Part of the cache key: float sums, hence the weights, depend on it. "
            "1 is the default because on a busy 2-core machine 2 threads ran up to 5x slower."
        },
    )
    vocab_size: int = field(default=600, metadata={"help": "BPE vocabulary target (the corpus needs ~470)."})
    tokenizer_samples: int = field(default=2000, metadata={"help": "pretraining examples the tokenizer learns from."})
    shape: ModelShape = field(default_factory=ModelShape, metadata={"help": "the network's size."})
    spec: TestbedSpec = field(default_factory=TestbedSpec, metadata={"help": "the testbed's problem sets."})

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "threads", "vocab_size", "tokenizer_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"base config: {name} must be positive, got {getattr(self, name)!r}")
        if not 0 < self.lr < 1:
            raise ValueError(f"base config: lr must be in (0, 1), got {self.lr!r}")
        if not 0 <= self.warmup < self.steps:
            raise ValueError(f"base config: warmup ({self.warmup}) must be below steps ({self.steps})")

    def to_dict(self) -> dict:
        return {"builder_version": BUILDER_VERSION, **asdict(self)}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


# A few-second build for the tests: same code path, a toy network and budget.
TINY = BaseConfig(
    steps=12, batch_size=8, warmup=2, tokenizer_samples=300,
    shape=ModelShape(hidden=32, layers=1, heads=2, ffn=64, max_positions=256),
)


def variant_base(name: str, config: BaseConfig | None = None) -> BaseConfig:
    """The settings of the base a variant fine-tunes (`config`'s other settings, default ones by default): a build
    of its own where the variant changes pretraining (its spec, hence its cache key, names the variant), else the
    default variant's base, which the variants that change only the SFT data share."""
    config = config or BaseConfig()
    own = variant(name).own_base
    return replace(config, spec=replace(config.spec, variant=name if own else DEFAULT))


def cache_root() -> Path:
    return Path(os.environ.get("PROFIT_CACHE") or Path.home() / ".cache" / "profit-bench")


def base_folder(config: BaseConfig | None = None, seed: int = 0) -> Path:
    """The cache folder of the base built with `config` and `seed` (whether or not it is built yet)."""
    return cache_root() / f"base-{replace(config or BaseConfig(), seed=seed).digest()[:12]}"


def build_base(out_dir: Path | None = None, *, seed: int = 0, force: bool = False, config: BaseConfig | None = None,
               progress: bool = True) -> Path:
    """The folder of the base model built with `config` (default settings) and `seed`; built once, then cached.

    The folder loads with `AutoModelForCausalLM.from_pretrained` and vLLM, and holds `base_build.json`.
    """
    cfg = replace(config or BaseConfig(), seed=seed)
    out = Path(out_dir) if out_dir is not None else base_folder(cfg, seed)
    if not force and _finished(out, cfg):
        return out
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _build_into(tmp, cfg, progress)
        # Another process may have finished the same build meanwhile: keep its folder (it may be in use).
        if force or not _finished(out, cfg):
            shutil.rmtree(out, ignore_errors=True)
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _finished(out: Path, cfg: BaseConfig) -> bool:
    """True when `out` holds a finished build of `cfg`; an error when it holds one of other settings."""
    record = base_build.read(out)
    if record is None:
        return False
    if record.get("config_sha256") == cfg.digest():
        return True
    raise FileExistsError(f"{out} holds a base built with other settings; pass force=True to rebuild it")


def _build_into(folder: Path, cfg: BaseConfig, progress: bool) -> None:
    import torch

    from .model import build_model
    from .pretrain import pretrain
    from .splits import pretrain_stream
    from .tokenizer import train_tokenizer

    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        stream = pretrain_stream(cfg.spec, seed=-1 - cfg.seed, batch_size=1)
        texts = [_chat_text(next(stream)[0]) for _ in range(cfg.tokenizer_samples)]
        tokenizer = train_tokenizer(texts, cfg.vocab_size)
        model = build_model(cfg.shape, tokenizer, cfg.seed)
        summary = pretrain(model, tokenizer, cfg.spec, cfg, progress=progress)
    finally:
        torch.set_num_threads(threads)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    record = {
        "config": cfg.to_dict(),
        "config_sha256": cfg.digest(),
        "params": sum(p.numel() for p in model.parameters()),
        "vocab": len(tokenizer),
        **summary,
        "weights_sha256": sha256_file(folder / "model.safetensors"),
        "threads": cfg.threads,
        "wall_s": round(time.perf_counter() - started, 1),
        "versions": versions(("torch", "transformers")),
    }
    base_build.write(folder, record)


def _chat_text(r) -> str:
    return f"<|im_start|>user\n{r.question}<|im_end|>\n<|im_start|>assistant\n{r.solution}<|im_end|>\n"


__all__ = ["BaseConfig", "TINY", "base_folder", "build_base", "cache_root", "variant_base"]
