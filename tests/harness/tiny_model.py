"""A tiny Qwen3 checkpoint overfit for a few seconds on the fixture task, so every backend can be asserted at 100%."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.fixtures.tiny import tiny_qwen3, tiny_tokenizer

FIXTURE_TASKS = Path(__file__).resolve().parent / "fixtures"
ROWS = [json.loads(line) for line in (FIXTURE_TASKS / "tiny_arith" / "test.jsonl").read_text().splitlines()]


def prompt(row: dict) -> str:
    return f"What is {row['a']} plus {row['b']}?"


def build_checkpoint(out: Path, steps: int = 300, seed: int = 0, hidden: int = 256, layers: int = 1) -> Path:
    """Train on the chat-templated prompts lm-eval sends (`apply_chat_template=True`) until each answer is exact.
    hidden 256 gives head_dim 64: vLLM's CPU attention has no kernel for the default 16."""
    out.mkdir(parents=True, exist_ok=True)
    chats = [[{"role": "user", "content": prompt(r)}] for r in ROWS]
    tokenizer = tiny_tokenizer([prompt(r) + " " + r["answer"] for r in ROWS] * 4, vocab_size=300)
    texts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in chats]
    model = tiny_qwen3(len(tokenizer), hidden=hidden, layers=layers, seed=seed,
                       eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    if steps:
        _overfit(model, tokenizer, texts, [r["answer"] for r in ROWS], steps)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _overfit(model, tokenizer, prompts: list[str], answers: list[str], steps: int) -> None:
    ids, labels = [], []
    for p, a in zip(prompts, answers):
        p_ids = tokenizer(p, add_special_tokens=False)["input_ids"]
        a_ids = tokenizer(a + "\n", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids.append(p_ids + a_ids)
        labels.append([-100] * len(p_ids) + a_ids)
    width = max(map(len, ids))
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids])
    target = torch.tensor([y + [-100] * (width - len(y)) for y in labels])
    mask = (torch.arange(width)[None, :] < torch.tensor([len(x) for x in ids])[:, None]).long()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on a shared 2-core machine extra threads make each step ~20x slower, not faster
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, attention_mask=mask, labels=target).loss
        if loss.item() < 0.01:  # every answer token is then the argmax by a wide margin
            break
        loss.backward()
        opt.step()
        opt.zero_grad()
    torch.set_num_threads(threads)
    model.eval()
