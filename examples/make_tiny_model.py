"""Build a tiny random Qwen3-shaped model folder for trying `profit train` on CPU in seconds.

    python examples/make_tiny_model.py models/tiny-qwen3

The tokenizer is a 512-token byte-level BPE trained on the example data here, with ChatML special tokens and chat
template; the model is a 2-layer Qwen3ForCausalLM (hidden 64), which transformers and vLLM both load.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.tiny import tiny_qwen3, tiny_tokenizer  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent


def example_texts() -> list[str]:
    texts = []
    for path in EXAMPLES.glob("*.jsonl"):
        texts += [line for line in path.read_text().splitlines() if line.strip()]
    texts += [json.dumps(row) for row in json.loads((EXAMPLES / "alpaca.json").read_text())]
    return texts


def build(out: str | Path, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    out = Path(out)
    tokenizer = tiny_tokenizer(example_texts())
    model = tiny_qwen3(len(tokenizer), hidden=hidden, layers=layers, seed=seed,
                       eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
                       pad_token_id=tokenizer.pad_token_id)
    model.generation_config.eos_token_id = model.config.eos_token_id
    model.generation_config.pad_token_id = model.config.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else "models/tiny-qwen3"))
