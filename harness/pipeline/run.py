"""Run a pipeline: check everything first, then run its job graph (graph.py) on the chosen executor.

Every job is idempotent: a complete checkpoint of the same config is not retrained (a partial one resumes from its
last saved state), a stored evaluation record is a cache hit, and the analysis and report are redone only when
their inputs changed. So a killed pipeline is resumed by running the same command again, and a second run with
nothing changed does no work. A failed job stops the jobs that need it; the others run; the run then fails,
naming them.
"""

from __future__ import annotations

import json
import logging
import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness.store import Store
from profit_core.errors import UserError
from profit_core.folders import claim
from profit_core.model_folder import ModelFolderError, check_model_folder
from training.api import inspect_output, is_complete, last_checkpoint
from training.config import ConfigError
from training.known_bases import lookup
from training.memory import MemoryPlan, gb, launch_from_launcher, plan_for, visible_device_memory

from .config import PER_RUN, PipelineConfig, PipelineConfigError
from .graph import build_graph
from .jobs import Job, is_finished
from .local import LocalExecutor, Outcome
from .plan import TrainJob, base_folders, training_jobs
from .slurm import SlurmExecutor

log = logging.getLogger("profit.pipeline")


def validate(cfg: PipelineConfig, missing: dict[str, str] | None = None) -> tuple[dict[str, Path], list[TrainJob]]:
    """Everything that can be checked before any work, checked; nothing is written.

    Base model folders, every training config (data, fields), every run folder (refused when it holds something
    else, such as another config's run), the task names and limits, the store, the runs and report folders.
    missing: for a dry run, a dict that collects the base folders, data files and launcher programs that are not on
    this machine ({base name, data path or launcher: what}) instead of refusing them; anything else wrong is still
    refused.
    """
    bases = base_folders(cfg)
    for name, folder in bases.items():
        if not _builtin(cfg, name):  # a builtin is checked by its builder
            if missing is not None and not folder.exists():
                missing[name] = str(folder)
                continue
            try:
                check_model_folder(folder)
            except ModelFolderError as err:
                raise PipelineConfigError(f"base model {name}: {err}") from None
    jobs = training_jobs(cfg, bases)
    if cfg.executor == "local":  # a Slurm job may find its launcher only after the settings' `setup` lines
        for launcher in dict.fromkeys(cfg.launcher_for(b.name) for b in cfg.base_models):
            program = shlex.split(launcher)[0] if launcher.strip() else ""
            if program and shutil.which(program) is None:
                if missing is not None:
                    missing[launcher] = f"launcher: {program} is not on PATH"
                    continue
                raise PipelineConfigError(f"launcher `{launcher}`: {program} is not on PATH (activate the "
                                          "environment that has it, or give its full path)")
    for job in jobs:
        try:
            data = Path(job.config.data) if job.config.data else None
            if missing is not None and data is not None and not data.exists():
                missing[str(data)] = "data"
            else:
                built = job.base not in (missing or {}) and (
                    not _builtin(cfg, job.base) or (bases[job.base] / "config.json").exists())
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


# ---- memory plans -------------------------------------------------------------------------------------------------


@dataclass
class BasePlan:
    """The memory plan shared by the trainings of one base under one launcher with the same memory-relevant
    settings (the objective, seed and folders do not change it)."""

    base: str
    launcher: str
    trainings: list[str]  # the method folders (slugs) of its trainings
    plan: MemoryPlan | None  # None: not available (see `error`)
    error: str = ""

    def lines(self) -> list[str]:
        seeds = "" if len(set(self.trainings)) == len(self.trainings) else " (each seed)"
        methods = ", ".join(dict.fromkeys(self.trainings))
        head = (f"  {self.base} under {f'`{self.launcher}`' if self.launcher else 'no launcher (in-process)'}: "
                f"{len(self.trainings)} training(s){seeds}: {methods}")
        if self.plan is None:
            return [head, f"    memory plan: not available ({self.error})"]
        return [head] + [f"    {line}" for line in self.plan.lines()]

    def refusal(self) -> str | None:
        if self.plan is None or self.plan.fits is not False:
            return None
        launcher = f"`{self.launcher}`" if self.launcher else "no launcher"
        return f"base {self.base} ({launcher}): {self.plan.refusal()}"


def device_target(device_memory: int | None) -> int | None:
    """The memory per device plans are checked against: the flag's (memory.OFF: none), else the visible GPU's."""
    if device_memory is not None:
        return device_memory or None
    return visible_device_memory()


def memory_plans(cfg: PipelineConfig, trainings: list[TrainJob], target: int | None) -> list[BasePlan]:
    """One plan (training/memory.py) per base x launcher x memory-relevant training settings, against `target`
    bytes per device (None: estimates only). A base whose folder is missing is planned from its known shape
    (training/known_bases.py); one that cannot be counted at all gets an explanation, not a refusal."""
    groups: dict[tuple, BasePlan] = {}
    for job in trainings:
        launcher = cfg.launcher_for(job.base)
        settings = {k: v for k, v in job.config.to_dict().items() if k not in (*PER_RUN, "logging_dir")}
        key = (job.base, launcher, json.dumps(settings, sort_keys=True, default=str))
        if key in groups:
            groups[key].trainings.append(job.slug)
            continue
        try:
            launch = launch_from_launcher(launcher)
            plan = plan_for(job.config, launch.strategy, launch.world_size, target, source=launch.source)
            groups[key] = BasePlan(job.base, launcher, [job.slug], plan)
        except ConfigError as err:
            groups[key] = BasePlan(job.base, launcher, [job.slug], None, str(err))
    return list(groups.values())


def refuse_unfit(plans: list[BasePlan]) -> None:
    """PipelineConfigError naming each base whose plan cannot fit, and the fix the planner offers."""
    refusals = [r for r in (p.refusal() for p in plans) if r]
    if refusals:
        raise PipelineConfigError("\n".join(refusals))


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


def dry_run(cfg: PipelineConfig, device_memory: int | None = None,
            plans: bool = True) -> tuple[list[str], list[BasePlan]]:
    """What --dry-run prints, and the memory plans it checked.

    One line per job with its state and what it does; the base models and data files not on this machine (MISSING:
    a real run stops until they are there, a dry run goes on); with `plans`, the memory plan of each base x launcher
    x training settings against device_memory bytes (None: the visible GPU's; memory.OFF: no verdict). The caller
    refuses the plans that cannot fit (`refuse_unfit`) after printing the lines."""
    missing: dict[str, str] = {}
    bases, trainings = validate(cfg, missing)
    jobs = graph(cfg, bases, trainings)
    finished = finished_jobs(jobs)
    lines = [f"pipeline {cfg.name}: {len(jobs)} jobs ({len(trainings)} trainings), executor "
             f"{executor_for(cfg).describe()}; {len(finished)} done"]
    for b in cfg.base_models:
        if b.name in missing:
            how = f"planned from the known shape of {bases[b.name].name}" if lookup(str(bases[b.name])) else \
                "not one of training/known_bases.py: no memory plan"
            lines.append(f"  {'MISSING':<8} base {b.name:<39} {bases[b.name]} ({how})")
        elif not b.builtin:
            lines.append(f"  {'ready':<8} base {b.name:<39} {bases[b.name]}")
    lines += [f"  {'MISSING':<8} {'data':<44} {data}" for data, what in missing.items() if what == "data"]
    lines += [f"  {'MISSING':<8} {what:<44} `{launcher}`" for launcher, what in missing.items()
              if what.startswith("launcher")]
    for job in jobs:
        lines.append(f"  {_state(job, finished):<8} {job.name:<44} {_what(job)}")
    if missing:
        lines.append(f"{len(missing)} input(s) MISSING on this machine: a real run stops until they are there")
    found: list[BasePlan] = []
    if plans and trainings:
        target = device_target(device_memory)
        found = memory_plans(cfg, trainings, target)
        against = f"against {gb(target)} per device" if target else \
            "no target: no GPU visible and no --device-memory, estimates only"
        lines.append(f"memory plans (estimates per device, training/memory.py; {against}):")
        for plan in found:
            lines += plan.lines()
    return lines, found


def describe(cfg: PipelineConfig, device_memory: int | None = None, plans: bool = True) -> list[str]:
    """The --dry-run lines (see `dry_run`); nothing is refused here."""
    return dry_run(cfg, device_memory, plans)[0]


def _builtin(cfg: PipelineConfig, name: str) -> str:
    """The builtin the base `name` is, or "" for a folder the user gave."""
    return cfg.base(name).builtin


class PipelineFailed(RuntimeError):
    """Jobs failed (and others did not run because they needed them); the message names each."""

    def __init__(self, outcome: Outcome):
        super().__init__("\n".join(outcome.problems()))
        self.outcome = outcome


def run(cfg: PipelineConfig, *, progress: bool = True, device_memory: int | None = None,
        plans: bool = True) -> dict:
    """Run every job not done yet; returns a summary (what was trained, reused, how long each kind took).
    Before any work, when a target memory is known (device_memory bytes, else the visible GPU's; memory.OFF: none),
    every training's memory plan is checked and a plan that cannot fit is refused (PipelineConfigError naming the
    base and the fix). Raises PipelineFailed, after every job that could run ran, when some failed."""
    started = time.perf_counter()
    bases, trainings = validate(cfg)
    target = device_target(device_memory) if plans else None
    if target:
        refuse_unfit(memory_plans(cfg, trainings, target))
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
