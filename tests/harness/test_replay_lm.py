"""The replay model: stored text per task/doc/repeat or per prompt, clear errors otherwise."""

import json

import pytest
from lm_eval.api.instance import Instance

from harness.replay_lm import ReplayLM


def _requests(task, doc_id, prompt, repeats):
    inst = Instance("generate_until", doc={}, arguments=(prompt, {}), idx=0, metadata=(task, doc_id, repeats))
    return [inst] * repeats  # lm-eval sends a request once per repeat, in a row


def test_lookup_order_repeat_then_doc_then_prompt():
    lm = ReplayLM(
        [
            {"task": "t", "doc_id": 0, "repeat": 1, "text": "r1", "finish_reason": "length"},
            {"task": "t", "doc_id": 0, "text": "any"},
            {"prompt": "P", "text": "by prompt"},
        ]
    )
    out = lm.generate_until(_requests("t", 0, "P", 3) + _requests("t", 5, "P", 1))
    assert out == ["any", "r1", "any", "by prompt"]
    assert [o.finish_reason for o in out] == [None, "length", None, None]
    # repeat counting restarts with every call (a new evaluation)
    assert lm.generate_until(_requests("t", 0, "P", 2)) == ["any", "r1"]


def test_missing_text_fails_unless_a_default_is_given():
    with pytest.raises(KeyError, match="task=t doc_id=3 repeat=0"):
        ReplayLM([]).generate_until(_requests("t", 3, "Q", 1))
    assert ReplayLM([], default="").generate_until(_requests("t", 3, "Q", 1)) == [""]


def test_jsonl_file_and_bad_records(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"task": "t", "doc_id": 0, "text": "x"}) + "\n")
    assert ReplayLM(str(path)).generate_until(_requests("t", 0, "", 1)) == ["x"]
    with pytest.raises(FileNotFoundError):
        ReplayLM(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="no string 'text'"):
        ReplayLM([{"task": "t", "doc_id": 0}])
    with pytest.raises(ValueError, match="needs 'prompt' or 'task'"):
        ReplayLM([{"text": "x"}])
    with pytest.raises(NotImplementedError):
        ReplayLM([]).loglikelihood([])
