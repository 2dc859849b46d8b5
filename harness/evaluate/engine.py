"""Engine settings: the CPU build's safe defaults picked automatically, GPU parallelism passed through."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from profit_core.errors import UserError

MiB = 1 << 20


@dataclass
class EngineSettings:
    device: str = field(default="auto", metadata={"help": "cpu, cuda, or auto (cuda when torch sees a GPU)"})
    dtype: str = field(default="auto", metadata={"help": "weights/activations dtype; auto = the checkpoint's"})
    max_model_len: int | None = field(
        default=None, metadata={"help": "prompt + generation bound; CPU default max(4096, longest generation + 1024)"}
    )
    kv_cache_memory_bytes: int | None = field(
        default=None, metadata={"help": "KV cache size; CPU default 512 MiB (uncapped vLLM takes ~21 GiB there)"}
    )
    enforce_eager: bool | None = field(
        default=None, metadata={"help": "skip torch.compile/graphs; CPU default True (saves 30-40 s per start)"}
    )
    tensor_parallel_size: int = field(default=1, metadata={"help": "GPUs per model replica (vLLM, GPU only)"})
    data_parallel_size: int = field(default=1, metadata={"help": "model replicas (vLLM, GPU only)"})
    gpu_memory_utilization: float | None = field(
        default=None, metadata={"help": "share of each GPU's memory vLLM may use (GPU only; vLLM default 0.9)"}
    )
    batch_size: str = field(default="auto", metadata={"help": "lm-eval batch size (hf: an int or auto)"})
    num_concurrent: int = field(
        default=8, metadata={"help": "parallel HTTP requests to vllm-server (the engine batches them)"}
    )
    health_timeout_s: float = field(default=300.0, metadata={"help": "how long vllm-server may take to get healthy"})
    extra: dict = field(default_factory=dict, metadata={"help": "further vLLM engine arguments, passed unchanged"})

    @classmethod
    def from_kwargs(cls, kwargs: dict | None) -> EngineSettings:
        """Known fields set fields; anything else goes to vLLM unchanged (`extra`)."""
        known = {f.name for f in fields(cls)}
        kwargs = dict(kwargs or {})
        extra = {k: kwargs.pop(k) for k in list(kwargs) if k not in known}
        settings = cls(**kwargs)
        settings.extra = {**settings.extra, **extra}
        return settings

    def resolved(self, longest_generation: int = 0, model_limit: int | None = None) -> EngineSettings:
        """Fill the device-dependent defaults; incompatible options fail here, naming the field. On CPU the default
        max_model_len leaves room for `longest_generation` new tokens plus a 1,024-token prompt, within
        `model_limit` (the models' max_position_embeddings)."""
        out = EngineSettings(**asdict(self))
        if out.device == "auto":
            import torch

            out.device = "cuda" if torch.cuda.is_available() else "cpu"
        if out.device not in ("cpu", "cuda"):
            raise UserError(f"engine.device must be cpu, cuda or auto, got {out.device!r}")
        if out.device == "cpu":
            for name in ("tensor_parallel_size", "data_parallel_size"):
                if getattr(out, name) != 1:
                    raise UserError(f"engine.{name}={getattr(out, name)} needs GPUs; this run is on CPU")
            if out.gpu_memory_utilization is not None:
                raise UserError("engine.gpu_memory_utilization applies to GPUs; on CPU set kv_cache_memory_bytes")
            wanted = max(4096, longest_generation + 1024)
            out.max_model_len = out.max_model_len or (min(wanted, model_limit) if model_limit else wanted)
            out.kv_cache_memory_bytes = out.kv_cache_memory_bytes or 512 * MiB
            out.enforce_eager = True if out.enforce_eager is None else out.enforce_eager
        return out

    def vllm_args(self) -> dict:
        """Engine arguments shared by the in-process engine and `vllm serve` (resolved settings only)."""
        args = {"dtype": self.dtype, "tensor_parallel_size": self.tensor_parallel_size}
        for name in ("max_model_len", "kv_cache_memory_bytes", "gpu_memory_utilization"):
            if getattr(self, name) is not None:
                args[name] = getattr(self, name)
        if self.enforce_eager:
            args["enforce_eager"] = True
        return {**args, **self.extra}
