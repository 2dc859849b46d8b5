from pathlib import Path

from tasks.profit_testbed.utils import extract_answer

TASKS = Path(__file__).resolve().parents[2] / "tasks"
TASK_NAMES = ("profit_testbed", "profit_testbed_retention", "profit_testbed_dev")


def test_task_runs_through_lm_eval_and_scores_each_sample_by_its_last_integer(tiny_base):
    import lm_eval
    from lm_eval.tasks import TaskManager

    res = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={tiny_base},dtype=float32",
        tasks=list(TASK_NAMES),
        task_manager=TaskManager(include_path=str(TASKS)),
        limit=3,
        batch_size=3,
        device="cpu",
        apply_chat_template=True,
        log_samples=True,
    )
    for task in TASK_NAMES:
        samples = res["samples"][task]
        assert len(samples) == 3
        for s in samples:
            assert s["arguments"][0][0].startswith("<|im_start|>user\n")  # the chat template was applied
            response = s["filtered_resps"][0]
            assert s["acc"] == int(extract_answer(response) == int(s["doc"]["answer"]))
        assert res["results"][task]["acc,none"] == sum(s["acc"] for s in samples) / 3
