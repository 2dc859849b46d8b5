"""A Hugging Face model folder, checked before anything heavy loads it, and its content hash.

Both `profit train` (the base model) and `profit eval` (every checkpoint) call `check_model_folder`, so a corrupt
`config.json`, a truncated weight file or a missing tokenizer is one clear error naming the file, not a traceback
minutes later inside transformers or vLLM.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

from .errors import UserError
from .files import sha256_file

WEIGHT_SUFFIXES = (".safetensors", ".bin")
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.json", "merges.txt", "tokenizer.model", "chat_template.jinja", "chat_template.json",
)
# Any of these makes a tokenizer loadable.
TOKENIZER_CORE = ("tokenizer.json", "tokenizer.model", "vocab.json")
MODEL_FILES = ("config.json", "generation_config.json")


class ModelFolderError(UserError):
    """A folder that is not a usable model; the message names the folder, the file and what is wrong."""


def read_config(folder: Path) -> dict:
    path = Path(folder) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFolderError(f"{folder}: no config.json (not a Hugging Face model folder)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFolderError(f"{folder}: config.json is not valid JSON ({err}); restore the model folder") from None
    if not isinstance(config, dict):
        raise ModelFolderError(f"{folder}: config.json is not a JSON object")
    return config


def weight_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file())


def check_safetensors(path: Path) -> None:
    """Header and size must agree: a truncated or overwritten file fails here, not minutes later inside vLLM."""
    size = path.stat().st_size
    try:
        with path.open("rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size - 8:
                raise ValueError("header longer than the file")
            header = json.loads(f.read(n))
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    except (struct.error, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ModelFolderError(f"{path}: not a readable safetensors file ({e}); the weights are corrupt") from None
    if 8 + n + end != size:
        raise ModelFolderError(f"{path}: truncated or corrupt ({size} bytes, its header says {8 + n + end}); "
                               "the weights are incomplete")


def _check_index(folder: Path) -> None:
    """A sharded checkpoint's index must name shards that are there."""
    for index in Path(folder).glob("*.safetensors.index.json"):
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
            raise ModelFolderError(f"{index}: not a valid weight index ({err})") from None
        missing = sorted(s for s in shards if not (Path(folder) / s).is_file())
        if missing:
            raise ModelFolderError(f"{index}: names shard(s) that are missing: {', '.join(missing[:3])}")


def check_model_folder(folder: str | Path, *, weights: bool = True, tokenizer: bool = True) -> dict:
    """The folder's config, after checking that config, weights and tokenizer are there and readable."""
    folder = Path(folder)
    if not folder.exists():
        raise ModelFolderError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ModelFolderError(f"{folder}: a file, not a model folder")
    config = read_config(folder)
    if weights:
        found = weight_files(folder)
        if not found:
            raise ModelFolderError(f"{folder}: no weight files (*.safetensors or *.bin)")
        for path in found:
            if path.suffix == ".safetensors":
                check_safetensors(path)
        _check_index(folder)
    if tokenizer and not any((folder / name).is_file() for name in TOKENIZER_CORE):
        raise ModelFolderError(f"{folder}: no tokenizer files ({', '.join(TOKENIZER_CORE)})")
    return config


def looks_like_model(folder: Path) -> bool:
    """True for a folder holding a model's config or weights (what no output may overwrite)."""
    folder = Path(folder)
    return (folder / "config.json").is_file() or any(
        p.suffix in WEIGHT_SUFFIXES for p in folder.iterdir() if p.is_file())


def max_positions(config: dict) -> int | None:
    """The longest sequence the model's config allows (vLLM refuses a longer max_model_len)."""
    value = config.get("text_config", config).get("max_position_embeddings")
    return int(value) if value else None


def content_hash(folder: str | Path) -> str:
    """sha256 over `name\\0sha256(file)\\n` of every weight, config and tokenizer file, sorted by name
    (docs/formats.md): what the store keys a checkpoint's results by."""
    folder = Path(folder)
    names = sorted(
        p.name for p in folder.iterdir()
        if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name in MODEL_FILES + TOKENIZER_FILES or
                            p.name.endswith(".safetensors.index.json"))
    )
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name}\0{sha256_file(folder / name)}\n".encode())
    return digest.hexdigest()
