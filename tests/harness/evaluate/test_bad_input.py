"""`profit eval` refuses bad input before any engine starts, sets corrupt records aside and recomputes them, and
prints nothing alarming (hf backend where an engine must run: the store logic is the same for every backend)."""

import json
import subprocess
import time

import pytest

from harness.evaluate.api import evaluate
from harness.store import Store
from tests.harness.conftest import ROOT, TASK, eval_cli
from tests.harness.test_store import minimal_record


def run(*args, cwd=ROOT, timeout=300):
    return subprocess.run(eval_cli(*args), cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("limit", ["-1", "0", "1.5", "x"])
def test_a_bad_limit_is_refused_at_once(ckpts, tmp_path, limit):
    started = time.monotonic()
    done = run(str(ckpts["good"]), "--tasks", TASK, "--store", str(tmp_path / "s"), "--limit", limit)
    assert done.returncode == 2 and "--limit" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 60  # no engine start (30 s and more here)
    assert not (tmp_path / "s").exists()


def test_empty_task_list_is_refused(ckpts, tmp_path):
    done = run(str(ckpts["good"]), "--tasks", "", "--store", str(tmp_path / "s"))
    assert done.returncode == 2 and "no task to run" in done.stderr


@pytest.mark.parametrize("where", ["store", "records"])
def test_a_store_path_that_is_a_file_is_refused_before_the_evaluation(ckpts, tmp_path, where):
    store = tmp_path / "s"
    target = store if where == "store" else store / "records"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("mine")
    done = run(str(ckpts["good"]), "--tasks", TASK, "--store", str(store), "--backend", "hf")
    assert done.returncode == 2 and "is a file" in done.stderr and "Traceback" not in done.stderr
    assert "tiny_arith:" not in done.stderr  # nothing was evaluated (and lost)
    assert target.read_text() == "mine"


def test_list_into_a_closed_pipe_ends_quietly(tmp_path):
    store = Store(tmp_path / "s").check(create=True)
    for i in range(200):
        store.put(minimal_record(f"{i:024x}"), [])
    done = subprocess.run(f"{' '.join(eval_cli('--list', '--store', str(tmp_path / 's')))} | head -2", shell=True,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert len(done.stdout.splitlines()) == 2
    assert "BrokenPipeError" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("content", ['{"schema": 1, "key": "trunc', "{}"])
def test_list_and_dry_run_name_a_corrupt_record_and_set_it_aside(ckpts, tmp_path, content):
    store = tmp_path / "s"
    (key,) = [line.split()[0] for line in run(str(ckpts["good"]), "--tasks", TASK, "--store", str(store),
                                              "--dry-run").stdout.splitlines()]
    Store(store).check(create=True).put(minimal_record("a" * 24), [])
    (store / "records" / f"{key}.json").write_text(content)
    listed = run("--list", "--store", str(store))
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert f"set aside: records/{key}.json:" in listed.stderr and "1 record(s)" in listed.stdout
    (moved,) = (store / "quarantine").glob(f"{key}.json.*[0-9]")
    assert moved.read_text() == content
    (store / "records" / f"{key}.json").write_text(content)
    dry = run(str(ckpts["good"]), "--tasks", TASK, "--store", str(store), "--dry-run")
    assert f"{key}  todo" in dry.stdout and f"set aside: records/{key}.json:" in dry.stderr


def test_a_corrupt_record_is_recomputed_and_kept_aside(ckpts, tmp_path):
    store = tmp_path / "s"
    kwargs = dict(backend="hf", store=store, include_paths=[ROOT / "tests/harness/fixtures"])
    (first,) = evaluate([ckpts["good"]], [TASK], **kwargs)
    path = store / "records" / f"{first['key']}.json"
    path.write_text(path.read_text()[:100])  # truncated, as a full disk or a killed copy leaves it
    (again,) = evaluate([ckpts["good"]], [TASK], **kwargs)
    assert again["key"] == first["key"] and again["metrics"] == first["metrics"]
    assert json.loads(path.read_text())["metrics"] == first["metrics"]
    assert len(list((store / "quarantine").glob("*.why.txt"))) == 1


def test_no_git_noise_outside_a_checkout(ckpts, tmp_path):
    done = run(str(ckpts["good"]), "--tasks", TASK, "--store", str(tmp_path / "s"), "--backend", "hf",
               "--include-path", str(ROOT / "tests/harness/fixtures"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not a git repository" not in done.stderr
