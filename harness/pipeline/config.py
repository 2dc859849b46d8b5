"""The pipeline's YAML: one file describes the whole experiment grid. Checked before any work starts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from profit_core.errors import UserError
from training.objectives import ObjectiveConfig

from .builtins import BUILTINS
from .slurm import SlurmSettings

EXECUTORS = ("local", "slurm")


# Fields the pipeline sets for each run; a config may not.
PER_RUN = ("model", "output_dir", "seed", "objective", "base_model_name")
OBJECTIVE_FIELDS = {f.name for f in fields(ObjectiveConfig)}


@dataclass(frozen=True)
class Method:
    """One expanded `methods` entry: an objective, and the training fields it sets for its runs (a sweep)."""

    objective: ObjectiveConfig
    train: dict = field(default_factory=dict, hash=False)

    @property
    def label(self) -> str:
        settings = ",".join(f"{k}={v}" for k, v in sorted(self.train.items()))
        return self.objective.describe() + (f" [{settings}]" if settings else "")

    @property
    def folder(self) -> str:
        """The run folder's name below the base: the method's name, then each training field it sets."""
        return "_".join([self.objective.describe(), *(f"{k}-{v:g}" if isinstance(v, float) else f"{k}-{v}"
                                                       for k, v in sorted(self.train.items()))])


class PipelineConfigError(UserError):
    """A bad pipeline config; the message names the file and the field."""


def _f(default, help_text: str):
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help_text})
    return field(default=default, metadata={"help": help_text})


@dataclass
class BaseModel:
    name: str = _f("", "short label for tables and folder names, e.g. qwen3-0.6b-base.")
    path: str = _f("", "a local Hugging Face model folder; or leave empty and name a `builtin`.")
    builtin: str = _f("", f"a base the project builds offline on first use (cached): {', '.join(BUILTINS)}.")
    launcher: str = _f("", "this base's trainings' launcher (default: the pipeline's `launcher`), e.g. FSDP2 for "
                           "the bases DDP cannot fit.")
    train: dict = _f({}, "training fields for this base's runs only, over the shared `train` (e.g. loss_impl).")


@dataclass
class EvalTask:
    name: str = _f("", "an lm-eval task or group name from tasks/ (e.g. profit_testbed, profit_paper5).")
    limit: int | None = _f(None, "score only the first N documents of each task (None: all).")
    max_gen_toks: int | None = _f(None, "generation limit override (None: the task's own, the paper protocol).")


@dataclass
class EvalSettings:
    tasks: list = _f([], "tasks to score, each {name, limit}.")
    backend: str = _f("vllm", "vllm (in-process engine), vllm-server or hf.")
    sampling: str = _f("greedy", "sampling preset: greedy, paper (Qwen3/OLMo-2) or paper-llama (Llama-3.1).")
    seed: int = _f(1234, "sampling seed recorded in the store.")
    include_base: bool = _f(True, "also score each untrained base model (the paper's Vanilla rows).")
    engine: dict = _f({}, "extra engine settings passed through (e.g. tensor_parallel_size, gpu_memory_utilization).")
    output_path: str | None = _f(None, "also write lm-eval's own results and samples files there (profit eval "
                                       "--output-path; results/lm_eval is git-ignored); None: only the store.")


@dataclass
class ReportSettings:
    select_on: str = _f("", "a held-out task: the report also shows each method at its best training setting chosen "
                            "on it (for sweeps), never on the test split.")


@dataclass
class PipelineConfig:
    """One experiment: every field is documented in the README (Pipeline config)."""

    name: str = _f("experiment", "name shown in logs.")
    runs_dir: str = _f("runs", "where checkpoints go: <runs_dir>/<base>/<method>/seed<k>/.")
    store: str = _f("results/store", "results store of evaluation records.")
    report_dir: str = _f("results", "where tables and plots are written.")
    base_models: list = _f([], "base models, each {name, path} or {name, builtin: NAME} (builtins: "
                            + ", ".join(BUILTINS) + ").")
    train: dict = _f({}, "TrainConfig fields shared by every run (data, learning_rate, epochs, ...).")
    launcher: str = _f(
        "",
        "command prefix that runs each training in its own process group, e.g. `accelerate launch --config_file "
        "configs/accelerate/ddp.yaml` or `torchrun --nproc_per_node 8` (it gets `-m training.cli --config ...`); "
        "empty: train in this process.",
    )
    methods: list = _f(
        [],
        "objectives, each a mapping of ObjectiveConfig fields and, to sweep a training setting for that method, "
        "TrainConfig fields; a list value expands into one run per value (tau: [0.1, 0.3], learning_rate: "
        "[1e-4, 3e-4]).",
    )
    seeds: list = _f([0], "training seeds; every method runs once per seed.")
    eval: EvalSettings = field(default_factory=EvalSettings, metadata={"help": "what to score and how."})
    report: ReportSettings = field(default_factory=ReportSettings, metadata={"help": "report options."})
    reference: str = _f("", "a results store to compare this run's records with at the end (e.g. the committed "
                            "results): the run says how many it reproduced exactly.")
    executor: str = _f("local", f"where the jobs run: {', '.join(EXECUTORS)}.")
    workers: int = _f(0, "executor local: jobs at a time, each with its share of the cores (0: one per core).")
    slurm: SlurmSettings = field(default_factory=SlurmSettings, metadata={"help": "executor slurm: cluster settings."})
    token_analysis: bool = _f(
        False,
        "testbed bases, and bases whose runs train on rule-labelled data (a labels file beside it, e.g. "
        "data/gsm8k): write the store's token_analysis.json (the base's p of core vs trivial tokens, and what each "
        "run's loss trained on; the runs are trained with token_log: true).",
    )

    @staticmethod
    def from_yaml(path: str | Path) -> PipelineConfig:
        path = Path(path)
        if not path.is_file():
            raise PipelineConfigError(f"{path}: no such config file")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise PipelineConfigError(f"{path}: not valid YAML: {err}") from err
        return PipelineConfig.from_dict(raw, source=str(path))

    @staticmethod
    def from_dict(raw: dict, source: str = "config") -> PipelineConfig:
        def fail(msg: str):
            raise PipelineConfigError(f"{source}: {msg}")

        if not isinstance(raw, dict):
            fail("the top level must be a mapping")
        known = {f.name for f in fields(PipelineConfig)}
        for key in raw:
            if key not in known:
                fail(f"unknown field `{key}` (known: {', '.join(sorted(known))})")
        cfg = PipelineConfig(**{k: v for k, v in raw.items() if k not in ("eval", "slurm", "report")})
        cfg.report = _build(ReportSettings, raw.get("report") or {}, "report", fail)
        cfg.eval = _build(EvalSettings, raw.get("eval") or {}, "eval", fail)
        cfg.slurm = _build(SlurmSettings, raw.get("slurm") or {}, "slurm", fail)
        cfg.eval.tasks = [_build(EvalTask, t if isinstance(t, dict) else {"name": t}, "eval.tasks", fail)
                          for t in cfg.eval.tasks]
        cfg.base_models = [_build(BaseModel, b, "base_models", fail) for b in cfg.base_models]
        cfg.validate(fail)
        return cfg

    def validate(self, fail) -> None:
        if not self.base_models:
            fail("`base_models` is empty: name at least one ({name, path} or {name, builtin: testbed})")
        names = [b.name for b in self.base_models]
        for b in self.base_models:
            if not b.name:
                fail("every entry of `base_models` needs a `name`")
            if bool(b.path) == bool(b.builtin):
                fail(f"base model `{b.name}`: give exactly one of `path` or `builtin`")
            if b.builtin and b.builtin not in BUILTINS:
                fail(f"base model `{b.name}`: unknown builtin {b.builtin!r} (known: {', '.join(BUILTINS)})")
            if not isinstance(b.train, dict):
                fail(f"base model `{b.name}`: `train` must be a mapping of TrainConfig fields")
        if len(set(names)) != len(names):
            fail(f"`base_models` names must be unique, got {names}")
        if self.executor not in EXECUTORS:
            fail(f"`executor` must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if not isinstance(self.workers, int) or self.workers < 0:
            fail(f"`workers` must be 0 (one per core) or a positive integer, got {self.workers!r}")
        if self.slurm.eval_shards < 1:
            fail(f"`slurm.eval_shards` must be at least 1, got {self.slurm.eval_shards}")
        if not isinstance(self.seeds, list) or not self.seeds or not all(isinstance(s, int) for s in self.seeds):
            fail(f"`seeds` must be a non-empty list of integers, got {self.seeds!r}")
        if len(set(self.seeds)) != len(self.seeds):
            fail(f"`seeds` lists a seed twice ({self.seeds}); each seed trains once per method")
        if not isinstance(self.train, dict):
            fail("`train` must be a mapping of TrainConfig fields")
        for where, train in [("train", self.train)] + [(f"base_models {b.name}: train", b.train)
                                                        for b in self.base_models]:
            for key in PER_RUN:
                if key in train:
                    fail(f"`{where}.{key}` is set by the pipeline for each run; remove it")
        try:
            methods = self.methods_expanded()
        except (ValueError, TypeError) as err:
            fail(f"`methods`: {err}")
        seen = [(m.objective, tuple(sorted(m.train.items()))) for m in methods]
        if len(set(seen)) != len(seen):
            twice = next(m for m, key in zip(methods, seen) if seen.count(key) > 1)
            fail(f"`methods`: two entries expand to the same objective ({twice.label}); remove the duplicate")
        if self.eval.backend not in ("vllm", "vllm-server", "hf"):
            fail(f"`eval.backend` must be vllm, vllm-server or hf, got {self.eval.backend!r}")
        from harness.evaluate.sampling import PRESETS

        if self.eval.sampling not in PRESETS:
            fail(f"`eval.sampling` must be one of {', '.join(PRESETS)}, got {self.eval.sampling!r}")
        if self.eval.output_path is not None and (not isinstance(self.eval.output_path, str) or
                                                  not self.eval.output_path):
            fail(f"`eval.output_path` must be a folder path or null, got {self.eval.output_path!r}")
        for t in self.eval.tasks:
            if not t.name:
                fail("every entry of `eval.tasks` needs a `name`")
            for name in ("limit", "max_gen_toks"):
                value = getattr(t, name)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                    fail(f"`eval.tasks` {t.name}: {name} must be a positive integer or null, got {value!r}")

    def methods_expanded(self) -> list[Method]:
        """The methods with list values expanded (tau: [0.1, 0.3] -> two objectives; learning_rate: [1e-4, 3e-4] ->
        two runs of the same objective), in config order."""
        from training.config import TRAIN_FIELD_NAMES

        out = []
        for i, method in enumerate(self.methods):
            if not isinstance(method, dict) or "objective" not in method:
                raise ValueError(f"entry {i} must be a mapping with an `objective`, got {method!r}")
            unknown = sorted(set(method) - OBJECTIVE_FIELDS - TRAIN_FIELD_NAMES)
            if unknown:
                raise ValueError(f"entry {i}: unknown field(s) {', '.join(unknown)} (neither objective nor training)")
            per_run = sorted(set(method) & set(PER_RUN) - OBJECTIVE_FIELDS)
            if per_run:
                raise ValueError(f"entry {i}: {', '.join(per_run)} is set by the pipeline for each run")
            keys = list(method)
            values = [v if isinstance(v, list) else [v] for v in method.values()]
            for combo in itertools.product(*values):
                chosen = dict(zip(keys, combo))
                objective = ObjectiveConfig(**{k: v for k, v in chosen.items() if k in OBJECTIVE_FIELDS})
                out.append(Method(objective, {k: v for k, v in chosen.items() if k not in OBJECTIVE_FIELDS}))
        if not out:
            raise ValueError("no methods: list at least one objective")
        return out

    def base(self, name: str) -> BaseModel:
        return next(b for b in self.base_models if b.name == name)

    def launcher_for(self, base: str) -> str:
        return self.base(base).launcher or self.launcher

    def launcher_gpus(self, base: str) -> int:
        """GPUs a training of `base` asks a cluster for: the setting, else its launcher's process count."""
        if self.slurm.gpus_per_training is not None:
            return self.slurm.gpus_per_training
        launcher = self.launcher_for(base)
        if not launcher:
            return 0
        from training.memory import launch_from_launcher

        return launch_from_launcher(launcher).world_size

    @property
    def eval_gpus(self) -> int:
        return self.slurm.gpus_per_eval


def _build(cls, raw: Any, where: str, fail):
    if not isinstance(raw, dict):
        fail(f"`{where}` entries must be mappings, got {raw!r}")
    known = {f.name for f in fields(cls)}
    for key in raw:
        if key not in known:
            fail(f"unknown field `{where}.{key}` (known: {', '.join(sorted(known))})")
    return cls(**raw)
