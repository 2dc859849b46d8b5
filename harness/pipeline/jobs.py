"""The pipeline's jobs: one unit of work each, what it needs first, and how a worker runs it.

    base      build a builtin base model (pipeline/builtins.py)
    train     one (base, method, seed) training: `training.api.train`, or `profit train` under the config's launcher
    eval      one evaluation shard: `harness.evaluate.api.evaluate` over its checkpoints and every task
    analysis  the token analysis of testbed bases and of bases trained on rule-labelled data (core vs trivial
              token p; what each run's loss trained on), into the store
    report    `harness.report.api.build_report` from the store

A job is plain data (JSON-able `spec`), so any executor can run it: a local worker process or a Slurm job
(executors in local.py and slurm.py). Each runner goes through the code a user runs and is safe to run again: a
finished training, a stored record, an unchanged analysis or report is not redone. So a resubmitted pipeline only
does what is missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger("profit.pipeline")

KINDS = ("base", "train", "eval", "analysis", "report")


@dataclass(frozen=True)
class Job:
    name: str  # unique and readable: "train tiny/sft/seed0", "eval seed0", "report"
    kind: str  # one of KINDS
    spec: dict = field(hash=False)  # the runner's arguments, JSON-able
    needs: tuple[str, ...] = ()  # names of the jobs that must have succeeded first
    gpus: int = 0  # what a cluster job asks for (a training under a multi-GPU launcher; an evaluation shard)


class JobFailed(RuntimeError):
    """A job that ran and failed; the message names it and says why."""


def run_job(job: Job) -> dict:
    """Run one job in this process: {"line": a one-line summary, "seconds": its wall time, and what it counts}.
    Raises JobFailed (or the runner's error)."""
    t0 = time.perf_counter()
    out = RUNNERS[job.kind](job.spec)
    return {**out, "seconds": round(time.perf_counter() - t0, 1)}


def is_finished(job: Job) -> bool:
    """True when running the job would do nothing: its base is built, its training complete, its records stored,
    its analysis or report up to date. Checked before a run, so a resubmission submits only what is missing."""
    spec = job.spec
    if job.kind == "base":
        from profit_core.model_folder import ModelFolderError, check_model_folder

        from .builtins import BUILTINS

        try:
            check_model_folder(BUILTINS[spec["builtin"]].folder())
        except ModelFolderError:
            return False
        return True
    if job.kind == "train":
        from training.api import is_complete
        from training.config import TrainConfig

        config = TrainConfig.from_dict(spec["config"])
        return is_complete(config.output_dir, config)
    if job.kind == "eval":
        from harness.evaluate.api import plan
        from harness.evaluate.engine import EngineSettings
        from harness.store import Store

        if not all(Path(c, "config.json").is_file() for c in spec["checkpoints"]):
            return False
        items, _ = plan(spec["checkpoints"], spec["tasks"], sampling=spec["sampling"], seed=spec["seed"],
                        shard=spec.get("shard"), task_settings=spec["task_settings"],
                        engine=EngineSettings.from_kwargs(spec["engine"]))
        store = Store(spec["store"])
        return all(store.has(it.key) for it in items)
    return _fresh(job.kind, spec)


def _fresh(kind: str, spec: dict) -> bool:
    from harness.store import Store

    store = Store(spec["store"])
    if kind == "analysis":
        return store.token_analysis_path.is_file() and store.pipeline_state().get(kind) == _analysis_digest(spec)
    out = Path(spec["out"])
    return all((out / name).is_file() for name in ("leaderboard.md", "index.html")) and \
        store.pipeline_state().get(kind) == _report_digest(spec)


# ---- the runners ------------------------------------------------------------------------------------------------


def _base(spec: dict) -> str:
    from .builtins import BUILTINS

    folder = BUILTINS[spec["builtin"]].build(False)
    return {"line": f"base {spec['name']} ready ({folder.name})"}


def _train(spec: dict) -> str:
    from profit_core.formats import run_manifest
    from training.api import train
    from training.config import TrainConfig

    config = TrainConfig.from_dict(spec["config"])
    if spec.get("launcher"):
        _launch(spec["launcher"], config, Path(spec["config_file"]))
    else:
        train(config, resume=True, progress=False)
    run = run_manifest.read_or_none(config.output_dir) or {}
    kept = (run.get("kept_fraction") or {}).get("mean")
    kept_text = f", kept {kept:.0%} of tokens" if isinstance(kept, float) else ""
    return {"line": f"trained ({run.get('steps', '?')} steps{kept_text})", "trained": True}


def _launch(launcher: str, config, config_file: Path) -> None:
    """One training under the user's launcher (accelerate, torchrun): `profit train` in its own processes, its GPUs
    freed when it ends."""
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump(config.to_dict(), sort_keys=True))
    command = [*shlex.split(launcher), "-m", "training.cli", "--config", str(config_file), "--resume"]
    log.info("launching: %s", " ".join(command))
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise JobFailed(f"training exited with {done.returncode}: {' '.join(command)}")


def _eval(spec: dict) -> str:
    from harness.evaluate.api import evaluate

    records = evaluate(spec["checkpoints"], spec["tasks"], sampling=spec["sampling"], backend=spec["backend"],
                       store=Path(spec["store"]), seed=spec["seed"], engine_kwargs=spec["engine"] or None,
                       task_settings=spec["task_settings"], shard=spec.get("shard"))
    return {"line": f"{len(records)} records for {len(spec['checkpoints'])} checkpoint(s)", "records": len(records)}


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _analysis_digest(spec: dict) -> str:
    """What the token analysis is made from: the bases' builds and the runs' configs; with rule-labelled data also
    the reference sources, the labels files and the other bases' GGUF provenance."""
    from profit_core.formats import base_build, run_manifest

    inputs = {"bases": {n: base_build.read(f) for n, f in spec["bases"].items()},
              "runs": [(run_manifest.read_or_none(run) or {}).get("config_hash") for run in spec["runs"]]}
    if spec.get("sources"):
        from profit_core.files import sha256_file
        from testbed.data import labels_path
        from training.gguf import read_provenance

        data = {(run_manifest.read_or_none(run) or {}).get("data", {}).get("path") for run in spec["runs"]}
        inputs.update(sources=spec["sources"],
                      labels={d: sha256_file(labels_path(d)) for d in sorted(filter(None, data))
                              if labels_path(d).is_file()},
                      provenance={n: read_provenance(f) for n, f in spec["bases"].items() if n in spec["sources"]})
    return _digest(inputs)


def _report_digest(spec: dict) -> str:
    """What the report is made from: the store's record files and token analysis, and the report's options."""
    from harness.store import Store

    store = Store(spec["store"])
    records = sorted(p.name for p in store.records.glob("*.json")) if store.records.is_dir() else []
    analysis = store.token_analysis_path
    return _digest({"records": records, "analysis": analysis.read_text() if analysis.is_file() else None,
                    "options": spec.get("options", {})})


def _mark(kind: str, spec: dict, digest: str) -> None:
    from harness.store import Store

    store = Store(spec["store"])
    store.put_pipeline_state({**store.pipeline_state(), kind: digest})


def _analysis(spec: dict) -> str:
    """The token analysis, redone only when the bases, the runs or the labels changed (the store keeps the digest)."""
    from harness.store import Store
    from testbed import analysis

    if _fresh("analysis", spec):
        return {"line": "token analysis unchanged"}
    digest = _analysis_digest(spec)
    bases = {name: Path(folder) for name, folder in spec["bases"].items()}
    runs = [Path(run) for run in spec["runs"]]
    Store(spec["store"]).put_token_analysis(analysis(bases, runs, sources=spec.get("sources")))
    _mark("analysis", spec, digest)
    return {"line": f"token analysis of {len(bases)} base(s) and {len(spec['runs'])} run(s)"}


def _report(spec: dict) -> str:
    """The report, redone only when the store's records or token analysis changed."""
    from harness.report.api import build_report

    if _fresh("report", spec):
        return {"line": "report unchanged"}
    digest = _report_digest(spec)
    report = build_report(spec["store"], spec["out"], **spec.get("options", {}))
    _mark("report", spec, digest)
    return {"line": f"{report.records} records -> {len(report.files)} files in {spec['out']}",
            "files": [str(f) for f in report.files]}


RUNNERS = {"base": _base, "train": _train, "eval": _eval, "analysis": _analysis, "report": _report}
