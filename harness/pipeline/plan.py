"""Expand a pipeline config into concrete work: base models, training runs, evaluations. No side effects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from training.config import ConfigError, TrainConfig

from .config import PipelineConfig, PipelineConfigError


@dataclass(frozen=True)
class TrainJob:
    base: str
    slug: str
    seed: int
    config: TrainConfig

    @property
    def out(self) -> Path:
        return Path(self.config.output_dir)

    @property
    def name(self) -> str:
        return f"{self.base}/{self.slug}/seed{self.seed}"


def base_folders(cfg: PipelineConfig) -> dict[str, Path]:
    from testbed import base_folder

    return {b.name: (base_folder() if b.builtin == "testbed" else Path(b.path)) for b in cfg.base_models}


def training_jobs(cfg: PipelineConfig, bases: dict[str, Path]) -> list[TrainJob]:
    """Every (base, objective, seed) run, each with a validated TrainConfig; a bad one fails here, before any work."""
    jobs = []
    for base, folder in bases.items():
        for obj in cfg.objectives():
            slug = obj.describe()
            for seed in cfg.seeds:
                out = Path(cfg.runs_dir) / base / slug / f"seed{seed}"
                values = {**cfg.train, "model": str(folder), "base_model_name": base, "objective": obj.to_dict(),
                          "seed": seed, "output_dir": str(out)}
                if cfg.token_analysis:
                    values["token_log"] = True
                try:
                    config = TrainConfig.from_dict(values)
                except ConfigError as err:
                    raise PipelineConfigError(f"`train` for {base}/{slug}/seed{seed}: {err}") from err
                jobs.append(TrainJob(base, slug, seed, config))
    names = [j.name for j in jobs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PipelineConfigError(f"`methods`: two methods would train into the same folder ({twice[0]})")
    return jobs
