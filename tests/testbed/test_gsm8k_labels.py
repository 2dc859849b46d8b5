"""The rule labels of GSM8K solutions (testbed/gsm8k_labels.py), on the notation's hard cases."""

from pathlib import Path

import pytest

from testbed.gsm8k_labels import label_solution, labelled, labels_text, main, references

ROOT = Path(__file__).resolve().parents[2]
SUBSET = ROOT / "data" / "gsm8k" / "train_subset.jsonl"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("She pays $3.50 for 2 pens.", {"$3.50": "CCCCC", "2": "C", "pays": "TTTT", "pens": "TTTT"}),
        ("That is 1,000 apples at 3:30 and .75 each", {"1,000": "CCCCC", "3:30": "CCCC", ".75": "CCC"}),
        ("10 - 4 = 6 left, a well-known trick", {"-": "C", "=": "C", "well-known": "TTTTTTTTTT"}),
        ("He drives 60 miles/hour, 3/4 of the way", {"miles/hour": "TTTTTTTTTT", "3/4": "CCC"}),
        ("Buy 2 x 4 boards and x more", {"2 x 4": "C-C-C", "boards": "TTTTTT"}),
        ("So (3+4)*2 = 14 (in total)", {"(3+4)*2": "CCCCCCC", "(in": "-TT", "total)": "TTTTT-"}),
        ("Weng's T-shirt costs 5%", {"Weng's": "TTTTTT", "T-shirt": "TTTTTTT", "5%": "CC"}),
        ("Half of 48 is 48/2 = <<48/2=24>>24", {"Half": "TTTT", "<<48/2=24>>24": "C" * 13}),
    ],
)
def test_rules_on_hard_cases(text, expected):
    labels = label_solution(text)
    assert len(labels) == len(text)
    for fragment, want in expected.items():
        start = text.index(fragment)
        assert labels[start : start + len(fragment)] == want, fragment


def test_the_answer_line_is_core_and_its_spaces_neutral():
    text = "Total: 5+6=11\n#### 11"
    labels = label_solution(text)
    assert labels[-7:] == "CCCC-CC"
    assert labels[:6] == "TTTTT-"  # "Total:" is wording, its colon punctuation


def test_a_row_is_labelled_as_profit_train_renders_it():
    row = {"question": "How many?", "answer": "3*4 = <<3*4=12>>12 eggs\n#### 12"}
    ref = labelled(row)
    assert ref.solution == "3*4 = 12 eggs\n#### 12"  # the gsm8k format drops the calculator annotation
    assert ref.char_labels == label_solution(ref.solution)
    assert ref.char_labels.count("T") == len("eggs")


def test_a_row_with_more_than_one_exchange_is_refused():
    from training.data.formats import BadRow

    row = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "1"},
                        {"role": "user", "content": "b"}, {"role": "assistant", "content": "2"}]}
    with pytest.raises(BadRow, match="one user turn and one assistant turn"):
        labelled(row)


def test_the_committed_labels_file_is_current(capsys):
    assert main([str(SUBSET), "--check"]) == 0
    first = labels_text(SUBSET).splitlines()[0]
    assert '"labeller": "gsm8k-rules-1"' in first


def test_held_out_references_are_the_gsm8k_test_split():
    refs = references(3)
    assert len(refs) == 3 and all(len(r.char_labels) == len(r.solution) for r in refs)
    assert all("<<" not in r.solution for r in refs)
    with pytest.raises(ValueError, match="n must be in"):
        references(0)
