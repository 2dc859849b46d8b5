"""Sampling presets: `paper` reproduces the authors' decoding (arXiv 2601.09195 §5.1), `greedy` is the cheap check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from profit_core.errors import UserError


@dataclass(frozen=True)
class SamplingPreset:
    name: str = field(metadata={"help": "preset name, recorded with every result"})
    temperature: float = field(metadata={"help": "0 = greedy decoding"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass"})
    top_k: int | None = field(default=None, metadata={"help": "sample among the k most likely tokens (None: all)"})
    repeats: int | None = field(
        default=None, metadata={"help": "samples per problem, averaged (avg@k); None: the task's paper value"}
    )


PRESETS = {
    # Qwen3/OLMo-2 setting of the paper; repeats come per task from tasks.registry (8, AIME'24 32).
    "paper": SamplingPreset("paper", temperature=0.7, top_p=0.8, top_k=20),
    # The paper's Llama-3.1-8B setting (paper_spec §5.1): temperature 0.6, top-p 0.9, no top-k.
    "paper-llama": SamplingPreset("paper-llama", temperature=0.6, top_p=0.9),
    "greedy": SamplingPreset("greedy", temperature=0.0, repeats=1),
}


def resolve(preset: str, *, task_repeats: int, task_max_gen_toks: int, max_gen_toks: int | None = None,
            repeats: int | None = None, apply_chat_template: bool = True) -> dict:
    """The full decoding description of one (preset, task): stored in the record and part of its key."""
    if preset not in PRESETS:
        raise UserError(f"sampling: unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
    p = PRESETS[preset]
    out = asdict(p)
    out["preset"] = out.pop("name")
    out["repeats"] = int(repeats or p.repeats or task_repeats)
    out["max_gen_toks"] = int(max_gen_toks or task_max_gen_toks)
    out["apply_chat_template"] = bool(apply_chat_template)
    if out["repeats"] < 1 or out["max_gen_toks"] < 1:
        raise UserError(f"sampling: repeats and max_gen_toks must be positive, got {out['repeats']}, "
                         f"{out['max_gen_toks']}")
    return out


def generation_kwargs(sampling: dict) -> dict:
    """What lm-eval merges into the task's generation_kwargs (its `until` stays)."""
    kwargs = {"max_gen_toks": sampling["max_gen_toks"], "temperature": sampling["temperature"]}
    if sampling["temperature"] > 0:
        kwargs.update(do_sample=True, top_p=sampling["top_p"])
        if sampling["top_k"]:
            kwargs["top_k"] = sampling["top_k"]
    else:
        kwargs["do_sample"] = False
    return kwargs
