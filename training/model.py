"""Load the tokenizer and the causal LM from a local folder (a hub id resolved to one first: profit_core/hub.py),
and wrap it with LoRA adapters when asked."""

from __future__ import annotations

import torch

from .config import ConfigError, TrainConfig

# The dtype the weights load in, which is the dtype they train in. bf16 and fp16 are mixed precision: the
# parameters are the fp32 master weights (and AdamW's states are fp32 like them), and Trainer(bf16=True) runs the
# forward under autocast, so matmuls read 16-bit copies. Where the masters live: under DDP a whole fp32 copy on
# every rank; under FSDP2 sharded over the ranks (accelerate's MixedPrecisionPolicy gathers them in 16 bits);
# under ZeRO-3 in DeepSpeed's sharded fp32 partition beside its 16-bit one. bf16-pure loads bf16 and keeps no fp32
# copy at all (weights, gradients and AdamW state in bf16). Checkpoints are saved in the base's dtype either way
# (checkpoint.py); training/memory.py counts the bytes of each.
DTYPES = {"fp32": torch.float32, "bf16": torch.float32, "fp16": torch.float32, "bf16-pure": torch.bfloat16}


def load_tokenizer(cfg: TrainConfig):
    from transformers import AutoTokenizer

    cfg.resolve_model()  # a no-op once check_runnable ran
    try:
        tokenizer = AutoTokenizer.from_pretrained(cfg.model)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"config field `model`: the tokenizer in {cfg.model} does not load ({err})") from err
    if tokenizer.pad_token_id is None:
        # Only the padded collator ever writes pad ids, and their labels are masked, so any id serves.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(cfg: TrainConfig):
    from transformers import AutoModelForCausalLM

    cfg.resolve_model()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            cfg.model, dtype=DTYPES[cfg.precision], attn_implementation=cfg.attn_implementation
        )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise ConfigError(f"config field `model`: the model in {cfg.model} does not load ({err})") from err
    model.config.use_cache = False
    if cfg.finetuning == "lora":
        model = with_lora(model, cfg)
    return model


def with_lora(model, cfg: TrainConfig):
    from peft import LoraConfig, get_peft_model

    target = cfg.lora_target if cfg.lora_target == "all-linear" else [t.strip() for t in cfg.lora_target.split(",")]
    lora = LoraConfig(
        r=cfg.lora_rank,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=target,
        task_type="CAUSAL_LM",
    )
    if cfg.gradient_checkpointing:
        model.enable_input_require_grads()  # checkpointed blocks need an input that requires grad
    return get_peft_model(model, lora)


def base_of(model):
    """The transformers model inside peft / DDP wrappers."""
    while hasattr(model, "module"):
        model = model.module
    return model.get_base_model() if hasattr(model, "get_base_model") else model
