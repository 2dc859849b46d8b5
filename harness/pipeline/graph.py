"""A pipeline config as a graph of jobs (jobs.py): builtin bases -> trainings -> evaluation shards -> token
analysis (testbed bases, and bases trained on rule-labelled data) -> report, each job naming the jobs it needs.
Listed in an order any executor may follow (every job after the jobs it needs; trainings seed by seed, so an
evaluation shard of one seed can start while the next trains)."""

from __future__ import annotations

from pathlib import Path

from .builtins import BUILTINS
from .config import PipelineConfig
from .jobs import Job
from .plan import TrainJob


def task_settings(cfg: PipelineConfig) -> dict[str, dict]:
    return {t.name: {k: v for k, v in (("limit", t.limit), ("max_gen_toks", t.max_gen_toks)) if v is not None}
            for t in cfg.eval.tasks}


def _eval_spec(cfg: PipelineConfig, checkpoints: list[Path], shard: str | None = None) -> dict:
    return {"checkpoints": [str(c) for c in checkpoints], "tasks": [t.name for t in cfg.eval.tasks],
            "task_settings": task_settings(cfg), "sampling": cfg.eval.sampling, "backend": cfg.eval.backend,
            "store": cfg.store, "seed": cfg.eval.seed, "engine": dict(cfg.eval.engine), "shard": shard,
            "output_path": cfg.eval.output_path}


def _rule_labelled(cfg: PipelineConfig, trainings: list[TrainJob], testbeds: dict) -> dict[str, str]:
    """The other bases whose runs all train on data with rule labels beside it (a labels file naming a labeller
    the token analysis knows, e.g. testbed/gsm8k_labels.py's): base name -> labeller."""
    from testbed.analysis import rule_references
    from testbed.kept import labeller

    known, out = rule_references(), {}
    for b in cfg.base_models:
        found = {labeller(t.config.data) for t in trainings if t.base == b.name}
        if b.name not in testbeds and len(found) == 1 and next(iter(found)) in known:
            out[b.name] = found.pop()
    return out


def build_graph(cfg: PipelineConfig, bases: dict[str, Path], trainings: list[TrainJob],
                eval_shards: int | None = None) -> list[Job]:
    """eval_shards: None splits evaluation by training seed (each shard needs only its seed's trainings, for a
    local executor); N gives N hash shards over all checkpoints, all needing every training (a Slurm job array)."""
    jobs: list[Job] = []
    base_job = {}
    for b in cfg.base_models:
        if b.builtin:
            base_job[b.name] = f"base {b.name}"
            jobs.append(Job(base_job[b.name], "base", {"builtin": b.builtin, "name": b.name}))
    order = {seed: i for i, seed in enumerate(cfg.seeds)}
    trainings = sorted(trainings, key=lambda t: order[t.seed])  # stable: the config's order within a seed
    train_job = {}
    for t in trainings:
        train_job[t.name] = f"train {t.name}"
        launcher = cfg.launcher_for(t.base)
        spec = {"name": t.name, "config": t.config.to_dict(), "launcher": launcher,
                "config_file": str(Path(cfg.runs_dir) / ".configs" / f"{t.name.replace('/', '__')}.yaml")}
        jobs.append(Job(train_job[t.name], "train", spec, tuple(filter(None, [base_job.get(t.base)])),
                        gpus=cfg.launcher_gpus(t.base)))
    base_ckpts = [bases[b.name] for b in cfg.base_models] if cfg.eval.include_base else []
    base_needs = tuple(base_job[b.name] for b in cfg.base_models if b.name in base_job and cfg.eval.include_base)
    evals = []
    if cfg.eval.tasks and eval_shards is None:
        for i, seed in enumerate(cfg.seeds):
            mine = [t for t in trainings if t.seed == seed]
            ckpts = (base_ckpts if i == 0 else []) + [t.out for t in mine]
            needs = (base_needs if i == 0 else ()) + tuple(train_job[t.name] for t in mine)
            evals.append(Job(f"eval seed{seed}", "eval", _eval_spec(cfg, ckpts), needs, gpus=cfg.eval_gpus))
    elif cfg.eval.tasks:
        ckpts = base_ckpts + [t.out for t in trainings]
        needs = base_needs + tuple(train_job[t.name] for t in trainings)
        evals = [Job(f"eval {i + 1}/{eval_shards}", "eval", _eval_spec(cfg, ckpts, f"{i}/{eval_shards}"), needs,
                     gpus=cfg.eval_gpus) for i in range(eval_shards)]
    jobs += evals
    report_needs = tuple(j.name for j in evals)
    testbeds = {b.name: str(bases[b.name]) for b in cfg.base_models if b.builtin and BUILTINS[b.builtin].testbed}
    labelled = _rule_labelled(cfg, trainings, testbeds) if cfg.token_analysis else {}
    analysed = {**testbeds, **{name: str(bases[name]) for name in labelled}}
    if cfg.token_analysis and analysed:
        runs = [t for t in trainings if t.base in analysed]
        spec = {"store": cfg.store, "bases": analysed, "runs": [str(t.out) for t in runs]}
        if labelled:
            spec["sources"] = labelled
        needs = tuple(base_job[n] for n in analysed if n in base_job) + tuple(train_job[t.name] for t in runs)
        jobs.append(Job("analysis", "analysis", spec, needs))
        report_needs += ("analysis",)
    if evals:  # a pipeline that scores nothing has nothing to report
        options = {"select_on": cfg.report.select_on} if cfg.report.select_on else {}
        jobs.append(Job("report", "report", {"store": cfg.store, "out": cfg.report_dir, "options": options},
                        report_needs))
    return jobs
