import random

import pytest

from training.embedded.encode import encode, prompt_text, token_labels
from training.embedded.problems import sample_problem
from training.embedded.render import CORE, NEUTRAL, TRIVIAL, render
from training.embedded.tokenizer import train_tokenizer
from training.embedded.wording import STYLES, sample_wording


@pytest.fixture(scope="module")
def corpus():
    rng = random.Random(3)
    out = []
    for _ in range(400):
        steps, style = rng.randint(1, 6), rng.choice(STYLES)
        out.append(render(sample_problem(rng, steps), sample_wording(rng, steps, style)))
    return out


@pytest.fixture(scope="module")
def tokenizer(corpus):
    return train_tokenizer([r.question + "\n" + r.solution for r in corpus[:200]], 600)


def test_every_token_has_exactly_one_label(tokenizer, corpus):
    for r in corpus:
        ids, labels = token_labels(tokenizer, r.solution, r.char_labels)
        assert len(ids) == len(labels)
        pieces = [tokenizer.decode([i]) for i in ids]
        assert "".join(pieces) == r.solution
        for piece, label in zip(pieces, labels):
            text = piece.strip()
            if label == CORE:
                assert text and all(c.isdigit() or c in "+-=" for c in text), piece
            elif label == TRIVIAL:
                assert text and not any(c.isdigit() for c in text), piece
            else:
                assert label == NEUTRAL and text in ("", "."), piece


def test_core_and_trivial_both_present(tokenizer, corpus):
    _, labels = token_labels(tokenizer, corpus[0].solution, corpus[0].char_labels)
    assert CORE in labels and TRIVIAL in labels


def test_a_token_spanning_two_labels_is_refused(tokenizer):
    assert len(tokenizer(" apples", add_special_tokens=False)["input_ids"]) == 1
    with pytest.raises(ValueError, match="mixes labels"):
        token_labels(tokenizer, " apples", NEUTRAL + CORE + TRIVIAL * 5)


def test_prompt_and_solution_tokenize_as_the_whole_chat(tokenizer, corpus):
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    for r in corpus[:50]:
        e = encode(tokenizer, r)
        full = prompt_text(tokenizer, r.question) + r.solution + "<|im_end|>"
        assert e.input_ids == tokenizer(full, add_special_tokens=False)["input_ids"]
        assert len(e.token_labels) == len(e.input_ids) - e.prompt_len


def test_labels_follow_the_rendering(corpus):
    r = corpus[0]
    assert len(r.char_labels) == len(r.solution)
    core = "".join(c for c, lab in zip(r.solution, r.char_labels) if lab == CORE)
    assert core.endswith(str(r.answer))
    assert core.count("=") == r.steps
