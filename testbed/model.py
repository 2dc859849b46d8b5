"""The embedded base architecture: a small LlamaForCausalLM (vLLM's CPU backend serves this class)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ModelShape:
    hidden: int = field(default=96, metadata={"help": "hidden size (d_model)."})
    layers: int = field(default=3, metadata={"help": "decoder layers."})
    heads: int = field(default=3, metadata={"help": "attention heads (multi-head; head_dim = hidden / heads)."})
    ffn: int = field(default=384, metadata={"help": "MLP intermediate size."})
    max_positions: int = field(default=512, metadata={"help": "max_position_embeddings (vLLM's max_model_len cap)."})

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise ValueError(f"model shape: hidden ({self.hidden}) must be a multiple of heads ({self.heads})")
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"model shape: {name} must be a positive integer, got {value!r}")


def build_model(shape: ModelShape, tokenizer, seed: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden,
        intermediate_size=shape.ffn,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.heads,
        head_dim=shape.hidden // shape.heads,
        max_position_embeddings=shape.max_positions,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)
