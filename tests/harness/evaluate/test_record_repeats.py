"""Per-repeat scores of a real profit_* task (its identity filter keeps the K responses of a doc together)."""

import lm_eval
from lm_eval.tasks import TaskManager

from harness.evaluate.record import repeat_scores
from harness.replay_lm import ReplayLM
from tasks.registry import TASKS_DIR, apply_scoring_env


def test_each_repeat_is_scored_on_its_own():
    apply_scoring_env()
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    task = manager.load(["profit_gsm8k"])["tasks"]["profit_gsm8k"]
    task.set_config("repeats", 3)
    docs = list(task.test_docs())[:2]
    golds = [d["answer"].split("####")[-1].strip() for d in docs]
    texts = lambda gold: [f"The answer is {gold}", "The answer is 999999", f"so it is {gold}"]  # noqa: E731
    records = [{"task": "profit_gsm8k", "doc_id": i, "repeat": r, "text": t}
               for i, gold in enumerate(golds) for r, t in enumerate(texts(gold))]
    res = lm_eval.simple_evaluate(model=ReplayLM(records), tasks=[task], task_manager=manager, limit=2,
                                  log_samples=True)
    for sample in res["samples"]["profit_gsm8k"]:
        assert repeat_scores(task, sample, "acc", 3) == [1.0, 0.0, 1.0]
        assert abs(sample["acc"] - 2 / 3) < 1e-9
