"""Label masks on the real Qwen3 chat template (multi-turn, <think>) and on the ChatML fallback."""

import pytest
from transformers import AutoTokenizer

from tests.fixtures.tiny import QWEN3_TOKENIZER
from training.data import ChatRenderer
from training.data.formats import BadRow
from training.data.render import CHATML_TEMPLATE, IGNORE_INDEX


@pytest.fixture(scope="module")
def qwen3():
    return AutoTokenizer.from_pretrained(QWEN3_TOKENIZER)


def supervised_pieces(tokenizer, ids, labels):
    """The decoded runs of consecutive supervised tokens."""
    pieces, run = [], []
    for token, label in zip(ids, labels):
        if label != IGNORE_INDEX:
            assert label == token
            run.append(token)
        elif run:
            pieces.append(tokenizer.decode(run))
            run = []
    if run:
        pieces.append(tokenizer.decode(run))
    return pieces


CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello there!"},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "It is 4."},
]


def test_qwen3_multi_turn_supervises_every_assistant_turn_and_nothing_else(qwen3):
    renderer = ChatRenderer.choose(qwen3)
    assert renderer.template_name == "tokenizer"
    ids, labels = renderer.encode(CONVERSATION)
    assert ids == qwen3(renderer.text(CONVERSATION), add_special_tokens=False)["input_ids"]
    # Qwen3 writes an empty think block into the last assistant turn only; it is part of the answer.
    assert supervised_pieces(qwen3, ids, labels) == [
        "Hello there!<|im_end|>",
        "<think>\n\n</think>\n\nIt is 4.<|im_end|>",
    ]


def test_qwen3_reasoning_in_the_answer_is_supervised(qwen3):
    renderer = ChatRenderer.choose(qwen3)
    messages = [{"role": "user", "content": "2+3?"},
                {"role": "assistant", "content": "<think>\n2 plus 3 is 5.\n</think>\n\nThe answer is 5."}]
    ids, labels = renderer.encode(messages)
    assert supervised_pieces(qwen3, ids, labels) == ["<think>\n2 plus 3 is 5.\n</think>\n\nThe answer is 5.<|im_end|>"]


def test_three_turns_with_the_chatml_fallback(qwen3):
    renderer = ChatRenderer.choose(qwen3, "chatml")
    assert renderer.template == CHATML_TEMPLATE
    messages = CONVERSATION + [{"role": "user", "content": "And 3+3?"}, {"role": "assistant", "content": "6"}]
    ids, labels = renderer.encode(messages)
    assert supervised_pieces(qwen3, ids, labels) == ["Hello there!<|im_end|>", "It is 4.<|im_end|>", "6<|im_end|>"]


def test_a_tokenizer_without_template_falls_back_to_chatml(qwen3):
    bare = AutoTokenizer.from_pretrained(QWEN3_TOKENIZER)
    bare.chat_template = None
    renderer = ChatRenderer.choose(bare)
    assert renderer.template_name == "chatml"
    ids, labels = renderer.encode(CONVERSATION[1:3])
    assert supervised_pieces(bare, ids, labels) == ["Hello there!<|im_end|>"]


def test_a_template_that_drops_the_answer_is_reported(qwen3, tmp_path):
    path = tmp_path / "broken.jinja"
    path.write_text("{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] }}{% endif %}{% endfor %}")
    renderer = ChatRenderer.choose(qwen3, str(path))
    with pytest.raises(BadRow, match="cannot find assistant turn"):
        renderer.encode(CONVERSATION[1:3])
