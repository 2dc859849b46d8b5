"""Expand a pipeline config into concrete work: base models, training runs, evaluations. No side effects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from training.config import ConfigError, TrainConfig
from training.objectives import ObjectiveConfig

from .config import PipelineConfig, PipelineConfigError


def method_slug(obj: ObjectiveConfig) -> str:
    """Folder name of an objective: sft, dft, entropy-0.2, quantile-0.8, profit-higher-0.1, profit-middle-0.1-0.5."""
    if obj.objective == "profit":
        parts = ["profit", obj.strategy, f"{obj.tau:g}"] + ([f"{obj.tau_high:g}"] if obj.strategy == "middle" else [])
    elif obj.objective == "entropy":
        parts = ["entropy", f"{obj.entropy_ratio:g}"]
    elif obj.objective == "quantile":
        parts = ["quantile", f"{obj.quantile:g}"]
    else:
        parts = [obj.objective]
    if obj.normalization != "global":
        parts.append(f"norm-{obj.normalization}")
    return "-".join(parts)


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
    from training.embedded import base_folder

    return {b.name: (base_folder() if b.embedded else Path(b.path)) for b in cfg.base_models}


def training_jobs(cfg: PipelineConfig, bases: dict[str, Path]) -> list[TrainJob]:
    """Every (base, objective, seed) run, each with a validated TrainConfig; a bad one fails here, before any work."""
    jobs = []
    for base, folder in bases.items():
        for obj in cfg.objectives():
            slug = method_slug(obj)
            for seed in cfg.seeds:
                out = Path(cfg.runs_dir) / base / slug / f"seed{seed}"
                values = {**cfg.train, "model": str(folder), "base_model_name": base, "objective": obj.to_dict(),
                          "seed": seed, "output_dir": str(out)}
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
