"""The three ways to get an lm-eval model for a checkpoint. The vLLM ones keep one engine per architecture and swap
weights into it (`reload_weights` on every worker, then a prefix-cache reset), instead of restarting per checkpoint.

On the CPU build a plain reload leaves stale prepacked GEMM weights behind; see harness/serve/worker_ext.py.
Each backend's `model_for(checkpoint)` returns an lm-eval LM whose weights are that checkpoint's and reports in
`last_start_s` / `last_load_s` what that cost. An engine is built with `settings_for(checkpoint)`: the settings of
its engine group (its length limit follows the group's models and tasks). `close()` frees the engine; backends are
context managers.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable

from harness.evaluate.checkpoint import Checkpoint
from harness.evaluate.engine import EngineSettings
from harness.serve.worker_ext import WORKER_EXTENSION
from profit_core.errors import UserError

log = logging.getLogger(__name__)

BACKENDS = ("vllm", "vllm-server", "hf")


class Backend:
    name: str

    def __init__(self, settings_for: Callable[[Checkpoint], EngineSettings], seed: int):
        self.settings_for = settings_for
        self.settings: EngineSettings | None = None  # those of the engine running now
        self.seed = seed
        self.lm = None
        self.loaded: Checkpoint | None = None
        self.last_start_s = 0.0
        self.last_load_s = 0.0

    def model_for(self, ckpt: Checkpoint):
        raise NotImplementedError

    def guard(self):
        """Context manager around one lm-eval run (the server backend turns a dead server into an error)."""
        import contextlib

        return contextlib.nullcontext()

    def close(self) -> None:
        self.lm, self.loaded = None, None
        gc.collect()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class VLLMBackend(Backend):
    """lm-eval's `vllm` model in this process; one engine per engine group (architecture + tokenizer)."""

    name = "vllm"

    def model_for(self, ckpt: Checkpoint):
        self.last_start_s = self.last_load_s = 0.0
        reusable = (self.lm is not None and self.loaded.engine_group == ckpt.engine_group
                    and self.settings.data_parallel_size == 1)  # lm-eval rebuilds DP replicas per call anyway
        if not reusable:
            self.close()
            self.settings = self.settings_for(ckpt)
            t0 = time.perf_counter()
            self.lm = self._build(ckpt)
            self.last_start_s = time.perf_counter() - t0
        elif self.loaded.path != ckpt.path:
            t0 = time.perf_counter()
            self.lm.model.collective_rpc("profit_swap_weights", kwargs={"weights_path": str(ckpt.path)})
            self.lm.model.reset_prefix_cache()  # cached KV blocks were computed with the previous weights
            self.last_load_s = time.perf_counter() - t0
        if self.settings.data_parallel_size == 1:
            self.lm.model.collective_rpc("profit_reseed", kwargs={"seed": str(self.seed)})
        self.loaded = ckpt
        return self.lm

    def _build(self, ckpt: Checkpoint):
        if self.settings.device == "cpu":
            # In-process engine core: one process fewer, faster start, and no spawn re-import of the caller.
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from lm_eval.models.vllm_causallms import VLLM

        args = {**self.settings.vllm_args(), "worker_extension_cls": WORKER_EXTENSION}
        return VLLM(pretrained=str(ckpt.path), seed=self.seed, batch_size=self.settings.batch_size,
                    data_parallel_size=self.settings.data_parallel_size, **args)

    def close(self) -> None:
        if self.lm is not None and hasattr(self.lm, "model"):
            engine = getattr(self.lm.model, "llm_engine", None)
            core = getattr(engine, "engine_core", None)
            if core is not None and hasattr(core, "shutdown"):
                core.shutdown()
        super().close()


class ServerBackend(Backend):
    """`vllm serve` on a free loopback port + lm-eval's completions client; weights swapped over the dev endpoints."""

    name = "vllm-server"

    def __init__(self, settings_for: Callable[[Checkpoint], EngineSettings], seed: int, port: int | None = None):
        super().__init__(settings_for, seed)
        self.port = port
        self.server = None

    def model_for(self, ckpt: Checkpoint):
        from harness.serve.server import VLLMServer

        self.last_start_s = self.last_load_s = 0.0
        if self.server is None or self.loaded.engine_group != ckpt.engine_group:
            self.close()
            self.settings = self.settings_for(ckpt)
            env = {"VLLM_SERVER_DEV_MODE": "1"}  # /collective_rpc and /reset_prefix_cache, for the weight swap
            if self.settings.device == "cpu":
                env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
            args = {**self.settings.vllm_args(), "seed": self.seed, "worker_extension_cls": WORKER_EXTENSION}
            if self.settings.data_parallel_size > 1:
                args["data_parallel_size"] = self.settings.data_parallel_size
            self.server = VLLMServer(ckpt.path, args, port=self.port, env=env,
                                     health_timeout_s=self.settings.health_timeout_s)
            self.server.start()
            self.last_start_s = self.server.start_s
        elif self.loaded.path != ckpt.path:
            t0 = time.perf_counter()
            self.server.reload_weights(ckpt.path)
            self.last_load_s = time.perf_counter() - t0
        self.loaded = ckpt
        self.lm = self._client(ckpt)
        return self.lm

    def _client(self, ckpt: Checkpoint):
        from lm_eval.api.registry import get_model

        import harness.serve.client  # noqa: F401  (registers profit-local-completions)

        return get_model("profit-local-completions")(
            base_url=f"{self.server.base_url}/v1/completions", model=self.server.served_name,
            tokenizer=str(ckpt.path), tokenizer_backend="huggingface",
            num_concurrent=self.settings.num_concurrent, max_retries=2, timeout=3600, seed=self.seed,
            max_length=self.settings.max_model_len or 2048,
        )

    def guard(self):
        return self.server.guard()

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        super().close()


class HFBackend(Backend):
    """lm-eval's `hf` model (transformers generate): for machines without vLLM; one model load per checkpoint."""

    name = "hf"

    def model_for(self, ckpt: Checkpoint):
        from lm_eval.models.huggingface import HFLM

        self.close()
        self.settings = self.settings_for(ckpt)
        t0 = time.perf_counter()
        batch = self.settings.batch_size
        self.lm = HFLM(pretrained=str(ckpt.path), dtype=self.settings.dtype, device=self.settings.device,
                       batch_size=int(batch) if str(batch).isdigit() else 8,
                       max_length=self.settings.max_model_len)
        self.last_start_s = time.perf_counter() - t0
        self.loaded = ckpt
        return self.lm


def make_backend(name: str, settings_for: Callable[[Checkpoint], EngineSettings], seed: int,
                 port: int | None = None) -> Backend:
    if name == "vllm":
        return VLLMBackend(settings_for, seed)
    if name == "vllm-server":
        return ServerBackend(settings_for, seed, port=port)
    if name == "hf":
        return HFBackend(settings_for, seed)
    raise UserError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
