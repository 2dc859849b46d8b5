"""A checkpoint folder: validated before any engine starts, hashed by content, grouped by what an engine must share."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin")
# Files that change what the model outputs; run logs and manifests do not.
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.json", "merges.txt", "tokenizer.model", "chat_template.jinja", "chat_template.json",
)
MODEL_FILES = ("config.json", "generation_config.json")
# Config fields that do not change the engine's shape (a fine-tuned copy differs from its base only in these).
CONFIG_NOISE = ("_name_or_path", "transformers_version")


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be evaluated; the message names the folder and what is wrong."""


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    path: Path

    @classmethod
    def open(cls, path: str | Path) -> Checkpoint:
        """Resolve and validate: config, at least one readable weight file, a tokenizer."""
        folder = Path(path).expanduser().resolve()
        if not folder.is_dir():
            raise CheckpointError(f"checkpoint {folder}: no such folder")
        ckpt = cls(folder)
        try:
            config = json.loads((folder / "config.json").read_text())
        except FileNotFoundError:
            raise CheckpointError(f"checkpoint {folder}: no config.json (not a Hugging Face model folder)") from None
        except json.JSONDecodeError as e:
            raise CheckpointError(f"checkpoint {folder}: config.json is not valid JSON ({e})") from None
        if not config.get("architectures"):
            raise CheckpointError(f"checkpoint {folder}: config.json names no `architectures`")
        if not ckpt.weight_files:
            raise CheckpointError(f"checkpoint {folder}: no weight files (*.safetensors or *.bin)")
        for f in ckpt.weight_files:
            if f.suffix == ".safetensors":
                _check_safetensors(f)
        if not any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer.model", "vocab.json")):
            raise CheckpointError(
                f"checkpoint {folder}: no tokenizer files (tokenizer.json, tokenizer.model or vocab.json)")
        return ckpt

    @cached_property
    def weight_files(self) -> list[Path]:
        return sorted(p for p in self.path.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file())

    @cached_property
    def content_hash(self) -> str:
        return model_content_hash(self.path)

    @cached_property
    def engine_group(self) -> str:
        """Checkpoints with equal groups can share one running engine: same shapes, dtype and tokenizer."""
        config = json.loads((self.path / "config.json").read_text())
        for k in CONFIG_NOISE:
            config.pop(k, None)
        h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
        for name in TOKENIZER_FILES:
            if (self.path / name).is_file():
                h.update(name.encode() + _sha256_file(self.path / name).encode())
        return h.hexdigest()[:16]

    @cached_property
    def max_positions(self) -> int | None:
        """The longest sequence the model's config allows: vLLM refuses a longer max_model_len."""
        config = json.loads((self.path / "config.json").read_text())
        value = config.get("text_config", config).get("max_position_embeddings")
        return int(value) if value else None

    @cached_property
    def run(self) -> dict | None:
        """profit_run.json written by training, or None for a base model."""
        manifest = self.path / "profit_run.json"
        return json.loads(manifest.read_text()) if manifest.is_file() else None

    @property
    def label(self) -> str:
        return self.path.name

    @cached_property
    def chat_template(self) -> str | None:
        jinja = self.path / "chat_template.jinja"
        if jinja.is_file():
            return jinja.read_text()
        config = self.path / "tokenizer_config.json"
        if config.is_file():
            template = json.loads(config.read_text()).get("chat_template")
            return template if isinstance(template, str) else json.dumps(template) if template else None
        return None

    @property
    def chat_template_sha256(self) -> str | None:
        t = self.chat_template
        return hashlib.sha256(t.encode()).hexdigest() if t is not None else None


def _check_safetensors(path: Path) -> None:
    """Header and size must agree: a truncated or overwritten file fails here, not minutes later inside vLLM."""
    import struct

    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size - 8:
                raise ValueError("header longer than the file")
            header = json.loads(f.read(n))
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    except (struct.error, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"checkpoint weights {path}: not a readable safetensors file ({e})") from None
    if 8 + n + end != size:
        raise CheckpointError(
            f"checkpoint weights {path}: truncated or corrupt ({size} bytes, header says {8 + n + end})")


def model_content_hash(path: str | Path) -> str:
    """sha256 over the names and sha256s of the weight, config and tokenizer files (docs/formats.md)."""
    folder = Path(path)
    names = sorted(
        p.name for p in folder.iterdir()
        if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name in MODEL_FILES + TOKENIZER_FILES or
                            p.name.endswith(".safetensors.index.json"))
    )
    h = hashlib.sha256()
    for name in names:
        h.update(f"{name}\0{_sha256_file(folder / name)}\n".encode())
    return h.hexdigest()
