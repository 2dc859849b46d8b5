"""Killed and concurrent evaluators (hf backend: the store logic is the same for every backend, and cheap here)."""

import json
import re
import shutil
import signal
import subprocess
import time

import pytest

from tests.harness.conftest import ROOT, TASK, eval_cli


@pytest.fixture
def three(ckpts, tmp_path):
    """Three checkpoints with distinct content hashes (so three records) that all answer right."""
    paths = []
    for i in range(3):
        d = tmp_path / f"ck{i}"
        shutil.copytree(ckpts["good"], d)
        config = json.loads((d / "config.json").read_text())
        config["transformers_version"] = f"variant-{i}"
        (d / "config.json").write_text(json.dumps(config))
        paths.append(str(d))
    return paths


def cli(paths, store):
    return eval_cli(*paths, "--tasks", TASK, "--backend", "hf", "--store", str(store))


def records(store):
    return {p.stem: json.loads(p.read_text()) for p in (store / "records").glob("*.json")} \
        if (store / "records").exists() else {}


def test_sigkill_mid_run_then_rerun_computes_only_what_is_missing(three, tmp_path):
    store = tmp_path / "store"
    proc = subprocess.Popen(cli(three, store), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not records(store) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = records(store)
    assert 1 <= len(before) < 3, "the kill should land between records"
    done = subprocess.run(cli(three, store), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    after = records(store)
    assert len(after) == 3 and all(r["metrics"]["exact_match"]["value"] == 1.0 for r in after.values())
    assert {k: after[k] for k in before} == before  # kept, not recomputed
    assert f"{len(before)} stored, {3 - len(before)} to run" in done.stderr


def test_two_evaluators_on_one_store_split_the_work_and_lose_nothing(three, tmp_path):
    store = tmp_path / "store"
    procs = [subprocess.Popen(cli(order, store), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for order in (three, three[::-1])]
    outs = [p.communicate(timeout=400) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    got = records(store)
    assert len(got) == 3
    started = [k for _, err in outs for k in re.findall(r"/ tiny_arith: ([0-9a-f]{24})$", err, re.M)]
    assert sorted(started) == sorted(got), "each record is computed exactly once"
    for out, _ in outs:  # each evaluator reports all three, including those the other one computed
        assert len([line for line in out.splitlines() if "exact_match = 1.0000" in line]) == 3
    assert not list(store.rglob("*.tmp")) and not list((store / "locks").glob("*.lock"))
