"""Run the real profit_* task definitions end to end through lm-eval, with the replay model as the "generator"."""

from __future__ import annotations

import sys

import pytest

from tasks.registry import TASKS_DIR

# The tasks import their shared helpers as `_profit_common` (utils.py puts tasks/ on sys.path); so do the tests.
if str(TASKS_DIR) not in sys.path:
    sys.path.append(str(TASKS_DIR))


@pytest.fixture(scope="session")
def task_manager():
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


@pytest.fixture(scope="session")
def run_task(task_manager):
    """run_task(task, {dataset_index: response | [responses per repeat]}) -> (results, {dataset_index: sample}).

    A response is a string, or a dict {"text": ..., "finish_reason": ...}. With lists, `repeats` = their length.
    Keyword arguments set task config (dicts are merged, e.g. generation_kwargs={"max_gen_toks": 16})."""
    import lm_eval

    from harness.replay_lm import ReplayLM

    def run(task_name: str, outputs: dict, evaluate_kwargs: dict | None = None, **config):
        ids = sorted(outputs)
        as_lists = {i: outputs[i] if isinstance(outputs[i], list) else [outputs[i]] for i in ids}
        repeats = {len(v) for v in as_lists.values()}
        assert len(repeats) == 1, "every doc needs the same number of repeats"
        records = []
        for position, i in enumerate(ids):  # with `samples`, lm-eval numbers the chosen docs 0, 1, ... in order
            for repeat, out in enumerate(as_lists[i]):
                out = out if isinstance(out, dict) else {"text": out}
                records.append({"task": task_name, "doc_id": position, "repeat": repeat, **out})
        task = task_manager.load([task_name])["tasks"][task_name]
        task.set_config("repeats", repeats.pop())
        for key, value in config.items():
            task.set_config(key, value, update=isinstance(value, dict))
        res = lm_eval.simple_evaluate(
            model=ReplayLM(records),
            tasks=[task],
            task_manager=task_manager,
            samples={task_name: ids},
            log_samples=True,
            **(evaluate_kwargs or {}),
        )
        return res["results"][task_name], {s["doc_id"]: s for s in res["samples"][task_name]}

    return run
