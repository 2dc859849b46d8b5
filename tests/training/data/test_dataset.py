"""Every supported file type and row format, malformed rows, truncation."""

import json

import pytest
from transformers import AutoTokenizer

from tests.fixtures.tiny import QWEN3_TOKENIZER
from tests.training.conftest import EXAMPLES
from training.data import BadRow, ChatRenderer, build_dataset, detect_format, to_messages
from training.data.render import IGNORE_INDEX


@pytest.fixture(scope="module")
def renderer():
    return ChatRenderer.choose(AutoTokenizer.from_pretrained(QWEN3_TOKENIZER), "chatml")


@pytest.mark.parametrize(
    ("name", "fmt", "rows"),
    [
        ("sharegpt.jsonl", "sharegpt", 12),
        ("openai.jsonl", "openai", 24),
        ("alpaca.json", "alpaca", 24),
        ("prompt_response.parquet", "prompt_response", 24),
        ("gsm8k.jsonl", "gsm8k", 24),
    ],
)
def test_examples_load_in_every_format(renderer, name, fmt, rows):
    dataset, stats = build_dataset(EXAMPLES / name, renderer, cutoff_len=512, show_progress=False)
    assert (stats.format, stats.rows, len(dataset), stats.skipped_rows, stats.truncated) == (fmt, rows, rows, 0, 0)
    first = dataset[0]
    assert len(first["input_ids"]) == len(first["labels"])
    assert any(t != IGNORE_INDEX for t in first["labels"]) and first["labels"][0] == IGNORE_INDEX


def test_gsm8k_drops_calculator_annotations_and_keeps_the_final_line():
    row = {"question": "Q?", "answer": "She has 2*3=<<2*3=6>>6 eggs.\n#### 6"}
    assert detect_format(row) == "gsm8k"
    assert to_messages(row, "gsm8k")[1]["content"] == "She has 2*3=6 eggs.\n#### 6"


def test_alpaca_joins_instruction_and_input_and_keeps_system():
    row = {"instruction": "Translate.", "input": "Bonjour", "output": "Hello", "system": "S"}
    assert to_messages(row, "alpaca") == [{"role": "system", "content": "S"},
                                          {"role": "user", "content": "Translate.\nBonjour"},
                                          {"role": "assistant", "content": "Hello"}]


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("{not json", "not valid JSON"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "no assistant turn"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "role system, user or assistant"),
        ({"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "a"}]}, "must be a string"),
        ({"messages": [{"role": "assistant", "content": "a"}]}, "must start with a user turn"),
    ],
)
def test_a_bad_row_names_file_line_and_reason(renderer, tmp_path, bad, reason):
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, GOOD, bad, GOOD])
    with pytest.raises(BadRow, match=rf"d\.jsonl:3: .*{reason}"):
        build_dataset(path, renderer, cutoff_len=64, data_format="openai", show_progress=False)


def test_bad_rows_are_skipped_and_counted_when_asked(renderer, tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, "{oops", GOOD, {"messages": []}])
    dataset, stats = build_dataset(path, renderer, cutoff_len=64, skip_bad_rows=True, show_progress=False)
    assert (stats.rows, stats.skipped_rows, len(stats.skipped_examples)) == (2, 2, 2)
    assert "d.jsonl:2" in stats.skipped_examples[0]


def test_undetectable_format_says_what_it_expected(renderer, tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "plain"}])
    with pytest.raises(BadRow, match="d.jsonl:1: cannot tell the data format.*Set data_format"):
        build_dataset(path, renderer, cutoff_len=64, show_progress=False)


def test_truncation_is_counted_and_unsupervised_leftovers_dropped(renderer, tmp_path):
    long_answer = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "word " * 50}]}
    long_prompt = {"messages": [{"role": "user", "content": "word " * 50}, {"role": "assistant", "content": "ok"}]}
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, long_answer, long_prompt])
    dataset, stats = build_dataset(path, renderer, cutoff_len=20, show_progress=False)
    assert (stats.rows, stats.truncated, stats.no_supervision) == (2, 2, 1)
    assert max(len(dataset[i]["input_ids"]) for i in range(len(dataset))) == 20
