"""A failed job stops the jobs that need it, every other job runs, and the command fails naming both."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_a_failed_training_blocks_its_dependants_and_the_rest_finish(write_config, tmp_path, tiny_base):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "hi", "response": "ok"}\n{"prompt": "no response"}\n')  # found only when tokenized
    path = write_config(base_models=[{"name": "good", "path": str(tiny_base)},
                                     {"name": "broken", "path": str(tiny_base), "train": {"data": str(bad)}}],
                        methods=[{"objective": "sft"}])
    done = subprocess.run([sys.executable, "-m", "harness.cli", "pipeline", str(path), "--quiet"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "1 job(s) failed, 2 not run" in done.stderr
    assert "train broken/sft/seed0 failed: BadRow:" in done.stderr and "bad.jsonl:2: missing field" in done.stderr
    assert "eval seed0 not run: it needs train broken/sft/seed0, which failed" in done.stderr
    assert "report not run: it needs eval seed0, which did not run" in done.stderr
    manifest = json.loads((tmp_path / "runs" / "good" / "sft" / "seed0" / "profit_run.json").read_text())
    assert manifest["complete"] is True  # the independent training finished
    assert not (tmp_path / "runs" / "broken" / "sft" / "seed0").exists()  # the failed one left nothing behind
