"""The `config.json` essentials of the paper's five base models, for when a model folder is not on this machine.

The memory plan (training/memory.py) counts a model's parameters from these fields on the meta device, and tiny
stand-ins of the same architecture class can be built from them for rehearsals. Only shapes are held here: no
weights, no tokenizer. `lookup` matches a base by its folder name (`models/Qwen3-14B-Base`) or hub id
(`Qwen/Qwen3-14B-Base`), ignoring case.

Values are those of each model's `config.json` on the Hugging Face hub; the source of each is given beside it.
`head_dim` is written out even where the file leaves it to the default hidden_size / num_attention_heads.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

BASES: dict[str, dict[str, Any]] = {
    # Shapes: config.json of Qwen/Qwen3-0.6B, the same architecture (a copy at
    # huggingface.co/TensorStack/TextEncoder/blob/main/Qwen-3-06B/config.json); 596,049,920 parameters, as in
    # keras-hub's Qwen3 presets and the meta-device count. max_position_embeddings: the Base's 32K context
    # (together.ai/models/qwen3-0-6b-base; 32768 in configs derived from the Base, e.g.
    # huggingface.co/Wfiles/awq_quantized/blob/main/config.json), where the post-trained model says 40960.
    "Qwen/Qwen3-0.6B-Base": {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": 151936,
        "hidden_size": 1024,
        "intermediate_size": 3072,
        "num_hidden_layers": 28,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "tie_word_embeddings": True,
        "max_position_embeddings": 32768,
        "torch_dtype": "bfloat16",
    },
    # Shapes: config.json of Qwen/Qwen3-4B, the same architecture (github.com/citsjtu2020/LLM-Prof
    # sglang/Model_Config.md, "Qwen3-4B"). max_position_embeddings: the Qwen3-4B-Base model card (36 layers,
    # 32 Q / 8 KV heads, context 32,768; featherless.ai/models/dawndaa/Qwen3-4B-Base).
    "Qwen/Qwen3-4B-Base": {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": 151936,
        "hidden_size": 2560,
        "intermediate_size": 9728,
        "num_hidden_layers": 36,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "tie_word_embeddings": True,
        "max_position_embeddings": 32768,
        "torch_dtype": "bfloat16",
    },
    # Shapes: config.json of Qwen/Qwen3-14B, the same architecture (github.com/citsjtu2020/LLM-Prof
    # sglang/Model_Config.md, "Qwen3-14B"); 14.8B parameters, 13.2B without the embeddings (model card), which the
    # meta-device count reproduces (14,768,307,200). max_position_embeddings: 32,768, the Qwen3 Base models'
    # native context as for the 0.6B and 4B above (not read from the 14B-Base file itself; it changes no count).
    "Qwen/Qwen3-14B-Base": {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": 151936,
        "hidden_size": 5120,
        "intermediate_size": 17408,
        "num_hidden_layers": 40,
        "num_attention_heads": 40,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "tie_word_embeddings": False,
        "max_position_embeddings": 32768,
        "torch_dtype": "bfloat16",
    },
    # config.json of allenai/OLMo-2-1124-7B (huggingface.co/allenai/OLMo-2-1124-7B/blob/
    # stage2-ingredient3-step11931-tokens50B/config.json; the same values under _name_or_path allenai/OLMo-2-1124-7B
    # in huggingface.co/fbaldassarri/allenai_OLMo-2-1124-7B-autogptq-int4-gs128-sym). No head_dim in the file:
    # 4096 / 32. Its weights are float32, so its checkpoints stay float32.
    "allenai/OLMo-2-1124-7B": {
        "architectures": ["Olmo2ForCausalLM"],
        "model_type": "olmo2",
        "vocab_size": 100352,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "head_dim": 128,
        "tie_word_embeddings": False,
        "max_position_embeddings": 4096,
        "torch_dtype": "float32",
    },
    # config.json of meta-llama/Llama-3.1-8B (github.com/citsjtu2020/LLM-Prof sglang/Model_Config.md,
    # "Llama-3.1-8B"; the same values under _name_or_path meta-llama/Llama-3.1-8B in
    # huggingface.co/NbAiLab/nb-llama-3.1-8B). No head_dim in the file: 4096 / 32.
    "meta-llama/Llama-3.1-8B": {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": 128256,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "tie_word_embeddings": False,
        "max_position_embeddings": 131072,
        "torch_dtype": "bfloat16",
    },
}


def lookup(name_or_path: str) -> dict[str, Any] | None:
    """The config essentials of a known base (a copy), by folder name or hub id; None for any other model."""
    wanted = Path(name_or_path.rstrip("/")).name.lower()
    for hub_id, fields in BASES.items():
        if wanted == hub_id.split("/")[-1].lower():
            return copy.deepcopy(fields)
    return None
