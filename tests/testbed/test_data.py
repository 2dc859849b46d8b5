import json
from dataclasses import replace

from testbed.data import DATA_DIR, data_files, sft_name
from testbed.splits import SPLITS, TestbedSpec, held_out, problem_id, sft_examples, sft_problems
from testbed.variants import VARIANTS


def test_committed_data_is_what_the_generator_writes():
    files = data_files()
    assert {f"{split}.jsonl" for split in SPLITS} | {sft_name(v) for v in VARIANTS} <= set(files)
    for name, text in files.items():
        assert (DATA_DIR / name).read_text(encoding="utf-8") == text, f"{name} is stale: run `profit testbed data`"


def test_held_out_splits_are_disjoint_and_never_in_any_sft_data():
    spec = TestbedSpec()
    splits = held_out(spec)
    assert {name: len(problems) for name, problems in splits.items()} == {"test": 300, "retention": 200, "dev": 200}
    ids = {name: {problem_id(p) for p in problems} for name, problems in splits.items()}
    assert len(set.union(*ids.values())) == sum(len(problems) for problems in splits.values())  # pairwise disjoint
    assert {len(p.ops) for p in splits["dev"]} == set(spec.task_steps)
    held_questions = {json.loads(line)["question"] for split in SPLITS for line in open(DATA_DIR / f"{split}.jsonl")}
    for variant in VARIANTS:
        sft_questions = {json.loads(line)["messages"][0]["content"] for line in open(DATA_DIR / sft_name(variant))}
        assert not held_questions & sft_questions, variant
        assert not set.union(*ids.values()) & {problem_id(p) for p in sft_problems(replace(spec, variant=variant), 0)}


def test_rows_carry_consistent_labels_and_answers():
    for split in SPLITS:
        for line in open(DATA_DIR / f"{split}.jsonl"):
            row = json.loads(line)
            assert len(row["char_labels"]) == len(row["solution"])
            assert row["solution"].rstrip(".").split()[-1] == str(row["answer"])
    spec = TestbedSpec()
    for split in ("test", "dev"):
        steps = {json.loads(line)["steps"] for line in open(DATA_DIR / f"{split}.jsonl")}
        assert steps == set(spec.task_steps)


def test_sft_data_depends_on_the_seed_only():
    spec = TestbedSpec(n_sft=20)
    assert sft_examples(spec, 0) == sft_examples(spec, 0)
    assert sft_examples(spec, 0) != sft_examples(spec, 1)


def test_the_training_recipe_supervises_exactly_the_labelled_tokens(tiny_base):
    """`profit train` renders sft_train.jsonl with the tokenizer's chat template: its supervised tokens must be
    the solution + <|im_end|> tokens that carry the ground-truth labels, in the data file's rows."""
    from transformers import AutoTokenizer

    from testbed.encode import encode
    from training.data import build_dataset
    from training.data.render import ChatRenderer

    renderer = ChatRenderer.choose(AutoTokenizer.from_pretrained(tiny_base))
    dataset, _ = build_dataset(DATA_DIR / "sft_train.jsonl", renderer, cutoff_len=256, show_progress=False)
    for item, example in zip([dataset[i] for i in range(50)], sft_examples(TestbedSpec(), 0)):
        ours = encode(renderer, example)
        assert (item["input_ids"], item["labels"]) == (ours.input_ids, ours.labels)
        assert len(ours.supervised_labels) == sum(1 for x in item["labels"] if x != -100)
