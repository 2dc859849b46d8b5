"""A checkpoint folder: validated before any engine starts, hashed by content, grouped by what an engine must share."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from profit_core.files import sha256_file, sha256_text
from profit_core.formats import run_manifest
from profit_core.model_folder import (
    TOKENIZER_FILES,
    ModelFolderError,
    check_model_folder,
    content_hash,
    max_positions,
    read_config,
)

# Config fields that do not change the engine's shape (a fine-tuned copy differs from its base only in these).
CONFIG_NOISE = ("_name_or_path", "transformers_version")


class CheckpointError(ModelFolderError):
    """A checkpoint folder that cannot be evaluated; the message names the folder and what is wrong."""


@dataclass(frozen=True)
class Checkpoint:
    path: Path

    @classmethod
    def open(cls, path: str | Path) -> Checkpoint:
        """Resolve and validate: config, at least one readable weight file, a tokenizer."""
        folder = Path(path).expanduser().resolve()
        try:
            config = check_model_folder(folder)
        except ModelFolderError as err:
            raise CheckpointError(f"checkpoint {err}") from None
        if not config.get("architectures"):
            raise CheckpointError(f"checkpoint {folder}: config.json names no `architectures`")
        return cls(folder)

    @cached_property
    def content_hash(self) -> str:
        return content_hash(self.path)

    @cached_property
    def engine_group(self) -> str:
        """Checkpoints with equal groups can share one running engine: same shapes, dtype and tokenizer."""
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
        return max_positions(read_config(self.path))

    @cached_property
    def run(self) -> dict | None:
        """The training manifest (profit_run.json), or None for a base model."""
        return run_manifest.read_or_none(self.path)

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
        return sha256_text(t) if t is not None else None
