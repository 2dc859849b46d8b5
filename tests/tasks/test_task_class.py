"""ProfitTask: avg@k over repeats, the `truncated` metric, <think> stripping, and its guard rails."""

import pytest

from tests.fixtures.tiny import tiny_tokenizer


def test_repeats_are_averaged_and_finish_reason_gives_truncated(run_task):
    outputs = {
        0: [
            {"text": "The answer is 18", "finish_reason": "stop"},
            {"text": "The answer is 17", "finish_reason": "length"},
            {"text": "The answer is 18", "finish_reason": "stop"},
        ]
    }
    results, samples = run_task("profit_gsm8k", outputs)
    assert samples[0]["acc"] == pytest.approx(2 / 3)
    assert samples[0]["truncated"] == pytest.approx(1 / 3)
    assert results["truncated,none"] == pytest.approx(1 / 3)


def test_truncated_is_absent_when_unknown(run_task, monkeypatch):
    monkeypatch.delenv("PROFIT_TOKENIZER", raising=False)
    results, samples = run_task("profit_gsm8k", {0: "The answer is 18"})
    assert "truncated" not in samples[0] and "truncated,none" not in results


def test_truncated_from_the_tokenizer_follows_the_live_limit(run_task, monkeypatch, tmp_path):
    tok = tiny_tokenizer(["the answer is 18 because nine times two"] * 50, vocab_size=300)
    tok.save_pretrained(tmp_path / "tok")
    monkeypatch.setenv("PROFIT_TOKENIZER", str(tmp_path / "tok"))
    long = "the answer is 18 because nine times two " * 20
    assert len(tok(long, add_special_tokens=False)["input_ids"]) > 16
    _, samples = run_task("profit_gsm8k", {0: [long, "18"]}, generation_kwargs={"max_gen_toks": 16})
    assert samples[0]["truncated"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "strip, text, acc",
    [
        ("1", "<think>maybe 17</think>The answer is 18", 1.0),
        ("1", "<think>so it is 18</think>", 0.0),  # nothing after the reasoning block
        ("1", "<think>18 and still thinking", 0.0),  # unclosed block: nothing to score
        ("0", "<think>so it is 18</think>", 1.0),
    ],
)
def test_strip_think(run_task, monkeypatch, strip, text, acc):
    monkeypatch.setenv("PROFIT_STRIP_THINK", strip)
    _, samples = run_task("profit_gsm8k", {0: text})
    assert samples[0]["acc"] == acc


def test_unknown_scorer_is_refused():
    from _profit_common.task import _scorer_name

    with pytest.raises(ValueError, match="must be one of the scorers"):
        _scorer_name(lambda doc, response: {})


def test_average_repeats_pools_lists():
    from _profit_common.task import average_repeats

    out = average_repeats([{"a": True, "b": [True]}, {"a": False, "b": [False]}])
    assert out == {"a": 0.5, "b": [True, False]}
