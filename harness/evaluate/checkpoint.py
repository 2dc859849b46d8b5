"""A checkpoint folder: validated before any engine starts, hashed by content, grouped by what an engine must share.

Three kinds, one class:
- a model folder (config.json, weights, tokenizer): a trained run or a base model;
- a Hugging Face hub id (`org/name`), resolved to a local folder by profit_core/hub.py (offline: an error saying
  what to download where; PROFIT_ONLINE=1: fetched into the HF cache); its label is the id;
- a PEFT adapter folder (adapter_config.json + adapter weights, no config.json), e.g. `profit train --finetuning
  lora --merge_lora false`: scored on its base model without a merged copy (vLLM's LoRA support, peft on hf). The
  base is `--base` when given, else the adapter's `base_model_name_or_path` (else the run manifest's base_model).
  Its content hash covers the adapter files and the base's content hash; its engine group is the base's, so a base
  and its adapters share one engine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from profit_core.files import canonical_json, sha256_file, sha256_text
from profit_core.formats import run_manifest
from profit_core.hub import HubModelError, resolve_model
from profit_core.model_folder import (
    MODEL_FILES,
    TOKENIZER_CORE,
    TOKENIZER_FILES,
    ModelFolderError,
    check_model_folder,
    check_safetensors,
    content_hash,
    max_positions,
    read_config,
)

# Config fields that do not change the engine's shape (a fine-tuned copy differs from its base only in these).
CONFIG_NOISE = ("_name_or_path", "transformers_version")
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
# adapter_config.json fields that say where the adapter was made, not what it is (the base is hashed by content).
ADAPTER_NOISE = ("base_model_name_or_path",)


class CheckpointError(ModelFolderError):
    """A checkpoint folder that cannot be evaluated; the message names the folder and what is wrong."""


def is_adapter(folder: Path) -> bool:
    """A PEFT adapter folder: adapter_config.json and no config.json of a whole model."""
    return (folder / ADAPTER_CONFIG).is_file() and not (folder / "config.json").is_file()


def read_adapter_config(folder: Path) -> dict:
    path = folder / ADAPTER_CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {folder}: {ADAPTER_CONFIG} is not readable JSON ({err})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"checkpoint {folder}: {ADAPTER_CONFIG} is not a JSON object")
    return config


def adapter_content_hash(folder: Path, base_hash: str) -> str:
    """sha256 over `name\\0sha256\\n` of the adapter's files (adapter_config.json as canonical JSON without
    base_model_name_or_path, the adapter weights, tokenizer files, generation_config.json), sorted by name, then
    `base\\0<base content hash>\\n`: the same adapter on the same base content hashes alike wherever they lie."""
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and (
        p.name in ADAPTER_WEIGHTS + MODEL_FILES + TOKENIZER_FILES or p.name == ADAPTER_CONFIG))
    digest = hashlib.sha256(b"peft-adapter\n")
    for name in names:
        if name == ADAPTER_CONFIG:
            config = {k: v for k, v in read_adapter_config(folder).items() if k not in ADAPTER_NOISE}
            file_hash = sha256_text(canonical_json(config))
        else:
            file_hash = sha256_file(folder / name)
        digest.update(f"{name}\0{file_hash}\n".encode())
    digest.update(f"base\0{base_hash}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    path: Path  # the folder given (resolved); for an adapter, the adapter's folder
    base: Checkpoint | None = None  # adapters: the model they apply to
    hub_id: str | None = None  # given as a hub id: the id (the label)

    @classmethod
    def open(cls, path: str | Path, base: str | Path | None = None) -> Checkpoint:
        """Resolve and validate: a model folder (config, at least one readable weight file, a tokenizer), a hub id,
        or an adapter folder and its base (`base` overrides the adapter's own `base_model_name_or_path`)."""
        folder, hub_id = _resolve(path, "checkpoint")
        folder = folder.expanduser().resolve()
        if folder.is_dir() and is_adapter(folder):
            return cls._open_adapter(folder, base, hub_id)
        try:
            config = check_model_folder(folder)
        except ModelFolderError as err:
            raise CheckpointError(f"checkpoint {err}") from None
        if not config.get("architectures"):
            raise CheckpointError(f"checkpoint {folder}: config.json names no `architectures`")
        return cls(folder, hub_id=hub_id)

    @classmethod
    def _open_adapter(cls, folder: Path, base: str | Path | None, hub_id: str | None) -> Checkpoint:
        config = read_adapter_config(folder)
        weights = [folder / n for n in ADAPTER_WEIGHTS if (folder / n).is_file()]
        if not weights:
            raise CheckpointError(f"checkpoint {folder}: a PEFT adapter ({ADAPTER_CONFIG}) without adapter weights "
                                  f"({' or '.join(ADAPTER_WEIGHTS)})")
        if weights[0].suffix == ".safetensors":
            try:
                check_safetensors(weights[0])
            except ModelFolderError as err:
                raise CheckpointError(f"checkpoint {err}") from None
        named = config.get("base_model_name_or_path")
        if base is not None:
            source = "--base"
        else:
            manifest = run_manifest.read_or_none(folder) or {}
            candidates = [(c, f"{ADAPTER_CONFIG}'s base_model_name_or_path") for c in [named] if isinstance(c, str)]
            candidates += [(c, "the run manifest's base_model") for c in [manifest.get("base_model")]
                           if isinstance(c, str)]
            candidates = [(c, why) for c, why in candidates if c]
            if not candidates:
                raise CheckpointError(f"checkpoint {folder}: a PEFT adapter whose {ADAPTER_CONFIG} names no "
                                      "base_model_name_or_path; give its base model with --base FOLDER")
            # The first that is a folder here (a relative path written on another machine may not be), else the
            # first as given (a hub id, or the path that the error then names).
            base, source = next((c for c in candidates if Path(c[0]).expanduser().is_dir()), candidates[0])
        try:
            base_ckpt = cls.open(base)
        except CheckpointError as err:
            raise CheckpointError(f"adapter {folder}: its base model ({source}) cannot be used: {err}; give the "
                                  "base model with --base FOLDER") from None
        if base_ckpt.base is not None:
            raise CheckpointError(f"adapter {folder}: its base {base_ckpt.path} is itself an adapter; --base must be "
                                  "a whole model")
        return cls(folder, base=base_ckpt, hub_id=hub_id)

    @property
    def is_adapter(self) -> bool:
        return self.base is not None

    @property
    def weights_path(self) -> Path:
        """The folder whose weights an engine loads: the base's for an adapter."""
        return self.base.path if self.base is not None else self.path

    @cached_property
    def tokenizer_path(self) -> Path:
        """The tokenizer (and chat template) prompts are built with: an adapter's own when it has one (profit train
        saves the template it trained with beside the adapter), else its base's."""
        if self.base is not None and not any((self.path / n).is_file() for n in TOKENIZER_CORE):
            return self.base.path
        return self.path

    @cached_property
    def adapter_config(self) -> dict | None:
        return read_adapter_config(self.path) if self.base is not None else None

    @cached_property
    def lora_rank(self) -> int | None:
        """The largest LoRA rank in the adapter (what vLLM's max_lora_rank must cover); None for a model."""
        config = self.adapter_config
        if config is None:
            return None
        ranks = [config.get("r") or 8, *(config.get("rank_pattern") or {}).values()]
        return max(int(r) for r in ranks)

    @property
    def peft_type(self) -> str | None:
        return str((self.adapter_config or {}).get("peft_type") or "LORA").upper() if self.base is not None else None

    @cached_property
    def content_hash(self) -> str:
        if self.base is not None:
            return adapter_content_hash(self.path, self.base.content_hash)
        return content_hash(self.path)

    @cached_property
    def engine_group(self) -> str:
        """Checkpoints with equal groups can share one running engine: same shapes, dtype and tokenizer. An
        adapter's is its base's."""
        if self.base is not None:
            return self.base.engine_group
        config = read_config(self.path)
        for k in CONFIG_NOISE:
            config.pop(k, None)
        h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
        for name in TOKENIZER_FILES:
            if (self.path / name).is_file():
                h.update(name.encode() + sha256_file(self.path / name).encode())
        return h.hexdigest()[:16]

    @cached_property
    def max_positions(self) -> int | None:
        """The longest sequence the model's config allows: vLLM refuses a longer max_model_len."""
        return max_positions(read_config(self.weights_path))

    @cached_property
    def run(self) -> dict | None:
        """The training manifest (profit_run.json), or None for a base model."""
        return run_manifest.read_or_none(self.path)

    @property
    def label(self) -> str:
        return self.hub_id or self.path.name

    @cached_property
    def chat_template(self) -> str | None:
        folder = self.tokenizer_path
        jinja = folder / "chat_template.jinja"
        if jinja.is_file():
            return jinja.read_text()
        config = folder / "tokenizer_config.json"
        if config.is_file():
            template = json.loads(config.read_text()).get("chat_template")
            return template if isinstance(template, str) else json.dumps(template) if template else None
        return None

    @property
    def chat_template_sha256(self) -> str | None:
        t = self.chat_template
        return sha256_text(t) if t is not None else None


def _resolve(path: str | Path, what: str) -> tuple[Path, str | None]:
    try:
        return resolve_model(path, what)
    except HubModelError as err:
        raise CheckpointError(str(err)) from None
