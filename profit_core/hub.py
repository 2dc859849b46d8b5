"""A model named by a Hugging Face hub id (`org/name`) instead of a local folder: the one place that resolves it.

Every command runs offline (`offline.go_offline`), so by default a hub id that is not a local folder is one clear
error saying what to download where. With `PROFIT_ONLINE=1` the id is fetched through huggingface_hub's
`snapshot_download` into the Hugging Face cache (`HF_HOME`, default ~/.cache/huggingface) and the snapshot folder
is used. `profit train --model` and `profit eval` checkpoints (and an adapter's base) all go through `resolve_model`.
Standard library only; huggingface_hub is imported only when an id is fetched.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import UserError
from .offline import ONLINE_ENV, online

# What the hub accepts as a repository id (huggingface_hub.utils.validate_repo_id): `org/name`, each part of
# letters, digits, `-`, `_` and `.`, not starting or ending with `-` or `.`, no `--` or `..`.
_PART = r"[A-Za-z0-9](?:[\w.-]{0,94}[A-Za-z0-9])?"
_HUB_ID = re.compile(rf"^{_PART}/{_PART}$")
# Weight formats no command loads: not downloaded (a repo often holds several copies of the same weights).
IGNORED = ("*.pth", "*.pt", "*.gguf", "*.h5", "*.msgpack", "*.onnx", "*.onnx_data", "*.ot", "*.tflite",
           "original/*", "onnx/*", "openvino/*")


class HubModelError(UserError):
    """A model that is neither a local folder nor a hub id this run may fetch; the message says what to do."""


def is_hub_id(text: str | Path) -> bool:
    """True for `org/name` spelled as the hub spells repository ids (a local folder of that name wins)."""
    text = str(text)
    return bool(_HUB_ID.match(text)) and "--" not in text and ".." not in text


def local_dir_for(repo_id: str) -> str:
    """Where the offline message suggests downloading `repo_id`: models/<name> (ignored by git)."""
    return f"models/{repo_id.split('/')[-1]}"


def offline_advice(repo_id: str) -> str:
    """What to do about a hub id in an offline run: download it into models/<name>, or opt in to fetching."""
    local = local_dir_for(repo_id)
    return (f"this run is offline (the default), so download it once where you are online: `hf download {repo_id} "
            f"--local-dir {local}` (`huggingface-cli download {repo_id} --local-dir {local}` with an older "
            f"huggingface_hub), then pass {local}; or set {ONLINE_ENV}=1 to fetch it into the Hugging Face cache")


def resolve_model(spec: str | Path, what: str = "model") -> tuple[Path, str | None]:
    """(local folder, hub id or None) for a model given as a folder or a hub id.

    A path that exists is returned as it is (checking it is the caller's job). A missing path that is not spelled
    like a hub id is returned too, so the caller's own "no such folder" message names it. A hub id fails offline
    with `offline_advice`; online (PROFIT_ONLINE=1) it is downloaded (or found up to date) in the HF cache.
    """
    text = str(spec)
    path = Path(text).expanduser()
    if path.exists() or not is_hub_id(text):
        return path, None
    if not online():
        raise HubModelError(f"{what} {text}: no such folder; if it is a Hugging Face hub id, {offline_advice(text)}")
    return Path(download(text, what)), text


def download(repo_id: str, what: str = "model") -> str:
    """snapshot_download into the HF cache; its errors become one line naming the id and the reason."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    try:
        return snapshot_download(repo_id, ignore_patterns=list(IGNORED))
    except GatedRepoError:
        raise HubModelError(f"{what} {repo_id}: the repository is gated; accept its terms on huggingface.co and log "
                            "in (`hf auth login`), then run again") from None
    except RepositoryNotFoundError:
        raise HubModelError(f"{what} {repo_id}: no such repository on the Hugging Face hub (or it is private: log "
                            "in with `hf auth login`)") from None
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as err:
        raise HubModelError(f"{what} {repo_id}: cannot reach the Hugging Face hub ({err}); {ONLINE_ENV}=1 is set, "
                            "so check the connection and that HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are not set in "
                            "the environment") from None
    except (HfHubHTTPError, OSError) as err:
        raise HubModelError(f"{what} {repo_id}: download failed ({err})") from None
