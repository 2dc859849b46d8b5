"""An empty, missing, corrupt or partial store gives a clear message, never a traceback."""

import json

import pytest

from harness.report.api import build_report
from harness.report.cli import main
from harness.report.store import StoreError
from tests.harness.report.storefactory import ones, record, run


def test_empty_store_exits_2_with_a_message(tmp_path, capsys):
    (tmp_path / "store" / "records").mkdir(parents=True)
    assert main(["--store", str(tmp_path / "store"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "holds no usable record (0 record file(s)); run `profit eval` first" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_missing_store_exits_2_with_a_message(tmp_path, capsys):
    assert main(["--store", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "no results store at" in capsys.readouterr().err


def test_only_bad_records_exits_2_naming_the_reason_and_sets_them_aside(tmp_path, capsys):
    records = tmp_path / "store" / "records"
    records.mkdir(parents=True)
    (records / "bad.json").write_text("{truncated", encoding="utf-8")
    assert main(["--store", str(tmp_path / "store"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "records/bad.json: unreadable JSON" in err and "set aside in quarantine/bad.json." in err
    (kept,) = (tmp_path / "store" / "quarantine").glob("bad.json.*[0-9]")
    assert kept.read_text(encoding="utf-8") == "{truncated" and not (records / "bad.json").exists()


def test_partial_store_reports_what_it_can_and_says_what_it_skipped(tmp_path, capsys):
    store = tmp_path / "store"
    record(store, task="profit_gsm8k", scores=ones(3, 5), run=run("b", "sft", 1))
    good = record(store, task="profit_gsm8k", scores=ones(4, 5), run=run("b", "profit", 1))
    record(store, task="profit_math500", scores=ones(2, 5), run=run("b", "profit", 1))
    records = store / "records"
    (records / "corrupt.json").write_text("[1, 2", encoding="utf-8")
    (records / "old.json").write_text(json.dumps({**good, "schema": 99}), encoding="utf-8")
    (records / "nometric.json").write_text(json.dumps({**good, "metrics": {}}), encoding="utf-8")
    badrun = {**good["model"], "run": {**good["model"]["run"], "objective": {"objective": "profit", "tau": "high"}}}
    (records / "badrun.json").write_text(json.dumps({**good, "model": badrun}), encoding="utf-8")
    (records / ".tmp-being-written.json").write_text("{", encoding="utf-8")  # another writer's temporary file
    broken = {**good, "per_doc": {"doc_ids": [1, 2], "scores": [[1]]}, "model": {**good["model"], "path": "/x"}}
    broken["model"]["content_hash"] = "other"
    (records / "nodocs.json").write_text(json.dumps(broken), encoding="utf-8")
    assert main(["--store", str(store), "--out", str(tmp_path / "out"), "-q"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    md = (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")
    for expected in ("records/corrupt.json: unreadable JSON", "records/old.json: skipped, schema 99 is not 2",
                     "records/nometric.json: metrics.acc.value is missing or not a number; set aside",
                     "records/badrun.json: skipped, model.run.objective is malformed",
                     "records/nodocs.json: per_doc.doc_ids and per_doc.scores must be lists of the same length",
                     "b / SFT: no result for MATH-500"):
        assert expected in md and expected in captured.err
    assert ".tmp-being-written" not in md
    assert "| b | SFT | – | – | 1 | 60.0 ± 24.5 | – |" in md


def test_mixed_presets_never_share_a_table(tmp_path):
    store = tmp_path / "store"
    for k, preset in ((1, "greedy"), (2, "paper"), (3, "paper")):
        record(store, task="profit_gsm8k", scores=ones(k, 5), run=run("b", "sft", k), preset=preset)
    report = build_report(store, tmp_path / "out")
    assert report.records == 2 and report.table.preset == "paper"
    assert any("several sampling presets: greedy (1 records), paper (2 records)" in n for n in report.notes)
    greedy = build_report(store, tmp_path / "greedy", preset="greedy")
    assert greedy.records == 1
    with pytest.raises(StoreError, match="holds no usable record with sampling preset 'nope'"):
        build_report(store, tmp_path / "nope", preset="nope")


def test_a_pipe_in_a_name_does_not_break_the_markdown_table(tmp_path):
    store = tmp_path / "store"
    record(store, task="profit_gsm8k", scores=ones(3, 5), run=run("a|b", "sft", 1))
    build_report(store, tmp_path / "out", plots=False)
    assert "| a\\|b | SFT |" in (tmp_path / "out" / "leaderboard.md").read_text(encoding="utf-8")


def test_a_newer_record_of_the_same_model_task_and_seed_supersedes_the_older(tmp_path):
    store = tmp_path / "store"
    rec = record(store, task="profit_gsm8k", scores=ones(4, 5), run=run("b", "sft", 1), created="2026-02-01T00:00:00Z")
    older = {**rec, "created": "2026-01-01T00:00:00Z", "metrics": {"acc": {"value": 0.2, "stderr": 0.1}}}
    (store / "records" / "zzz-older.json").write_text(json.dumps(older), encoding="utf-8")
    report = build_report(store, tmp_path / "out")
    assert report.table.rows[0].cells["profit_gsm8k"].mean == 0.8
    assert any("1 older record(s) of the same model, task and seed were superseded" in n for n in report.notes)


def test_a_smoke_run_never_replaces_or_joins_a_full_benchmark_cell(tmp_path):
    store = tmp_path / "store"
    for seed in (1, 2):
        record(store, task="profit_gsm8k", scores=ones(6 + seed, 10), run=run("b", "sft", seed),
               created="2026-01-01T00:00:00Z")
    full = json.loads(next((store / "records").glob("*.json")).read_text(encoding="utf-8"))
    smoke = {**full, "key": "smoke" + "0" * 19, "created": "2026-02-01T00:00:00Z",  # newer, 5 questions
             "sampling": {**full["sampling"], "limit": 5}, "task": {**full["task"], "limit": 5, "n_scored": 5},
             "metrics": {"acc": {"value": 1.0, "stderr": 0.0}},
             "per_doc": {"doc_ids": list(range(5)), "scores": [[1]] * 5}}
    (store / "records" / f"{smoke['key']}.json").write_text(json.dumps(smoke), encoding="utf-8")
    report = build_report(store, tmp_path / "out", plots=False)
    cell = report.table.rows[0].cells["profit_gsm8k"]
    assert (cell.n, round(cell.mean, 4)) == (2, 0.75)  # the two full records (70%, 80%); the slice is not pooled
    assert any("b / SFT, GSM8K: 1 record(s) of another setting left out (5 questions (limit 5)" in n and
               "the cell uses 10 questions (all questions)" in n for n in report.notes)
