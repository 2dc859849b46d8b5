"""The training configuration: a dataclass, YAML plus `--key value` overrides, checked before any model loads."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from profit_core.errors import UserError
from profit_core.hub import HubModelError, is_hub_id, resolve_model
from profit_core.model_folder import ModelFolderError, check_model_folder
from training.objectives import ObjectiveConfig

DATA_FORMATS = ("auto", "sharegpt", "openai", "alpaca", "prompt_response", "gsm8k")
PRECISIONS = ("fp32", "bf16", "fp16", "bf16-pure")
FINETUNING = ("full", "lora")
LOSS_IMPLS = ("plain", "lean")

# Fields that change nothing in the trained weights: left out of config_hash, so a rerun with another output folder
# or log cadence is recognised as the same run.
NOT_HASHED = ("output_dir", "logging_steps", "save_steps", "save_total_limit", "keep_checkpoints", "preset",
              "token_log", "report_to", "logging_dir")
# Where the per-step logs can go besides train_log.jsonl (transformers' integrations), and the package each needs.
REPORTERS = {"tensorboard": ("tensorboardX", "tensorboard"), "wandb": ("wandb",), "trackio": ("trackio",)}

# paper_spec §2: the authors' run.sh (LLaMA-Factory defaults where it sets nothing).
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "objective": {"objective": "profit", "strategy": "higher", "tau": 0.1},  # normalization: global, its default
        "learning_rate": 1e-5,
        "lr_scheduler": "cosine",
        "warmup_ratio": 0.1,
        "epochs": 1.0,
        "per_device_batch_size": 1,
        "gradient_accumulation_steps": 4,
        "cutoff_len": 8192,
        "precision": "bf16",
        "finetuning": "full",
        "optim": "adamw_torch",
        "weight_decay": 0.0,
        "max_grad_norm": 1.0,
        "gradient_checkpointing": True,
        "seed": 42,
        "save_steps": 200,
        "logging_steps": 1,
    }
}


def _f(default, help_text: str, **kw):
    return field(default=default, metadata={"help": help_text, **kw})


@dataclass
class TrainConfig:
    """Everything `profit train` needs; see `profit train --help` for each field."""

    model: str = _f("", "base model: a local Hugging Face folder (config.json, weights, tokenizer), or a hub id "
                        "org/name (fetched into the HF cache with PROFIT_ONLINE=1; offline, an error says what to "
                        "download).")
    base_model_name: str = _f("", "short label for tables (default: the model folder's name, or the hub id).")
    data: str = _f("", "training data: a local .jsonl, .json or .parquet file.")
    data_format: str = _f("auto", f"row format: {', '.join(DATA_FORMATS)} (auto: from the first row's keys).")
    chat_template: str = _f(
        "auto",
        "auto: the tokenizer's own chat template, else ChatML; chatml: always ChatML; or a path to a .jinja file.",
    )
    skip_bad_rows: bool = _f(False, "skip (and count) malformed rows instead of failing on the first one.")
    cutoff_len: int = _f(2048, "maximum tokens per example; longer ones are truncated (counted in the log).")
    objective: ObjectiveConfig = field(
        default_factory=ObjectiveConfig,
        metadata={"help": "the token-selective objective (nested: --objective.tau 0.2, see its fields below)."},
    )
    loss_impl: str = _f(
        "plain",
        "plain: the objective on the full logits. lean: from the last hidden states and lm_head weight in chunks "
        "(no [tokens x vocab] logits tensor; computed inside lm_head's forward: single process, DDP or FSDP2, not "
        "DeepSpeed).",
    )
    finetuning: str = _f("full", "full: every weight trains. lora: low-rank adapters via peft.")
    lora_rank: int = _f(8, "lora: adapter rank r.")
    lora_alpha: int = _f(16, "lora: scaling alpha (LLaMA-Factory default 2r).")
    lora_dropout: float = _f(0.0, "lora: dropout on the adapter input.")
    lora_target: str = _f("all-linear", "lora: comma-separated module names, or all-linear.")
    merge_lora: bool = _f(True, "lora: merge the adapter into the saved model (the adapter is kept in adapter/).")
    optim: str = _f("adamw_torch", "optimizer name as in transformers' TrainingArguments.optim.")
    learning_rate: float = _f(1e-5, "peak learning rate.")
    lr_scheduler: str = _f("cosine", "learning-rate schedule (transformers' lr_scheduler_type: cosine, linear, ...).")
    warmup_ratio: float = _f(0.1, "fraction of the optimizer steps spent warming up linearly, in [0, 1).")
    weight_decay: float = _f(0.0, "AdamW weight decay.")
    max_grad_norm: float = _f(1.0, "gradient clipping norm (0 disables).")
    epochs: float = _f(1.0, "passes over the data (ignored when max_steps > 0).")
    max_steps: int = _f(-1, "stop after this many optimizer steps (-1: run the epochs).")
    per_device_batch_size: int = _f(1, "sequences per micro-batch per process.")
    gradient_accumulation_steps: int = _f(4, "micro-batches per optimizer step.")
    padding_free: bool = _f(
        True,
        "pack each micro-batch into one row with restarting position ids instead of padding (no compute on "
        "padding). Needs an attention implementation that honours position ids (transformers' sdpa, eager, "
        "flash-attention); set false for models with custom attention code.",
    )
    group_by_length: bool = _f(
        False, "batch examples of similar length together (less padding when padding_free=false)."
    )
    gradient_checkpointing: bool = _f(False, "recompute activations in backward to save memory.")
    precision: str = _f(
        "fp32",
        "fp32; bf16 / fp16: mixed precision (fp32 master weights, autocast); bf16-pure: weights in bf16 too.",
    )
    seed: int = _f(42, "random seed (data order, initialisation of adapters, the random strategy's draws).")
    attn_implementation: str = _f("sdpa", "attention implementation passed to from_pretrained (sdpa, eager, ...).")
    output_dir: str = _f("", "the checkpoint folder to write (its checkpoints/ subfolder holds resumable states).")
    save_steps: int = _f(200, "save a resumable state every N optimizer steps (0: only at the end).")
    save_total_limit: int = _f(2, "resumable states to keep.")
    keep_checkpoints: bool = _f(False, "keep checkpoints/ after a complete run (it holds optimizer states).")
    logging_steps: int = _f(1, "log every N optimizer steps (console, progress bar and train_log.jsonl).")
    report_to: str = _f(
        "auto",
        "where the per-step logs (loss, lr, kept fraction, mean p of kept / masked tokens, tokens/s, peak memory) "
        f"also go: {', '.join(REPORTERS)} (comma-separated), none, or auto (TensorBoard when installed).",
    )
    logging_dir: str = _f("", "TensorBoard folder (default: <output_dir>/tensorboard).")
    token_log: bool = _f(
        False,
        "write token_weights.jsonl: every supervised token of every step with its p and the weight the loss gave it "
        "(data row and token index included), for analyses of what a method trained on.",
    )
    preset: str = _f("", f"start from a named recipe ({', '.join(PRESETS)}); file and flags override it.")

    def __post_init__(self) -> None:
        if isinstance(self.objective, dict):
            self.objective = _objective_from(self.objective)
        self.validate()

    def validate(self) -> None:
        def fail(name: str, msg: str) -> None:
            raise ConfigError(f"config field `{name}`: {msg}")

        def choose(name: str, allowed) -> None:
            if getattr(self, name) not in allowed:
                fail(name, f"{getattr(self, name)!r} is not one of {', '.join(allowed)}")

        choose("data_format", DATA_FORMATS)
        choose("precision", PRECISIONS)
        choose("finetuning", FINETUNING)
        choose("loss_impl", LOSS_IMPLS)
        if self.preset and self.preset not in PRESETS:
            fail("preset", f"unknown preset {self.preset!r}; known: {', '.join(PRESETS)}")
        for name in ("cutoff_len", "per_device_batch_size", "gradient_accumulation_steps", "logging_steps"):
            if getattr(self, name) < 1:
                fail(name, f"must be at least 1, got {getattr(self, name)}")
        if self.cutoff_len < 2:
            fail("cutoff_len", "must be at least 2 (one prompt and one answer token)")
        if not 0.0 <= self.warmup_ratio < 1.0:
            fail("warmup_ratio", f"must be in [0, 1), got {self.warmup_ratio}")
        if self.learning_rate <= 0:
            fail("learning_rate", f"must be positive, got {self.learning_rate}")
        if self.max_steps == 0 or self.max_steps < -1:
            fail("max_steps", f"must be positive or -1, got {self.max_steps}")
        if self.max_steps == -1 and self.epochs <= 0:
            fail("epochs", f"must be positive when max_steps is -1, got {self.epochs}")
        if self.save_steps < 0:
            fail("save_steps", f"must be >= 0, got {self.save_steps}")
        if self.finetuning == "lora":
            if self.lora_rank < 1:
                fail("lora_rank", f"must be at least 1, got {self.lora_rank}")
            if not 0.0 <= self.lora_dropout < 1.0:
                fail("lora_dropout", f"must be in [0, 1), got {self.lora_dropout}")
        for name in self.reporters():
            if name not in REPORTERS:
                fail("report_to", f"{name!r} is not one of {', '.join(REPORTERS)}, none or auto")
        if self.loss_impl == "lean" and self.finetuning == "lora" and "lm_head" in self.lora_target:
            fail("loss_impl", "lean reads lm_head.weight directly, so lm_head cannot carry a LoRA adapter")

    def reporters(self) -> list[str]:
        """The integrations `report_to` names; `auto` is TensorBoard when a writer for it is installed."""
        if self.report_to == "auto":
            return ["tensorboard"] if any(_installed(m) for m in REPORTERS["tensorboard"]) else []
        return [r.strip() for r in self.report_to.split(",") if r.strip() and r.strip() != "none"]

    def check_runnable(self, model: bool = True) -> None:
        """The checks that need the file system: run before anything heavy loads. model=False skips the model
        folder's (one that a pipeline builds before it trains). A hub id in `model` is resolved here
        (profit_core/hub.py): `model` becomes its local snapshot folder and `base_model_name` keeps the id."""
        if not self.model:
            raise ConfigError("config field `model`: required (a local model folder)")
        if model:
            self.resolve_model()
            try:
                check_model_folder(self.model)
            except ModelFolderError as err:
                raise ConfigError(f"config field `model`: {err}") from None
        if not self.data:
            raise ConfigError("config field `data`: required (a .jsonl, .json or .parquet file)")
        if not Path(self.data).is_file():
            raise ConfigError(f"config field `data`: no such file {self.data!r}")
        if Path(self.data).suffix not in (".jsonl", ".json", ".parquet"):
            raise ConfigError(f"config field `data`: {self.data!r} is not .jsonl, .json or .parquet")
        if not self.output_dir:
            raise ConfigError("config field `output_dir`: required (the checkpoint folder to write)")
        if Path(self.output_dir).exists() and not Path(self.output_dir).is_dir():
            raise ConfigError(f"config field `output_dir`: {self.output_dir} is a file; give a folder path")
        # lean runs inside lm_head's forward, where FSDP2 holds the weight whole (objectives/head.py); it has not
        # been run under DeepSpeed ZeRO-3.
        if self.loss_impl == "lean" and os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() in ("1", "true"):
            raise ConfigError("config field `loss_impl`: lean has not been run under DeepSpeed ZeRO-3; use "
                              "loss_impl: plain with it")
        for name in self.reporters():
            if not any(_installed(m) for m in REPORTERS[name]):
                raise ConfigError(f"config field `report_to`: {name} needs the package {REPORTERS[name][0]} "
                                  f"(pip install {REPORTERS[name][0]}), or set report_to: none")
        template = self.chat_template
        if template not in ("auto", "chatml") and not Path(template).is_file():
            raise ConfigError(f"config field `chat_template`: {template!r} is neither auto, chatml nor a file")

    def resolve_model(self) -> None:
        """A hub id in `model` -> its local folder (offline: a ConfigError saying what to download where)."""
        try:
            folder, hub_id = resolve_model(self.model, "config field `model`:")
        except HubModelError as err:
            raise ConfigError(str(err)) from None
        if hub_id is not None:
            self.base_model_name = self.base_model_name or hub_id
            self.model = str(folder)

    # ---- construction -------------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        values = dict(values)
        preset = values.get("preset") or ""
        merged: dict[str, Any] = {}
        if preset:
            if preset not in PRESETS:
                raise ConfigError(f"config field `preset`: unknown preset {preset!r}; known: {', '.join(PRESETS)}")
            merged = json.loads(json.dumps(PRESETS[preset]))
        for key, value in values.items():
            if key == "objective" and isinstance(value, str):  # shorthand: `objective: profit`
                value = {"objective": value}
            if key == "objective" and isinstance(value, dict):
                merged["objective"] = {**merged.get("objective", {}), **value}
            else:
                merged[key] = value
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(merged) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)} (profit train --help lists them)")
        typed = {f.name: _coerce(f, merged[f.name]) for f in fields(cls) if f.name in merged and f.name != "objective"}
        return cls(objective=_objective_from(merged.get("objective") or {}), **typed)

    @classmethod
    def from_yaml(cls, path: str | Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
        """Preset (if any) < YAML file < overrides. Override keys may be nested (`objective.tau`) or flat (`tau`)."""
        values: dict[str, Any] = {}
        if path is not None:
            try:
                loaded = yaml.safe_load(Path(path).read_text()) or {}
            except OSError as err:
                raise ConfigError(f"cannot read config file {path}: {err}") from err
            except yaml.YAMLError as err:
                raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
            if not isinstance(loaded, dict):
                raise ConfigError(f"config file {path} must hold a mapping of field: value")
            values.update(loaded)
        for key, value in (overrides or {}).items():
            _set(values, key, value)
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["objective"] = self.objective.to_dict()
        return out

    def canonical(self) -> dict[str, Any]:
        """The part of the config that determines the result, with paths made absolute."""
        out = {k: v for k, v in self.to_dict().items() if k not in NOT_HASHED}
        for key in ("model", "data"):
            out[key] = str(Path(out[key]).resolve()) if out[key] else ""
        if is_hub_id(self.model) and not Path(self.model).exists():  # not resolved yet (profit train --dry-run)
            out["model"] = self.model
        if out["chat_template"] not in ("auto", "chatml"):
            out["chat_template"] = hashlib.sha256(Path(out["chat_template"]).read_bytes()).hexdigest()
        return out

    def config_hash(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def label(self) -> str:
        if not self.base_model_name and is_hub_id(self.model) and not Path(self.model).exists():
            return self.model
        return self.base_model_name or Path(self.model.rstrip("/")).name


def _installed(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


class ConfigError(UserError):
    """A configuration that cannot run; the message names the field."""


OBJECTIVE_FIELDS = {f.name: f for f in fields(ObjectiveConfig)}


def _objective_from(values: dict[str, Any] | ObjectiveConfig) -> ObjectiveConfig:
    if isinstance(values, ObjectiveConfig):
        return values
    unknown = sorted(set(values) - set(OBJECTIVE_FIELDS))
    if unknown:
        raise ConfigError(f"unknown objective field(s): {', '.join(unknown)}")
    try:
        return ObjectiveConfig(**{k: _coerce(OBJECTIVE_FIELDS[k], v) for k, v in values.items()})
    except ValueError as err:
        raise ConfigError(f"config field `objective`: {err}") from err


def _set(values: dict[str, Any], key: str, value: Any) -> None:
    """Place an override: `objective.tau` and a flat objective field name (`tau`) both go into `objective`."""
    key = key.replace("-", "_")
    if key == "objective" and isinstance(value, str):
        key = "objective.objective"
    if key.startswith("objective."):
        values.setdefault("objective", {})
        values["objective"] = {**(values["objective"] or {}), key.split(".", 1)[1]: value}
    elif key in OBJECTIVE_FIELDS and key not in TRAIN_FIELD_NAMES:
        values["objective"] = {**(values.get("objective") or {}), key: value}
    else:
        values[key] = value


def _coerce(f: dataclasses.Field, value: Any) -> Any:
    """Strings from the command line become the field's type; YAML values pass through unchanged if they fit."""
    kind = type(f.default) if f.default is not dataclasses.MISSING else str
    if isinstance(value, str) and kind is not str:
        text = value.strip()
        if kind is bool:
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise ConfigError(f"config field `{f.name}`: expected true/false, got {value!r}")
        try:
            return kind(float(text)) if kind is int and "e" in text.lower() else kind(text)
        except ValueError as err:
            raise ConfigError(f"config field `{f.name}`: expected {kind.__name__}, got {value!r}") from err
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if value is not None and kind in (int, float, bool, str) and not isinstance(value, kind):
        raise ConfigError(f"config field `{f.name}`: expected {kind.__name__}, got {value!r}")
    return value


TRAIN_FIELD_NAMES = {f.name for f in fields(TrainConfig)}
