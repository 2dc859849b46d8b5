"""`profit eval --output-path DIR`: lm-eval's own results JSON and samples JSONL, written by lm-eval's
EvaluationTracker from the store, equal to what lm-eval writes itself, for computed and cached records alike, and
readable by lm-eval's tooling (hf backend where a model must run: the export is the same for every backend)."""

from __future__ import annotations

import copy
import json
import logging
import shutil
import subprocess

import pytest

from harness.evaluate import api, lm_eval_output
from harness.evaluate import sampling as presets
from harness.evaluate.api import WorkItem
from harness.evaluate.checkpoint import Checkpoint
from harness.evaluate.record import build
from harness.store import Store
from profit_core.errors import UserError
from tests.harness.conftest import ROOT, eval_cli
from tests.harness.tiny_model import FIXTURE_TASKS

TASKS = ["tiny_arith", "tiny_arith_long"]
SAME = ("results", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "task_hashes", "git_hash", "date",
        "lm_eval_version", "transformers_version", "model_name", "model_name_sanitized", "model_source",
        "chat_template", "chat_template_sha", "fewshot_as_multiturn")


def files(folder) -> dict[str, str]:
    """relative path -> text of every file lm-eval's layout holds (the folder marker and staging left out)."""
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_the_export_equals_what_lm_eval_writes_itself(ckpts, tmp_path):
    """A real profit task run by lm-eval (canned answers, 2 repeats), written once by lm-eval's own CLI flow and once
    from the store: the same samples lines, the same results sections."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker

    from harness.evaluate.tasks import TaskCatalog, configure
    from harness.replay_lm import ReplayLM
    from tasks.registry import apply_scoring_env

    apply_scoring_env()
    catalog = TaskCatalog()
    task = catalog.load("profit_gsm8k")
    info = catalog.info("profit_gsm8k", task)
    sampling = presets.resolve("greedy", task_repeats=info.repeats, task_max_gen_toks=info.max_gen_toks, repeats=2)
    sampling["limit"] = 2
    configure(task, sampling, presets.generation_kwargs(sampling))
    answers = [{"task": "profit_gsm8k", "doc_id": i, "repeat": r, "text": f"The answer is {7 * i + r}"}
               for i in range(2) for r in range(2)]
    results = lm_eval.simple_evaluate(model=ReplayLM(answers), tasks=[task], task_manager=catalog.manager, limit=2,
                                      log_samples=True, apply_chat_template=False)
    ckpt = Checkpoint.open(ckpts["good"])
    name = lm_eval_output.model_name(ckpt)

    own = tmp_path / "own"  # lm_eval --output_path own --log_samples, as its CLI does it
    mine = copy.deepcopy(results)
    samples = mine.pop("samples")
    tracker = EvaluationTracker(output_path=str(own))
    tracker.general_config_tracker.log_experiment_args(model_source="hf", model_args={"pretrained": name},
                                                       system_instruction=None, chat_template=None,
                                                       fewshot_as_multiturn=False)
    tracker.save_results_aggregated(results=mine, samples=samples)
    tracker.save_results_samples(task_name="profit_gsm8k", samples=samples["profit_gsm8k"])

    store = Store(tmp_path / "store").check(create=True)
    sampling["apply_chat_template"] = False
    record, stored = build(key="a" * 24, ckpt=ckpt, task=task, info=info, sampling=sampling, seed=1234,
                           backend="hf", limit=2, results=copy.deepcopy(results), timings={"total_s": 1.0},
                           generated_tokens=0, store_root=store.root)
    store.put(record, stored)
    ours = lm_eval_output.check_folder(tmp_path / "ours", store.root, create=True)
    lm_eval_output.write(ours, [(WorkItem(ckpt, info, sampling, record["key"]), store.get(record["key"]))], store)

    own_files, our_files = files(own), files(ours)
    assert [p.split("/")[0] for p in our_files] == [p.split("/")[0] for p in own_files]  # the model folder
    own_samples, our_samples = ([lines(t) for p, t in f.items() if "/samples_" in p] for f in (own_files, our_files))
    assert our_samples == own_samples and len(our_samples[0]) == 2
    assert our_samples[0][0]["resps"] == [["The answer is 0", "The answer is 1"]]
    (own_results,) = [json.loads(t) for p, t in own_files.items() if "/results_" in p]
    (our_results,) = [json.loads(t) for p, t in our_files.items() if "/results_" in p]
    assert {k: our_results[k] for k in SAME} == {k: own_results[k] for k in SAME}
    assert our_results["config"]["model"] == "hf" and our_results["config"]["model_args"] == {"pretrained": name}
    assert "pretty_env_info" not in record["lm_eval"]  # the record keeps no machine environment dump...
    assert f'"{ROOT}' not in json.dumps(record["lm_eval"])  # ...and no absolute machine path


@pytest.fixture(scope="module")
def computed(ckpts, tmp_path_factory):
    """good and variant on two tasks through hf, exported as they are computed."""
    root = tmp_path_factory.mktemp("export")
    records = api.evaluate([ckpts["good"], ckpts["variant"]], TASKS, backend="hf", store=root / "store",
                           include_paths=[FIXTURE_TASKS], output_path=root / "lm_eval")
    return root, records


def cached(ckpts, store, out, monkeypatch):
    def no_engine(*a, **k):
        raise AssertionError("a cache hit must not start a backend")

    monkeypatch.setattr(api, "make_backend", no_engine)
    return api.evaluate([ckpts["good"], ckpts["variant"]], TASKS, backend="hf", store=store,
                        include_paths=[FIXTURE_TASKS], output_path=out)


def test_each_checkpoint_gets_lm_evals_layout_readable_by_its_tooling(computed, ckpts):
    from datasets import load_dataset
    from lm_eval.utils import (
        get_file_datetime,
        get_file_task_name,
        get_latest_filename,
        get_results_filenames,
        get_sample_results_filenames,
        sanitize_model_name,
    )

    root, records = computed
    written = files(root / "lm_eval")
    assert len(written) == 6  # per checkpoint: one results file for both tasks, one samples file per task
    for ckpt in ("good", "variant"):
        name = sanitize_model_name(str(ckpts[ckpt].resolve()))
        mine = [p for p in written if p.startswith(f"{name}/")]
        (results_file,) = get_results_filenames(mine)
        assert get_latest_filename(mine) and get_file_datetime(results_file)
        samples_files = get_sample_results_filenames(mine)
        assert sorted(get_file_task_name(p.split("/")[-1]) for p in samples_files) == TASKS
        # one run's files (lm-eval's reader leaves ".json" on a results file's date)
        assert {get_file_datetime(p).removesuffix(".json") for p in mine} == {get_file_datetime(samples_files[0])}
        results = json.loads(written[results_file])
        assert set(results["results"]) == set(TASKS) == set(results["task_hashes"])
        assert results["model_name"] == str(ckpts[ckpt].resolve()) and results["model_source"] == "hf"
        for task in TASKS:
            (record,) = [r for r in records if r["model"]["label"] == ckpt and r["task"]["name"] == task]
            assert results["results"][task]["exact_match,extract_number"] == record["metrics"]["exact_match"]["value"]
            (path,) = [p for p in samples_files if get_file_task_name(p.split("/")[-1]) == task]
            rows = load_dataset("json", data_files=str(root / "lm_eval" / path), split="train")
            assert len(rows) == record["task"]["n_scored"] == 12
            assert rows[0]["doc"] == {"a": 2, "answer": "5", "b": 3} and rows[0]["target"] == "5"


def test_cached_records_are_written_as_computed_ones_and_only_once(computed, ckpts, monkeypatch):
    root, _ = computed
    first = files(root / "lm_eval")
    cached(ckpts, root / "store", root / "again", monkeypatch)
    again = files(root / "again")
    assert list(again) == list(first)  # the same names: <date> comes from the records
    for path, text in first.items():
        if "/samples_" in path:
            assert again[path] == text
        else:
            a, b = json.loads(again[path]), json.loads(text)
            a.pop("total_evaluation_time_seconds"), b.pop("total_evaluation_time_seconds")
            assert a == b
    cached(ckpts, root / "store", root / "lm_eval", monkeypatch)
    assert files(root / "lm_eval") == first  # exported already: nothing new


def test_records_without_samples_or_lm_evals_results_are_said_so(computed, ckpts, tmp_path, monkeypatch, caplog):
    root, records = computed
    store = tmp_path / "store"
    shutil.copytree(root / "store", store)
    good = {r["task"]["name"]: r for r in records if r["model"]["label"] == "good"}
    (store / "samples" / f"{good['tiny_arith']['key']}.jsonl.gz").unlink()  # samples/ is never committed
    path = store / "records" / f"{good['tiny_arith_long']['key']}.json"
    old = json.loads(path.read_text())
    del old["lm_eval"]  # as a record of an earlier harness
    path.write_text(json.dumps(old))
    with caplog.at_level(logging.WARNING, logger="profit.eval"):
        cached(ckpts, store, tmp_path / "out", monkeypatch)
    written = files(tmp_path / "out")
    good_files = [p for p in written if p.endswith("good") or "__good/" in p]
    (results_file,) = [p for p in good_files if "/results_" in p]
    assert set(json.loads(written[results_file])["results"]) == {"tiny_arith"}
    assert not [p for p in good_files if "/samples_" in p]  # its samples were not in the store
    assert len([p for p in written if "__variant/" in p]) == 3  # the other checkpoint is whole
    assert "good / tiny_arith: its samples are not in the store" in caplog.text
    assert f"record {good['tiny_arith_long']['key']} was written before the store kept lm-eval's" in caplog.text


def test_the_output_folder_is_checked_before_any_engine(ckpts, tmp_path, monkeypatch):
    def no_engine(*a, **k):
        raise AssertionError("no engine may start")

    monkeypatch.setattr(api, "make_backend", no_engine)
    kwargs = dict(backend="hf", store=tmp_path / "store", include_paths=[FIXTURE_TASKS])
    with pytest.raises(UserError, match="inside the results store"):
        api.evaluate([ckpts["good"]], ["tiny_arith"], output_path=tmp_path / "store" / "lm_eval", **kwargs)
    with pytest.raises(UserError, match="holds a model"):
        api.evaluate([ckpts["good"]], ["tiny_arith"], output_path=ckpts["random"], **kwargs)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(UserError, match="did not write"):
        api.evaluate([ckpts["good"]], ["tiny_arith"], output_path=tmp_path / "notes", **kwargs)
    assert not (tmp_path / "store").exists()


def test_gpqa_samples_are_written_with_a_warning_and_git_ignores_the_default_folder(ckpts, tmp_path):
    out = tmp_path / "lm_eval"
    done = subprocess.run(eval_cli(str(ckpts["good"]), "--tasks", "profit_gpqa_diamond", "--limit", "1",
                                   "--max-gen-toks", "4", "--backend", "hf", "--store", str(tmp_path / "store"),
                                   "--output-path", str(out)),
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (samples,) = out.rglob("samples_profit_gpqa_diamond_*.jsonl")
    assert len(samples.read_text().splitlines()) == 1
    assert "holds the questions of profit_gpqa_diamond in clear text: never commit" in done.stderr
    # The documented place for these files is ignored by git, samples and all.
    ignored = subprocess.run(["git", "check-ignore", "-q", f"results/lm_eval/{samples.parent.name}/{samples.name}"],
                             cwd=ROOT)
    assert ignored.returncode == 0
