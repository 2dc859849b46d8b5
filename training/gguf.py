"""`profit gguf FILE.gguf --out DIR`: a GGUF file (llama.cpp's format) as an ordinary Hugging Face model folder.

transformers reads a GGUF's metadata as the model config, the tokenizer (with its chat template and special tokens)
and the generation config's bos / eos / pad ids, and dequantises its weights; the folder written here is what
`save_pretrained` makes of that, so `AutoModelForCausalLM.from_pretrained(DIR)`, `AutoTokenizer` and vLLM load it
without the `gguf` package. The weights are the quantised ones unpacked, not the original model's: a Q4_1 file gives
a model somewhat worse than its unquantised original. `gguf_source.json` beside the weights says where they came
from. The folder is written under a temporary name and renamed into place, so it is complete or absent.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import json
import os
import shutil
import struct
import time
from collections import Counter
from pathlib import Path

from profit_core.errors import UserError, run_command
from profit_core.files import default_mode, sha256_file, write_json
from profit_core.folders import FolderError, refuse_file
from profit_core.model_folder import check_model_folder, max_positions
from profit_core.versions import versions

# Bump when the output changes for the same input file: it is part of the builtin bases' cache folder names.
CONVERTER_VERSION = 1
PROVENANCE = "gguf_source.json"
DTYPES = {"bf16": "bfloat16", "fp32": "float32"}
GGUF_PIN = "gguf==0.19.0"


def check_gguf(path: Path) -> None:
    """A file that starts with the GGUF magic bytes, checked before anything heavy is imported."""
    if not path.is_file():
        raise UserError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise UserError(f"{path}: not a GGUF file (it does not start with the bytes GGUF)")


def check_output(out: Path) -> None:
    """The output folder must be missing or empty: a conversion never mixes its files with others."""
    refuse_file(out, "output folder")
    names = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if names:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise FolderError(f"output folder {out} is not empty ({shown}); choose a new or empty folder")


def read_provenance(folder: Path) -> dict | None:
    """The folder's `gguf_source.json`, or None when it has none (not a finished conversion)."""
    try:
        return json.loads((Path(folder) / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def convert(gguf_path: str | Path, out: str | Path, dtype: str = "bf16") -> Path:
    """Write the model in `gguf_path` to the new folder `out` with weights in `dtype` (bf16 or fp32); returns it."""
    src, out = Path(gguf_path), Path(out).absolute()
    if dtype not in DTYPES:
        raise UserError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    check_gguf(src)
    check_output(out)
    if importlib.util.find_spec("gguf") is None:
        raise UserError(f"reading a GGUF file needs the gguf package: pip install --no-deps {GGUF_PIN}")
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _convert_into(src, tmp, DTYPES[dtype])
        try:
            os.replace(tmp, out)  # POSIX renames a folder onto a missing or empty one only
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            raise FolderError(f"output folder {out} was filled by something else during the conversion; "
                              "choose a new or empty folder") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _convert_into(src: Path, folder: Path, dtype: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    started = time.perf_counter()
    try:
        # dequantize=True gives plain dense layers, and transformers then drops the GGUF entry from the config: a
        # model still marked GGUF-quantised refuses save_pretrained, and a folder marked so would need gguf to load.
        model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=getattr(torch, dtype),
                                                     quantization_config=GgufConfig(dequantize=True))
        tokenizer = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    except (ValueError, KeyError, IndexError, struct.error, NotImplementedError) as err:  # a corrupt or unknown file
        raise UserError(f"{src}: not a GGUF file transformers can read ({type(err).__name__}: {err})") from err
    # A GGUF tokenizer comes unbounded; the model's context is its real limit, as a hub tokenizer_config says.
    tokenizer.model_max_length = max_positions(model.config.to_dict()) or tokenizer.model_max_length
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    for item in folder.iterdir():
        default_mode(item)  # safetensors writes its file 0600: a shared cache would be unreadable to the group
    check_model_folder(folder)
    write_json(folder / PROVENANCE, {
        "schema": 1,
        "converter_version": CONVERTER_VERSION,
        "source": {"file": src.name, "sha256": sha256_file(src), "bytes": src.stat().st_size, **_describe(src)},
        "dequantized": True,
        "dtype": dtype,
        "params": sum(p.numel() for p in model.parameters()),
        "versions": versions(("gguf", "transformers", "torch")),
        "wall_s": round(time.perf_counter() - started, 1),
    })


def _describe(src: Path) -> dict:
    """What the GGUF says about itself: architecture, name, quantisation (file type and per-tensor types)."""
    from gguf import GGUFReader, LlamaFileType

    reader = GGUFReader(src)
    fields = {key: reader.fields[key].contents() for key in ("general.architecture", "general.name",
                                                             "general.file_type") if key in reader.fields}
    file_type = fields.get("general.file_type")
    try:
        quantization = LlamaFileType(file_type).name.removeprefix("MOSTLY_")
    except ValueError:  # missing, or a type newer than this gguf package
        quantization = file_type
    return {"architecture": fields.get("general.architecture"), "name": fields.get("general.name"),
            "quantization": quantization, "tensor_types": dict(Counter(t.tensor_type.name for t in reader.tensors))}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="profit gguf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, metavar="FILE.gguf", help="the GGUF file to convert")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="the model folder to write; must be missing or empty")
    parser.add_argument("--dtype", choices=DTYPES, default="bf16",
                        help="dtype of the saved weights (default: bf16, the dtype most models, SmolLM2 among "
                             "them, are published in)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command("profit gguf", _main, argv)


def _main(argv: list[str]) -> int:
    from profit_core.offline import go_offline

    go_offline()
    args = _parser().parse_args(argv)
    out = convert(args.file, args.out, args.dtype)
    record = read_provenance(out)
    print(f"{out}: {record['params'] / 1e6:.1f}M parameters in {record['dtype']}, dequantised from "
          f"{record['source']['quantization']} {record['source']['file']} in {record['wall_s']:.0f} s")
    return 0
