"""Engine settings: the CPU build's safe defaults picked automatically, GPU parallelism passed through."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from profit_core.errors import UserError

MiB = 1 << 20
# The LoRA ranks vLLM's max_lora_rank accepts (vllm.config.lora.MaxLoRARanks).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def lora_rank_bound(rank: int) -> int:
    """The smallest max_lora_rank vLLM accepts that covers an adapter of `rank`."""
    for allowed in VLLM_LORA_RANKS:
        if rank <= allowed:
            return allowed
    raise UserError(f"a LoRA adapter of rank {rank}: vLLM serves ranks up to {VLLM_LORA_RANKS[-1]}; evaluate it "
                    "with --backend hf")


@dataclass
class EngineSettings:
    device: str = field(default="auto", metadata={"help": "cpu, cuda, or auto (cuda when torch sees a GPU)"})
    dtype: str = field(default="auto", metadata={"help": "weights/activations dtype; auto = the checkpoint's"})
    max_model_len: int | None = field(
        default=None,
        metadata={"help": "upper bound on prompt + generation tokens; the engine gets the least of it, the model's "
                          "max_position_embeddings and what the tasks need (longest generation + prompt_tokens)"},
    )
    prompt_tokens: int = field(
        default=2048, metadata={"help": "tokens kept for the prompt when the engine length and generation limits are "
                                        "derived (lm-eval cuts a longer prompt from the left)"}
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
    max_lora_rank: int | None = field(
        default=None, metadata={"help": "set for an engine group holding LoRA adapters (from their ranks): the engine "
                                        "starts with LoRA enabled, one adapter active at a time; None: LoRA off"}
    )
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

    def length_limit(self, model_limit: int | None) -> int | None:
        """The most tokens (prompt + generation) an engine for a model with `model_limit` positions may take."""
        bounds = [b for b in (self.max_model_len, model_limit) if b]
        return min(bounds) if bounds else None

    def generation_room(self, model_limit: int | None) -> int | None:
        """The most new tokens a task may ask of such a model: its length limit less the prompt's share (prompt_tokens,
        at most half the limit, so a small model with short prompts keeps room for answers)."""
        limit = self.length_limit(model_limit)
        return None if limit is None else limit - min(self.prompt_tokens, limit // 2)

    def resolved(self, longest_generation: int = 0, model_limit: int | None = None) -> EngineSettings:
        """Fill the defaults that depend on the device and on the engine group; incompatible options fail here,
        naming the field. max_model_len becomes what the group's tasks need (its longest generation plus
        prompt_tokens) within the models' positions (`model_limit`, max_position_embeddings) and the user's bound,
        on every device: vLLM refuses a length beyond the model's positions."""
        out = EngineSettings(**asdict(self))
        if out.prompt_tokens < 1:
            raise UserError(f"engine.prompt_tokens must be positive, got {out.prompt_tokens}")
        needed = longest_generation + out.prompt_tokens
        limit = self.length_limit(model_limit)
        out.max_model_len = min(needed, limit) if limit else needed
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
        if self.max_lora_rank:
            args.update(enable_lora=True, max_lora_rank=self.max_lora_rank, max_loras=1)
        return {**args, **self.extra}
