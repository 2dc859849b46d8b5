"""Run a pipeline: check everything first, then run its job graph (graph.py) on the chosen executor.

Every job is idempotent: a complete checkpoint of the same config is not retrained (a partial one resumes from its
last saved state), a stored evaluation record is a cache hit, and the analysis and report are redone only when
their inputs changed. So a killed pipeline is resumed by running the same command again, and a second run with
nothing changed does no work. A failed job stops the jobs that need it; the others run; the run then fails,
naming them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from harness.store import Store
from profit_core.errors import UserError
from profit_core.folders import claim
from profit_core.model_folder import ModelFolderError, check_model_folder
from training.api import inspect_output, is_complete, last_checkpoint
from training.config import ConfigError

from .config import PipelineConfig, PipelineConfigError
from .graph import build_graph
from .jobs import Job, is_finished
from .local import LocalExecutor, Outcome
from .plan import TrainJob, base_folders, training_jobs
from .slurm import SlurmExecutor

log = logging.getLogger("profit.pipeline")


def validate(cfg: PipelineConfig) -> tuple[dict[str, Path], list[TrainJob]]:
    """Everything that can be checked before any work, checked; nothing is written.

    Base model folders, every training config (data, fields), every run folder (refused when it holds something
    else, such as another config's run), the task names and limits, the store, the runs and report folders.
    """
    bases = base_folders(cfg)
    for name, folder in bases.items():
        if not _builtin(cfg, name):  # a builtin is checked by its builder
            try:
                check_model_folder(folder)
            except ModelFolderError as err:
                raise PipelineConfigError(f"base model {name}: {err}") from None
    jobs = training_jobs(cfg, bases)
    for job in jobs:
        try:
            built = not _builtin(cfg, job.base) or (bases[job.base] / "config.json").exists()
            job.config.check_runnable(model=built)  # the run builds the builtin bases first
            if not is_complete(job.out, job.config):
                inspect_output(job.config, job.out, resume=True)
        except ConfigError as err:
            raise PipelineConfigError(f"training {job.name}: {err}") from None
    if cfg.eval.tasks:
        from harness.evaluate.tasks import TaskCatalog

        try:
            TaskCatalog().expand([t.name for t in cfg.eval.tasks])
        except UserError as err:
            raise PipelineConfigError(f"`eval.tasks`: {err}") from None
    Store(cfg.store).check()
    claim(cfg.runs_dir, "runs", what="runs folder", allow=Path.is_dir, create=False)
    from harness.report.api import REPORT_ENTRIES

    claim(cfg.report_dir, "report", REPORT_ENTRIES, what="report folder", allow=Path.is_dir, create=False)
    return bases, jobs


def executor_for(cfg: PipelineConfig) -> LocalExecutor | SlurmExecutor:
    if cfg.executor == "slurm":
        return SlurmExecutor(cfg.slurm, Path(cfg.runs_dir) / "slurm")
    return LocalExecutor(cfg.workers or None)


def graph(cfg: PipelineConfig, bases: dict[str, Path], trainings: list[TrainJob]) -> list[Job]:
    """The jobs: local evaluation shards follow the training seeds, Slurm's are a job array of eval_shards."""
    return build_graph(cfg, bases, trainings, cfg.slurm.eval_shards if cfg.executor == "slurm" else None)


def finished_jobs(jobs: list[Job]) -> set[str]:
    """The jobs with nothing left to do: done themselves, and every job they need done too (a report is not fresh
    while an evaluation it needs still has records to add)."""
    finished: set[str] = set()
    for job in jobs:  # graph order: a job's needs come before it
        if all(n in finished for n in job.needs) and is_finished(job):
            finished.add(job.name)
    return finished


def _state(job: Job, finished: set[str]) -> str:
    if job.name in finished:
        return "done"
    if job.kind == "train":
        return "partial" if last_checkpoint(Path(job.spec["config"]["output_dir"])) is not None else "todo"
    return "todo"


def _what(job: Job) -> str:
    spec = job.spec
    if job.kind == "base":
        from .builtins import BUILTINS

        return str(BUILTINS[spec["builtin"]].folder())
    if job.kind == "train":
        return spec["config"]["output_dir"] + (f"  (launcher: {spec['launcher']})" if spec["launcher"] else "")
    if job.kind == "eval":
        shard = f", shard {spec['shard']}" if spec.get("shard") else ""
        settings = spec["task_settings"]
        tasks = [t + "".join(f" ({k} {v})" for k, v in settings.get(t, {}).items()) for t in spec["tasks"]]
        return f"{len(spec['checkpoints'])} checkpoint(s) x {', '.join(tasks)}{shard}"
    if job.kind == "report":
        return spec["out"]
    return ""


def describe(cfg: PipelineConfig) -> list[str]:
    """The job graph, for --dry-run: one line per job with its state and what it needs."""
    bases, trainings = validate(cfg)
    jobs = graph(cfg, bases, trainings)
    finished = finished_jobs(jobs)
    lines = [f"pipeline {cfg.name}: {len(jobs)} jobs ({len(trainings)} trainings), executor "
             f"{executor_for(cfg).describe()}; {len(finished)} done"]
    for job in jobs:
        lines.append(f"  {_state(job, finished):<8} {job.name:<44} {_what(job)}")
    return lines


def _builtin(cfg: PipelineConfig, name: str) -> str:
    """The builtin the base `name` is, or "" for a folder the user gave."""
    return cfg.base(name).builtin


class PipelineFailed(RuntimeError):
    """Jobs failed (and others did not run because they needed them); the message names each."""

    def __init__(self, outcome: Outcome):
        super().__init__("\n".join(outcome.problems()))
        self.outcome = outcome


def run(cfg: PipelineConfig, *, progress: bool = True) -> dict:
    """Run every job not done yet; returns a summary (what was trained, reused, how long each kind took).
    Raises PipelineFailed, after every job that could run ran, when some failed."""
    started = time.perf_counter()
    bases, trainings = validate(cfg)
    claim(cfg.runs_dir, "runs", what="runs folder", allow=Path.is_dir)
    jobs = graph(cfg, bases, trainings)
    finished = finished_jobs(jobs)
    outcome = executor_for(cfg).run(jobs, finished, progress=progress)
    timings: dict[str, float] = {}
    for job in jobs:
        if job.name in outcome.done:
            key = f"{job.kind}_s"
            timings[key] = timings.get(key, 0.0) + outcome.done[job.name]["seconds"]
    summary = {
        "trained": [j.spec["name"] for j in jobs if outcome.done.get(j.name, {}).get("trained")],
        "skipped": [j.spec["name"] for j in jobs if j.kind == "train" and j.name in finished],
        "records": sum(r.get("records", 0) for r in outcome.done.values()),
        "report": outcome.done.get("report", {}).get("files", []),
        "timings": {**timings, "total_s": time.perf_counter() - started},
        "outcome": outcome,
    }
    if outcome.failed or outcome.blocked:
        raise PipelineFailed(outcome)
    if cfg.reference:
        summary["reproduced"] = Store(cfg.store).reproduces(Store(cfg.reference))
    return summary
