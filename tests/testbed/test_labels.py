import json
import random

import pytest

from testbed.data import DATA_DIR, labels_path, sft_name
from testbed.encode import UNSUPERVISED, encode
from testbed.problems import sample_problem
from testbed.render import CORE, NEUTRAL, TRIVIAL, Rendered, render
from testbed.tokenizer import train_tokenizer
from testbed.variants import VARIANTS
from testbed.wording import STYLES, sample_wording
from training.data.render import IGNORE_INDEX, ChatRenderer


@pytest.fixture(scope="module")
def corpus():
    """Every wording style in both layouts (wording first, equation first)."""
    rng = random.Random(3)
    out = []
    for _ in range(400):
        steps, style = rng.randint(1, 6), rng.choice(list(STYLES))
        out.append(render(sample_problem(rng, steps), sample_wording(rng, steps, style), rng.random() < 0.5))
    return out


@pytest.fixture(scope="module")
def renderer(corpus):
    return ChatRenderer.choose(train_tokenizer([r.question + "\n" + r.solution for r in corpus[:200]], 600))


def committed_sft_data(variant: str) -> list[Rendered]:
    """A variant's SFT data as committed: the rows' answers with the labels file beside them."""
    data = DATA_DIR / sft_name(variant)
    labels = [json.loads(line)["char_labels"] for line in open(labels_path(data))]
    rows = [json.loads(line)["messages"] for line in open(data)]
    assert len(rows) == len(labels) == 400
    return [Rendered(user["content"], answer["content"], chars, answer=0, steps=0)
            for (user, answer), chars in zip(rows, labels)]


def assert_exact_labels(renderer, refs):
    """Each supervised token carries one label: core tokens are digits and operators, trivial ones words (no
    digit), neutral ones separators and the end of the turn."""
    tok = renderer.tokenizer
    for r in refs:
        e = encode(renderer, r)
        assert len(e.token_labels) == len(e.input_ids)
        supervised = [i for i, lab in enumerate(e.labels) if lab != IGNORE_INDEX]
        assert [e.token_labels[i] for i in range(len(e.input_ids)) if i not in supervised] == \
            [UNSUPERVISED] * (len(e.input_ids) - len(supervised))
        pieces = [tok.decode([e.input_ids[i]]) for i in supervised]
        assert "".join(pieces) == r.solution + "<|im_end|>"  # exactly what profit train supervises
        for piece, label in zip(pieces, e.supervised_labels):
            text = piece.strip()
            if label == CORE:
                assert text and all(c.isdigit() or c in "+-=" for c in text), piece
            elif label == TRIVIAL:
                assert text and not any(c.isdigit() for c in text), piece
            else:
                assert label == NEUTRAL and text in ("", ".", ",", "<|im_end|>"), piece


def test_every_supervised_token_has_exactly_one_label(renderer, corpus):
    assert_exact_labels(renderer, corpus)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_token_of_each_variants_sft_data_has_exactly_one_label(renderer, variant):
    assert_exact_labels(renderer, committed_sft_data(variant))


def test_core_and_trivial_both_present(renderer, corpus):
    labels = encode(renderer, corpus[0]).supervised_labels
    assert CORE in labels and TRIVIAL in labels


def test_a_token_spanning_two_labels_is_refused(renderer):
    assert len(renderer.tokenizer(" apples", add_special_tokens=False)["input_ids"]) == 1
    bad = Rendered("How many?", "So apples", TRIVIAL * 2 + NEUTRAL + CORE + TRIVIAL * 5, answer=0, steps=0)
    with pytest.raises(ValueError, match="mixes labels"):
        encode(renderer, bad)


def test_labels_follow_the_rendering(corpus):
    r = corpus[0]
    assert len(r.char_labels) == len(r.solution)
    core = "".join(c for c, lab in zip(r.solution, r.char_labels) if lab == CORE)
    assert core.endswith(str(r.answer))
    assert core.count("=") == r.steps
