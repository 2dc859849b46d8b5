"""The design variants: each moves one factor away from the default, and only that one."""

import re
from dataclasses import replace
from itertools import islice

import pytest

from testbed import BaseConfig, base_folder, variant_base
from testbed.render import CORE, TRIVIAL
from testbed.splits import TestbedSpec, pretrain_stream, references, sft_examples, sft_problems
from testbed.variants import VARIANTS
from testbed.wording import NEW, SEEN


def spec(variant: str) -> TestbedSpec:
    return TestbedSpec(variant=variant)


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]+", text.lower()))


def trivial_words(r) -> set[str]:
    return words("".join(c if lab == TRIVIAL else " " for c, lab in zip(r.solution, r.char_labels)))


def test_unknown_variants_and_uneven_reference_counts_fail_at_construction():
    with pytest.raises(ValueError, match="unknown testbed variant 'core'"):
        TestbedSpec(variant="core")
    with pytest.raises(ValueError, match="multiple of the variant's 4 references"):
        TestbedSpec(variant="one-to-many", n_sft=402)


def test_one_to_many_has_k_distinct_wordings_of_the_default_problems():
    k = VARIANTS["one-to-many"].references
    examples = sft_examples(spec("one-to-many"), 0)
    problems = sft_problems(spec("one-to-many"), 0)
    assert len(examples) == len(problems) * k == TestbedSpec().n_sft
    assert problems == sft_problems(spec("default"), 0)[: len(problems)]  # the same draw, fewer problems
    for i, p in enumerate(problems):
        group = examples[i * k : (i + 1) * k]
        assert {r.question for r in group} == {examples[i * k].question} and {r.answer for r in group} == {p.answer}
        assert len({r.solution for r in group}) == k
    assert examples[0] == sft_examples(spec("default"), 0)[0]  # the first wording of each problem is the default's


def test_the_shift_variants_reword_the_default_problems_only():
    default = sft_examples(spec("default"), 0)
    for variant in ("shift-none", "shift-strong", "core-skill"):
        examples = sft_examples(spec(variant), 0)
        assert [r.question for r in examples] == [r.question for r in default], variant
        assert [r.solution for r in examples] != [r.solution for r in default], variant
        for r, d in zip(examples, default):  # the same equations and answer
            core = "".join(c for c, lab in zip(r.solution, r.char_labels) if lab == CORE)
            assert core == "".join(c for c, lab in zip(d.solution, d.char_labels) if lab == CORE)


def test_shift_strong_uses_words_absent_from_pretraining():
    seen = set()
    for batch in islice(pretrain_stream(spec("default"), seed=0, batch_size=50), 20):
        for r in batch:
            seen |= words(r.question) | words(r.solution)
    new = set().union(*(words(" ".join(pool)) for pool in vars(NEW).values()))
    assert not new & seen and not new & set().union(*(words(" ".join(pool)) for pool in vars(SEEN).values()))
    strong = set().union(*(trivial_words(r) for r in sft_examples(spec("shift-strong"), 0)))
    assert strong and strong <= new
    assert set().union(*(trivial_words(r) for r in sft_examples(spec("shift-none"), 0))) <= seen


def test_core_skill_writes_the_equation_first_in_pretraining_and_sft_data():
    pretraining = next(pretrain_stream(spec("core-skill"), seed=0, batch_size=8))
    for r in pretraining + sft_examples(spec("core-skill"), 0)[:20]:
        assert r.char_labels[0] == CORE and r.solution[0].isdigit()
    assert all(r.char_labels[0] == TRIVIAL for r in next(pretrain_stream(spec("default"), seed=0, batch_size=8)))


def test_the_decisive_token_after_step_3_is_core_only_in_core_skill(tiny_base):
    """The token after step 3 of a 4-5-step reference decides whether the solution goes on: by default the first
    word of the next opener (trivial), in core-skill the first digit of the next equation (core)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from testbed.analysis import continuation

    model, tokenizer = AutoModelForCausalLM.from_pretrained(tiny_base), AutoTokenizer.from_pretrained(tiny_base)
    for variant, label in (("default", "trivial"), ("core-skill", "core"), ("shift-strong", "trivial")):
        design = VARIANTS[variant]
        refs = references(spec(variant), "test")[:8]
        found = continuation(model, tokenizer, refs, design.equation_first)
        assert found["labels"] == {label: 8} and found["n"] == 8 and found["step"] == 3
        if variant != "shift-strong":  # its opener is a new word, outside the pretraining openers summed
            # p(continue) sums p over every token that opens a next step, the decisive token among them.
            assert 0 < found["p_token"] <= found["p_continue"] + 1e-6
    with pytest.raises(ValueError, match="more than 5 steps"):
        continuation(model, tokenizer, refs, False, step=5)


def test_a_variant_that_changes_pretraining_has_its_own_base_keyed_by_the_variant(monkeypatch, tmp_path):
    from harness.pipeline.builtins import BUILTINS

    monkeypatch.setenv("PROFIT_CACHE", str(tmp_path))
    own = variant_base("core-skill")
    assert own.spec == replace(TestbedSpec(), variant="core-skill") and own.digest() != BaseConfig().digest()
    assert BUILTINS["testbed-core-skill"].folder() == base_folder(own) != BUILTINS["testbed"].folder()
    for variant in ("default", "one-to-many", "shift-none", "shift-strong"):  # only the SFT data differ
        assert variant_base(variant) == BaseConfig()
    assert variant_base("core-skill", BaseConfig(steps=700)).steps == 700  # the other settings are kept
    assert not [name for name in BUILTINS if name.startswith("testbed-") and name != "testbed-core-skill"]
