"""The tasks run from any working folder: every data path comes from the task files themselves."""

import json
import os
import subprocess
import sys

import pytest

from tasks.registry import PAPER5, TASKS_DIR

SCRIPT = """
import json
import lm_eval
from lm_eval.tasks import TaskManager
tm = TaskManager(include_path={tasks!r}, include_defaults=False)
res = lm_eval.simple_evaluate(model="dummy", tasks=["profit_paper5"], task_manager=tm, limit=2)
print("ACC", json.dumps({{name: r["acc,none"] for name, r in res["results"].items()}}))
"""


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NLTK_DATA")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=os.environ.get("HF_HOME", "/nonexistent"))
    return env


def test_runs_from_an_unrelated_folder(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(tasks=str(TASKS_DIR))],
        cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    acc = json.loads(out.stdout.split("ACC ", 1)[1])
    assert set(acc) == {"profit_paper5", *PAPER5}
    # the dummy model answers "lol" to everything: wrong on the four answer-checked benchmarks
    assert all(acc[name] == 0.0 for name in PAPER5 if name != "profit_ifeval")
    assert list(tmp_path.iterdir()) == []  # nothing written where it was started


@pytest.mark.slow
def test_stock_lm_eval_cli_from_an_unrelated_folder(tmp_path):
    lm_eval = os.path.join(os.path.dirname(sys.executable), "lm_eval")
    out = subprocess.run(
        [lm_eval, "--model", "dummy", "--include_path", str(TASKS_DIR), "--tasks", "profit_paper5", "--limit", "2"],
        cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "profit_paper5" in out.stdout and "profit_ifeval" in out.stdout
