"""The three ways to get an lm-eval model for a checkpoint. The vLLM ones keep one engine per architecture and swap
weights into it (`reload_weights` on every worker, then a prefix-cache reset), instead of restarting per checkpoint.

On the CPU build a plain reload leaves stale prepacked GEMM weights behind; see harness/serve/worker_ext.py.
Each backend's `model_for(checkpoint)` returns an lm-eval LM whose weights are that checkpoint's and reports in
`last_start_s` / `last_load_s` what that cost. An engine is built with `settings_for(checkpoint)`: the settings of
its engine group (its length limit follows the group's models and tasks). `close()` frees the engine; backends are
context managers.

A PEFT adapter checkpoint is scored on its base without a merged copy: the vLLM backends start (or keep) the
engine on the base's weights with LoRA enabled and send each request with the adapter's LoRARequest (vLLM's CPU
build serves LoRA too, through its PunicaWrapperCPU); the hf backend wraps the base in peft's PeftModel. Prompts
are built with the adapter's own tokenizer and chat template when it has them (they must share the base's
vocabulary: vLLM detokenizes with the base's tokenizer).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.evaluate.checkpoint import Checkpoint
from harness.evaluate.engine import EngineSettings
from harness.serve.worker_ext import WORKER_EXTENSION
from profit_core.errors import UserError

log = logging.getLogger(__name__)

BACKENDS = ("vllm", "vllm-server", "hf")


def check_backend(backend: str, ckpts: Sequence[Checkpoint]) -> None:
    """Refuse, before any engine starts, what a backend cannot score: vLLM serves LoRA adapters only."""
    if backend in ("vllm", "vllm-server"):
        for ckpt in ckpts:
            if ckpt.is_adapter and ckpt.peft_type != "LORA":
                raise UserError(f"checkpoint {ckpt.path}: a {ckpt.peft_type} adapter; vLLM serves LoRA adapters "
                                "only, so evaluate it with --backend hf")


_VOCABS: dict[Path, dict] = {}


def _vocab(folder: Path) -> dict:
    if folder not in _VOCABS:
        from transformers import AutoTokenizer

        _VOCABS[folder] = AutoTokenizer.from_pretrained(str(folder), local_files_only=True).get_vocab()
    return _VOCABS[folder]


def check_adapter_vocab(ckpt: Checkpoint) -> None:
    """An adapter with a tokenizer of its own must share its base's vocabulary: vLLM runs every adapter with the
    base's tokenizer (it would decode the adapter's token ids with another vocabulary)."""
    if ckpt.is_adapter and ckpt.tokenizer_path != ckpt.weights_path:
        if _vocab(ckpt.tokenizer_path) != _vocab(ckpt.weights_path):
            raise UserError(f"adapter {ckpt.path}: its tokenizer's vocabulary differs from its base's "
                            f"({ckpt.weights_path}); vLLM serves adapters with the base's tokenizer, so evaluate it "
                            "with --backend hf")


class Backend:
    name: str

    def __init__(self, settings_for: Callable[[Checkpoint], EngineSettings], seed: int):
        self.settings_for = settings_for
        self.settings: EngineSettings | None = None  # those of the engine running now
        self.seed = seed
        self.lm = None
        self.loaded: Checkpoint | None = None
        self.weights: Path | None = None  # the weights in the running engine (a base, for an adapter)
        self.last_start_s = 0.0
        self.last_load_s = 0.0

    def model_for(self, ckpt: Checkpoint):
        raise NotImplementedError

    def guard(self):
        """Context manager around one lm-eval run (the server backend turns a dead server into an error)."""
        import contextlib

        return contextlib.nullcontext()

    def close(self) -> None:
        self.lm, self.loaded, self.weights = None, None, None
        gc.collect()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class VLLMBackend(Backend):
    """lm-eval's `vllm` model in this process; one engine per engine group (architecture + tokenizer)."""

    name = "vllm"

    def __init__(self, settings_for: Callable[[Checkpoint], EngineSettings], seed: int):
        super().__init__(settings_for, seed)
        self._lora_ids: dict[Path, int] = {}  # vLLM caches adapters by id: one id per adapter, per engine
        self._engine_tokenizer = None
        self._tokenizers: dict[Path, tuple] = {}

    def model_for(self, ckpt: Checkpoint):
        self.last_start_s = self.last_load_s = 0.0
        reusable = (self.lm is not None and self.loaded.engine_group == ckpt.engine_group
                    and self.settings.data_parallel_size == 1)  # lm-eval rebuilds DP replicas per call anyway
        if not reusable:
            self.close()
            self.settings = self.settings_for(ckpt)
            t0 = time.perf_counter()
            self.lm = self._build(ckpt)
            self.weights = ckpt.weights_path
            self._engine_tokenizer = (self.lm.tokenizer, self.lm.hf_chat_template)
            self.last_start_s = time.perf_counter() - t0
        elif self.weights != ckpt.weights_path:
            t0 = time.perf_counter()
            self.lm.model.collective_rpc("profit_swap_weights", kwargs={"weights_path": str(ckpt.weights_path)})
            self.lm.model.reset_prefix_cache()  # cached KV blocks were computed with the previous weights
            self.weights = ckpt.weights_path
            self.last_load_s = time.perf_counter() - t0
        self.lm.lora_request = self._lora_request(ckpt)
        self.lm.tokenizer, self.lm.hf_chat_template = self._tokenizer_for(ckpt)
        if self.settings.data_parallel_size == 1:
            self.lm.model.collective_rpc("profit_reseed", kwargs={"seed": str(self.seed)})
        self.loaded = ckpt
        return self.lm

    def _lora_request(self, ckpt: Checkpoint):
        if not ckpt.is_adapter:
            return None
        from vllm.lora.request import LoRARequest

        number = self._lora_ids.setdefault(ckpt.path, len(self._lora_ids) + 1)
        return LoRARequest(f"adapter-{number}", number, str(ckpt.path))

    def _tokenizer_for(self, ckpt: Checkpoint) -> tuple:
        """(tokenizer, chat template) prompts are built with: the engine's, or an adapter's own."""
        if ckpt.tokenizer_path == ckpt.weights_path:
            return self._engine_tokenizer
        if ckpt.tokenizer_path not in self._tokenizers:
            from lm_eval.models.utils import configure_pad_token
            from transformers import AutoTokenizer

            check_adapter_vocab(ckpt)
            tokenizer = AutoTokenizer.from_pretrained(str(ckpt.tokenizer_path), local_files_only=True)
            tokenizer = configure_pad_token(tokenizer, model_config=self.lm._config)
            self._tokenizers[ckpt.tokenizer_path] = (tokenizer, tokenizer.chat_template)
        return self._tokenizers[ckpt.tokenizer_path]

    def _build(self, ckpt: Checkpoint):
        if self.settings.device == "cpu":
            # In-process engine core: one process fewer, faster start, and no spawn re-import of the caller.
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from lm_eval.models.vllm_causallms import VLLM

        args = {**self.settings.vllm_args(), "worker_extension_cls": WORKER_EXTENSION}
        return VLLM(pretrained=str(ckpt.weights_path), seed=self.seed, batch_size=self.settings.batch_size,
                    data_parallel_size=self.settings.data_parallel_size, **args)

    def close(self) -> None:
        if self.lm is not None and hasattr(self.lm, "model"):
            engine = getattr(self.lm.model, "llm_engine", None)
            core = getattr(engine, "engine_core", None)
            if core is not None and hasattr(core, "shutdown"):
                core.shutdown()
        self._lora_ids, self._tokenizers, self._engine_tokenizer = {}, {}, None
        super().close()


class ServerBackend(Backend):
    """`vllm serve` on a free loopback port + lm-eval's completions client; weights swapped over the dev endpoints,
    LoRA adapters loaded over the runtime adapter endpoint and asked for by name."""

    name = "vllm-server"

    def __init__(self, settings_for: Callable[[Checkpoint], EngineSettings], seed: int, port: int | None = None):
        super().__init__(settings_for, seed)
        self.port = port
        self.server = None
        self._adapters: dict[Path, str] = {}

    def model_for(self, ckpt: Checkpoint):
        from harness.serve.server import VLLMServer

        self.last_start_s = self.last_load_s = 0.0
        if self.server is None or self.loaded.engine_group != ckpt.engine_group:
            self.close()
            self.settings = self.settings_for(ckpt)
            env = {"VLLM_SERVER_DEV_MODE": "1"}  # /collective_rpc and /reset_prefix_cache, for the weight swap
            if self.settings.max_lora_rank:
                env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"  # /v1/load_lora_adapter, for each adapter
            if self.settings.device == "cpu":
                env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
            args = {**self.settings.vllm_args(), "seed": self.seed, "worker_extension_cls": WORKER_EXTENSION}
            if self.settings.data_parallel_size > 1:
                args["data_parallel_size"] = self.settings.data_parallel_size
            self.server = VLLMServer(ckpt.weights_path, args, port=self.port, env=env,
                                     health_timeout_s=self.settings.health_timeout_s)
            self.server.start()
            self.weights = ckpt.weights_path
            self.last_start_s = self.server.start_s
        elif self.weights != ckpt.weights_path:
            t0 = time.perf_counter()
            self.server.reload_weights(ckpt.weights_path)
            self.weights = ckpt.weights_path
            self.last_load_s = time.perf_counter() - t0
        served = self._adapter(ckpt) if ckpt.is_adapter else self.server.served_name
        self.loaded = ckpt
        self.lm = self._client(ckpt, served)
        return self.lm

    def _adapter(self, ckpt: Checkpoint) -> str:
        """The served name of an adapter, loaded into the running server the first time it is asked for."""
        if ckpt.path not in self._adapters:
            check_adapter_vocab(ckpt)
            name = f"adapter-{len(self._adapters) + 1}"
            body = json.dumps({"lora_name": name, "lora_path": str(ckpt.path)}).encode()
            request = urllib.request.Request(f"{self.server.base_url}/v1/load_lora_adapter", data=body,
                                             method="POST", headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=600):  # its answer is plain text
                    pass
            except urllib.error.HTTPError as err:
                raise UserError(f"vllm-server refused the adapter {ckpt.path}: HTTP {err.code} "
                                f"{err.read()[:2000]!r}") from None
            except (urllib.error.URLError, OSError) as err:
                self.server.check_alive()
                raise UserError(f"vllm-server did not load the adapter {ckpt.path}: {err}") from None
            self._adapters[ckpt.path] = name
        return self._adapters[ckpt.path]

    def _client(self, ckpt: Checkpoint, served: str):
        from lm_eval.api.registry import get_model

        import harness.serve.client  # noqa: F401  (registers profit-local-completions)

        return get_model("profit-local-completions")(
            base_url=f"{self.server.base_url}/v1/completions", model=served,
            tokenizer=str(ckpt.tokenizer_path), tokenizer_backend="huggingface",
            num_concurrent=self.settings.num_concurrent, max_retries=2, timeout=3600, seed=self.seed,
            max_length=self.settings.max_model_len or 2048,
        )

    def guard(self):
        return self.server.guard()

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        self._adapters = {}
        super().close()


class HFBackend(Backend):
    """lm-eval's `hf` model (transformers generate): for machines without vLLM; one model load per checkpoint. An
    adapter runs unmerged through peft's PeftModel on its base."""

    name = "hf"

    def model_for(self, ckpt: Checkpoint):
        from lm_eval.models.huggingface import HFLM

        self.close()
        self.settings = self.settings_for(ckpt)
        t0 = time.perf_counter()
        batch = self.settings.batch_size
        batch = int(batch) if str(batch).isdigit() else 8
        if ckpt.is_adapter:
            self.lm = HFLM(pretrained=self._peft_model(ckpt), tokenizer=str(ckpt.tokenizer_path), batch_size=batch,
                           max_length=self.settings.max_model_len)
        else:
            self.lm = HFLM(pretrained=str(ckpt.path), dtype=self.settings.dtype, device=self.settings.device,
                           batch_size=batch, max_length=self.settings.max_model_len)
        self.last_start_s = time.perf_counter() - t0
        self.weights = ckpt.weights_path
        self.loaded = ckpt
        return self.lm

    def _peft_model(self, ckpt: Checkpoint):
        """The base model with the adapter on it, not merged (lm-eval's own `peft=` would resize the embeddings to
        the tokenizer's length, which a merged copy of the same model does not get)."""
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        dtype = self.settings.dtype if self.settings.dtype == "auto" else getattr(torch, self.settings.dtype)
        model = AutoModelForCausalLM.from_pretrained(str(ckpt.base.path), dtype=dtype, local_files_only=True)
        model = PeftModel.from_pretrained(model, str(ckpt.path), is_trainable=False)
        return model.to(self.settings.device).eval()


def make_backend(name: str, settings_for: Callable[[Checkpoint], EngineSettings], seed: int,
                 port: int | None = None) -> Backend:
    if name == "vllm":
        return VLLMBackend(settings_for, seed)
    if name == "vllm-server":
        return ServerBackend(settings_for, seed, port=port)
    if name == "hf":
        return HFBackend(settings_for, seed)
    raise UserError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
