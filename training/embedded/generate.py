"""Batched greedy decoding with Hugging Face `generate`, and the prompts the testbed uses."""

from __future__ import annotations

import torch

from .encode import prompt_text


@torch.no_grad()
def greedy(model, tokenizer, questions: list[str], max_new_tokens: int = 96, batch_size: int = 128) -> list[str]:
    """The model's first assistant turn for each question (ChatML prompt, greedy, stops at <|im_end|>)."""
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        out = []
        model.eval()
        for start in range(0, len(questions), batch_size):
            texts = [prompt_text(tokenizer, q) for q in questions[start : start + batch_size]]
            batch = tokenizer(texts, add_special_tokens=False, return_tensors="pt", padding=True)
            gen = model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
            new = gen[:, batch["input_ids"].shape[1] :]
            out.extend(tokenizer.batch_decode(new, skip_special_tokens=True))
        return out
    finally:
        tokenizer.padding_side = side
