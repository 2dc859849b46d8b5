"""Nothing may reach a model hub at run time: set every offline switch before transformers/datasets import.

The one opt-in is PROFIT_ONLINE=1: the hub switches (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE) are then left unset so
that a model given as a hub id can be fetched (profit_core/hub.py); datasets stay offline (every task reads data
from the repo).
"""

import os

ONLINE_ENV = "PROFIT_ONLINE"
HUB_SWITCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def online() -> bool:
    """True when the user opted in to fetching models by hub id (PROFIT_ONLINE=1)."""
    return os.environ.get(ONLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def go_offline() -> None:
    allow_hub = online()
    for key, value in OFFLINE_ENV.items():
        if not (allow_hub and key in HUB_SWITCHES):
            os.environ.setdefault(key, value)
