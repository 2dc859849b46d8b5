"""Task names -> lm-eval Task objects configured for one sampling preset, plus the facts a record needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from profit_core.errors import UserError
from tasks.registry import TASKS, TASKS_DIR

DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's own default when a task names none


class _QuietCustomDataset(logging.Filter):
    """lm-eval warns, twice per task and checkpoint, that a `custom_dataset` hook could take `--metadata`; every
    profit_* task reads its local data through such a hook, so the warning buried the run's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Custom kwargs can be passed to `--metadata`" not in record.getMessage()


logging.getLogger("lm_eval.api.task").addFilter(_QuietCustomDataset())


@dataclass(frozen=True)
class TaskInfo:
    name: str
    version: object
    primary_metric: str  # "<metric>,<filter>" as lm-eval reports it
    repeats: int  # the paper's avg@k for profit tasks, else the YAML's
    max_gen_toks: int


class TaskCatalog:
    """One lm-eval TaskManager over the repo's tasks/ and any extra include paths."""

    def __init__(self, include_paths: list[str | Path] = ()):
        from lm_eval.tasks import TaskManager

        paths = [str(TASKS_DIR)] + [str(Path(p).resolve()) for p in include_paths]
        # lm-eval's own ~10k task YAMLs take ~10 s to index and none of them runs offline.
        self.manager = TaskManager(include_path=paths, include_defaults=False)

    def expand(self, names: list[str]) -> list[str]:
        """Groups and tags become their leaf tasks, in order, without duplicates; unknown names fail with a list."""
        unknown = [n for n in names if n not in self.manager.all_tasks]
        if unknown:
            profit = ", ".join(sorted(n for n in self.manager.all_tasks if n.startswith("profit_")))
            raise UserError(f"unknown task(s) {', '.join(unknown)}; this repo's tasks: {profit}")
        leaves: list[str] = []
        for name in names:
            for leaf in self.manager.load(name)["tasks"]:
                if leaf not in leaves:
                    leaves.append(leaf)
        return leaves

    def load(self, name: str):
        (task,) = self.manager.load(name)["tasks"].values()
        return task

    def info(self, name: str, task=None) -> TaskInfo:
        task = task or self.load(name)
        gen = task.config.generation_kwargs or {}
        spec = TASKS.get(name)
        if spec:
            primary, repeats, max_gen = spec.primary_metric, spec.paper_repeats, spec.max_gen_toks
        else:
            metric = task.config.metric_list[0]["metric"]
            filters = task.config.filter_list or [{"name": "none"}]
            primary = f"{metric},{filters[0]['name']}"
            repeats, max_gen = int(task.config.repeats or 1), int(gen.get("max_gen_toks", DEFAULT_MAX_GEN_TOKS))
        return TaskInfo(name, task.VERSION, primary, repeats, max_gen)


def configure(task, sampling: dict, generation_kwargs: dict) -> None:
    """Set repeats and decoding on a freshly loaded Task (lm-eval keeps the YAML's `until`)."""
    task.set_config(key="repeats", value=sampling["repeats"])
    task.set_config(key="generation_kwargs", value=generation_kwargs, update=True)
