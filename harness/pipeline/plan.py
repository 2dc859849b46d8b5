"""Expand a pipeline config into concrete work: base models, training runs, evaluations. No side effects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from profit_core.errors import UserError
from training.config import ConfigError, TrainConfig

from .builtins import BUILTINS
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
    """Each base's folder; a builtin's is where it is built (it may not be yet)."""
    folders = {}
    for b in cfg.base_models:
        try:
            folders[b.name] = BUILTINS[b.builtin].folder() if b.builtin else Path(b.path)
        except UserError as err:
            raise PipelineConfigError(f"base model `{b.name}`: {err}") from None
    return folders


def training_jobs(cfg: PipelineConfig, bases: dict[str, Path]) -> list[TrainJob]:
    """Every (base, objective, seed) run, each with a validated TrainConfig; a bad one fails here, before any work."""
    jobs = []
    for base, folder in bases.items():
        for method in cfg.methods_expanded():
            slug = method.folder
            for seed in cfg.seeds:
                name = f"{base}/{slug}/seed{seed}"
                out = Path(cfg.runs_dir) / name
                # Shared settings, then the base's, then the method's own (a sweep); the run's identity last.
                values = {**cfg.train, **cfg.base(base).train, **method.train, "model": str(folder),
                          "base_model_name": base, "objective": method.objective.to_dict(), "seed": seed,
                          "output_dir": str(out), "logging_dir": str(Path(cfg.runs_dir) / "tensorboard" / name)}
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
