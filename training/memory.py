"""The memory plan: an estimate of what one `profit train` run holds per device at its peak, checked before it starts.

It is an estimate, meant to err high: it counts every tensor class below at its largest and adds a reserve, so a
plan that fits should train, and one that does not is refused (`profit train` exits 2 naming a fix) before any
weight loads. Parameter counts are exact: the model is built from its config on the meta device (no memory), from
the model folder's config.json or, when the folder is not on this machine, from training/known_bases.py.

Notation, per device: P parameters (tied ones once), P_t trained parameters (P in full fine-tuning; the adapters in
LoRA, where the P frozen base weights stay, so P means P + P_t there), n processes, T tokens per micro-batch
(per_device_batch_size x cutoff_len: a packed row holds up to that many), L layers, h hidden size, q query width
(heads x head_dim), kv key/value width, I MLP width, V vocabulary. Bytes: w per stored weight (4 for fp32, and for
bf16/fp16 mixed precision, whose fp32 master weights are the parameters; 2 for bf16-pure), c per compute element
(4 for fp32, 2 otherwise). G = parameters unsharded at once under FSDP2/ZeRO-3: the output layer (accelerate
keeps it whole from forward to backward) plus two of the largest other units (a decoder layer or an untied input
embedding): the one computing and the one prefetched.

  weights      DDP:    P·w, plus P·c under mixed precision (autocast caches the 16-bit copy of each weight it
                       casts until the forward ends, and backward holds them)
               FSDP2:  P·w/n (master shards) + G·c (gathered in the compute dtype)
               ZeRO-3: P·(w + c)/n under mixed precision (DeepSpeed keeps a 16-bit partition beside the fp32 master
                       partition), P·w/n otherwise; + max(G, 1e9)·c (stage3_max_live_parameters' default)
  gradients    DDP:    P_t·w, doubled with more than one process (DDP's buckets copy them: transformers leaves
                       gradient_as_bucket_view off)
               FSDP2:  P_t·w/n + G·c·P_t/P (unsharded gradients before the reduce-scatter)
               ZeRO-3: P_t·c/n + G·c·P_t/P + 5e8·c (reduce_bucket_size's default)
  optimizer    P_t·s·b/k: s states (AdamW 2: exp_avg and exp_avg_sq; SGD 0), b bytes per state (the weights' w;
               1 for 8-bit optimizers), k = 1 under DDP, n sharded
  activations  per layer and token A = 2h·(r + 4) + (5h + 6q + kv + 4I)·c, r = bytes of the residual stream (w
               under DDP, whose forward reads the master weights themselves; c sharded). The terms: each RMSNorm's
               input and its float32 upcast; the inputs of the q/k/v and gate/up projections (autocast casts each
               separately), the q/k-norm inputs, the attention inputs with k and v repeated to the query width, its
               output and the o_proj input; the gate and up outputs, the activation and the down_proj input.
               Attention is sdpa/flash: no T² term. Without gradient checkpointing T·L·A; with it T·((L + 1)·h·r + A)
               (each layer's input, plus one layer recomputed in backward)
  loss logits  plain: T·V·16 (float32 logits, the supervised rows gathered from them, and the gradients of both;
               every token counted as supervised). lean: 512·V·12 (a chunk's float32 logits, probabilities and
               gradient) + V·h·4 + T·h·4 (the float32 gradients of the output weight and of the hidden states).
               The same under FSDP2, where lean runs inside lm_head's forward on the gathered weight (in G) and its
               float32 weight gradient is a whole [V x h] per device, cast to the compute dtype in backward (the
               unsharded gradient counted in G·c). lean is refused under ZeRO-3, so it is counted as plain there
  reserve      2 GB (CUDA context, cuBLAS and NCCL workspaces) + 10% of the rest (allocator fragmentation)

Sources: model states after ZeRO (Rajbhandari et al. 2020, §3.1: mixed-precision Adam keeps 2 + 2 + 12 = 16 bytes
per parameter, and stage 3 divides all of it by n); activations after Korthikanti et al. 2022 (§4.1: sum the
tensors each layer saves for backward, 34·s·b·h for a GPT layer, plus 5·a·s²·b for the attention scores, which
flash attention does not keep), recounted for these gated-MLP, grouped-query layers; the FSDP2 units and
mixed-precision policy from accelerate's fsdp2_prepare_model; the buckets from torch's DistributedDataParallel
(gradient_as_bucket_view); DeepSpeed's buffer defaults from its ZeRO config documentation.
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .config import ConfigError, TrainConfig
from .known_bases import lookup

log = logging.getLogger("profit.train")

GB = 10**9
STRATEGIES = ("ddp", "fsdp2", "zero3")
LAUNCHERS = {name: f"accelerate launch --config_file configs/accelerate/{name}.yaml" for name in STRATEGIES}
OFF = 0  # a device memory of 0 turns the check off (`--device-memory off`)
RESERVE_BYTES = 2 * GB
FRAGMENTATION = 0.10
LEAN_CHUNK = 512  # training/objectives/lean.py DEFAULT_CHUNK
PLAIN_LOGIT_BYTES = 16
ZERO3_MAX_LIVE_PARAMS = 10**9
ZERO3_REDUCE_BUCKET = 5 * 10**8
# (bytes per stored weight, bytes per compute element, what it means)
PRECISION_BYTES = {
    "fp32": (4, 4, "fp32 weights and compute"),
    "bf16": (4, 2, "mixed: fp32 master weights, bf16 autocast"),
    "fp16": (4, 2, "mixed: fp32 master weights, fp16 autocast"),
    "bf16-pure": (2, 2, "bf16 weights, gradients and optimizer state; no fp32 copy"),
}
SIZE_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
              "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


# ---- the model's shape -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelShape:
    """What the estimate reads from a model: counted on the meta device from its config."""

    name: str = field(metadata={"help": "the model folder's name or hub id."})
    params: int = field(metadata={"help": "all parameters, tied ones once (LoRA adapters not included)."})
    adapters: int = field(metadata={"help": "LoRA adapter parameters for the config's rank and targets (0: full)."})
    gathered: int = field(metadata={"help": "G: output layer + two of the largest other units (see the docstring)."})
    layers: int = field(metadata={"help": "L: decoder layers."})
    hidden: int = field(metadata={"help": "h: hidden size."})
    q_width: int = field(metadata={"help": "q: attention heads x head_dim."})
    kv_width: int = field(metadata={"help": "kv: key/value heads x head_dim."})
    intermediate: int = field(metadata={"help": "I: MLP width."})
    vocab: int = field(metadata={"help": "V: vocabulary size."})
    source: str = field(metadata={"help": "where the config came from (a config.json, or known_bases)."})


def model_shape(cfg: TrainConfig) -> ModelShape:
    """The shape of cfg.model, with cfg's LoRA adapters counted; ConfigError if its config cannot be had."""
    if not cfg.model:
        raise ConfigError("config field `model`: empty; the memory plan needs the model's config")
    lora = (cfg.lora_rank, cfg.lora_target) if cfg.finetuning == "lora" else (0, "")
    return _shape(cfg.model, *lora)


@functools.lru_cache(maxsize=32)
def _shape(model: str, lora_rank: int, lora_target: str) -> ModelShape:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    folder = Path(model)
    if (folder / "config.json").is_file():
        try:
            hf_config = AutoConfig.from_pretrained(folder)
        except (OSError, ValueError, KeyError) as err:
            raise ConfigError(f"config field `model`: {folder}/config.json does not load ({err})") from err
        source = str(folder / "config.json")
    else:
        fields_ = lookup(model)
        if fields_ is None:
            raise ConfigError(f"config field `model`: no config.json in {model!r}, and it is not one of the known "
                              "bases (training/known_bases.py), so its memory cannot be planned")
        model_type = fields_.pop("model_type")
        for name in ("architectures", "torch_dtype"):
            fields_.pop(name)
        hf_config = AutoConfig.for_model(model_type, **fields_)
        source = "training/known_bases.py"
    try:
        with torch.device("meta"):
            net = AutoModelForCausalLM.from_config(hf_config)
    except (ImportError, ValueError, TypeError, KeyError, RuntimeError) as err:
        raise ConfigError(f"config field `model`: {model} cannot be built on the meta device to count it ({err})") \
            from err
    text = hf_config.get_text_config()
    heads = text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    embedding = net.get_input_embeddings().weight
    head = net.get_output_embeddings()
    tied = head is not None and head.weight is embedding
    layer_classes = set(getattr(net, "_no_split_modules", None) or ())
    layer_sizes = [sum(p.numel() for p in m.parameters()) for m in net.modules() if type(m).__name__ in layer_classes]
    params = sum(p.numel() for p in net.parameters())
    largest = max([*layer_sizes, 0 if tied else embedding.numel()])
    return ModelShape(
        name=Path(model.rstrip("/")).name,
        params=params,
        adapters=_lora_params(net, lora_rank, lora_target) if lora_rank else 0,
        gathered=(head.weight.numel() if head is not None else 0) + 2 * largest,
        layers=text.num_hidden_layers,
        hidden=text.hidden_size,
        q_width=heads * head_dim,
        kv_width=(getattr(text, "num_key_value_heads", None) or heads) * head_dim,
        intermediate=getattr(text, "intermediate_size", None) or 4 * text.hidden_size,
        vocab=text.vocab_size,
        source=source,
    )


def _lora_params(net, rank: int, target: str) -> int:
    """r·(in + out) per adapted linear layer, matched as peft matches them (all-linear leaves the output layer out)."""
    import torch

    head = net.get_output_embeddings()
    names = None if target == "all-linear" else [t.strip() for t in target.split(",")]
    total = 0
    for name, module in net.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if names is None and module is head:
            continue
        if names is not None and not any(name == t or name.endswith(f".{t}") for t in names):
            continue
        total += rank * (module.in_features + module.out_features)
    return total


# ---- where the run is launched -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """How a run is spread over devices, as far as the memory plan cares."""

    strategy: str = field(metadata={"help": "ddp (also a single process), fsdp2 or zero3."})
    world_size: int = field(metadata={"help": "processes, one per device."})
    source: str = field(default="", metadata={"help": "where this was read from, for the printout."})

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy {self.strategy!r} is not one of {', '.join(STRATEGIES)}")
        if self.world_size < 1:
            raise ConfigError(f"world size must be at least 1, got {self.world_size}")

    def describe(self) -> str:
        if self.world_size == 1 and self.strategy == "ddp":
            return "a single process"
        name = {"ddp": "DDP", "fsdp2": "FSDP2", "zero3": "ZeRO-3"}[self.strategy]
        return f"{name} over {self.world_size} GPU{'s' if self.world_size > 1 else ''}"


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def launch_from_env(environ=None) -> Launch:
    """The launch this process runs under: WORLD_SIZE (torchrun, accelerate), ACCELERATE_USE_FSDP and
    ACCELERATE_USE_DEEPSPEED (with ACCELERATE_DEEPSPEED_ZERO_STAGE); none of them: a single process."""
    env = os.environ if environ is None else environ
    world = int(env.get("WORLD_SIZE") or 1)
    if _true(env.get("ACCELERATE_USE_FSDP")):
        return Launch("fsdp2", world, f"launch environment (FSDP{env.get('FSDP_VERSION', '')}, WORLD_SIZE={world})")
    if _true(env.get("ACCELERATE_USE_DEEPSPEED")):
        return _deepspeed(env.get("ACCELERATE_DEEPSPEED_ZERO_STAGE"), world, "launch environment")
    return Launch("ddp", world, f"launch environment (WORLD_SIZE={world})" if "WORLD_SIZE" in env else "")


def _deepspeed(stage, world: int, where: str) -> Launch:
    # ZeRO-1/2 shard less than ZeRO-3; counting them as DDP (nothing sharded) errs high, as the plan should.
    if str(stage) in ("1", "2"):
        return Launch("ddp", world, f"{where} (DeepSpeed ZeRO-{stage}, counted as DDP: an upper bound)")
    return Launch("zero3", world, f"{where} (DeepSpeed ZeRO-3)")


def launch_from_accelerate_config(path: str | Path) -> Launch:
    """Strategy and process count of an accelerate config file (configs/accelerate/*.yaml)."""
    try:
        values = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"accelerate config {path}: cannot read it ({err})") from err
    kind = str(values.get("distributed_type", "NO")).upper()
    world = int(values.get("num_processes") or 1)
    where = f"accelerate config {path}"
    if kind == "FSDP":
        return Launch("fsdp2", world, where)
    if kind == "DEEPSPEED":
        return _deepspeed((values.get("deepspeed_config") or {}).get("zero_stage", 3), world, where)
    return Launch("ddp", world if kind.startswith("MULTI") else 1, where)


def launch_from_launcher(launcher: str) -> Launch:
    """Strategy and process count of a launcher prefix as `profit pipeline` takes it: empty (in-process),
    `accelerate launch [--config_file F] [--num_processes N] [--use_fsdp | --use_deepspeed --zero_stage S]`, or
    `torchrun --nproc_per_node N [--nnodes M]`. Relative paths are read from the current folder."""
    words = shlex.split(launcher)
    flags = _flags(words)
    if not words:
        return Launch("ddp", 1, "in-process (no launcher)")
    if words[:2] == ["accelerate", "launch"]:
        if "config_file" in flags:
            base = launch_from_accelerate_config(flags["config_file"])
        else:
            from accelerate.commands.config import default_config_file

            base = launch_from_accelerate_config(default_config_file) if Path(default_config_file).is_file() \
                else Launch("ddp", 1)
        strategy, world = base.strategy, _count(flags.get("num_processes", base.world_size), "--num_processes")
        if "use_fsdp" in flags:
            strategy = "fsdp2"
        if "use_deepspeed" in flags:
            strategy = _deepspeed(flags.get("zero_stage", 3), world, "").strategy
        return Launch(strategy, world, f"launcher `{launcher}`")
    if words[0] == "torchrun" or "torch.distributed.run" in words:
        nodes = str(flags.get("nnodes", "1")).split(":")[-1]  # a range min:max counts as max
        world = _count(flags.get("nproc_per_node", 1), "--nproc_per_node") * _count(nodes, "--nnodes")
        return Launch("ddp", world, f"launcher `{launcher}`")
    raise ConfigError(f"launcher `{launcher}`: the memory plan knows accelerate launch and torchrun only")


def _flags(words: list[str]) -> dict[str, str]:
    """`--name value`, `--name=value` and bare `--name` (value "true"), names with - spelled _."""
    flags: dict[str, str] = {}
    for i, word in enumerate(words):
        if not word.startswith("--"):
            continue
        name, _, value = word[2:].partition("=")
        if not value:
            value = words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith("-") else "true"
        flags[name.replace("-", "_")] = value
    return flags


def _count(value, flag: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"launcher {flag} {value!r}: the memory plan needs a number of processes") from None


# ---- sizes -------------------------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """'80G', '80GB', '96GiB', '1M', '85899345920' -> bytes (K, M, G, T are powers of 1000; KiB... of 1024);
    'off' -> OFF (no check)."""
    raw = text.strip().upper().replace(" ", "")
    if raw == "OFF":
        return OFF
    number = raw.rstrip("KMGTIB")
    unit = raw[len(number):].removesuffix("B")
    try:
        value = float(number) * SIZE_UNITS[unit]
    except (ValueError, KeyError):
        raise ConfigError(f"--device-memory {text!r}: expected a size such as 80G, 96GiB or 1M (or off)") from None
    if value <= 0:
        raise ConfigError(f"--device-memory {text!r}: must be positive")
    return int(value)


def visible_device_memory() -> int | None:
    """Total memory of this process's GPU (LOCAL_RANK's under a launcher); None without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    index = int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count()
    return torch.cuda.get_device_properties(index).total_memory


def gb(n: float) -> str:
    return f"{n / GB:.1f} GB" if n >= GB / 10 else f"{n / 1e6:.1f} MB"


def _count_text(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 10**8 else f"{n / 1e6:.2f}M" if n >= 10**5 else f"{n:,}"


# ---- the estimate --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One line of the plan."""

    name: str = field(metadata={"help": "what is counted."})
    bytes: float = field(metadata={"help": "its estimated bytes per device."})
    how: str = field(metadata={"help": "the formula with this run's numbers."})


def optimizer_states(optim: str, weight_bytes: int) -> tuple[int, float]:
    """(states per trained parameter, bytes per state) of a transformers optimizer name."""
    name = optim.lower()
    states = 0 if name == "sgd" else 3 if "ademamix" in name else \
        1 if any(k in name for k in ("lion", "adafactor", "rmsprop", "adagrad")) else 2
    per_state = 0.5 if "4bit" in name else 1 if "8bit" in name else weight_bytes
    return states, per_state


def estimate(cfg: TrainConfig, shape: ModelShape, launch: Launch) -> list[Term]:
    """The terms of the plan, as the module docstring defines them."""
    w, c, _ = PRECISION_BYTES[cfg.precision]
    mixed = w != c
    n, strategy = launch.world_size, launch.strategy
    sharded = strategy != "ddp"
    p = shape.params + shape.adapters
    pt = shape.adapters if cfg.finetuning == "lora" else shape.params
    g = max(shape.gathered, ZERO3_MAX_LIVE_PARAMS) if strategy == "zero3" else shape.gathered
    P, Pt, G = _count_text(p), _count_text(pt), _count_text(g)

    if strategy == "ddp":
        weights = p * w + (p * c if mixed else 0)
        weights_how = f"{P} x {w} B" + (f" + {c} B autocast copy" if mixed else "")
        copies = 2 if n > 1 else 1
        grads = pt * w * copies
        grads_how = f"{Pt} x {w} B" + (" x 2 (DDP buckets)" if copies == 2 else "")
    else:
        stored = w + c if strategy == "zero3" and mixed else w
        weights = p * stored / n + g * c
        weights_how = f"{P} x {stored} B / {n} + {G} gathered x {c} B"
        grads = pt * (c if strategy == "zero3" else w) / n + g * c * pt / p
        grads_how = f"{Pt} x {c if strategy == 'zero3' else w} B / {n} + {G} gathered x {c} B" + \
            (f" x {pt / p:.2g} trained" if pt < p else "")
        if strategy == "zero3":
            grads += ZERO3_REDUCE_BUCKET * c
            grads_how += f" + reduce bucket 5e8 x {c} B"
    states, per_state = optimizer_states(cfg.optim, w)
    optimizer = pt * states * per_state / (n if sharded else 1)
    optimizer_how = f"{Pt} x {states} states x {per_state:g} B" + (f" / {n}" if sharded else "")

    tokens = cfg.per_device_batch_size * cfg.cutoff_len
    h, q, kv, i, L = shape.hidden, shape.q_width, shape.kv_width, shape.intermediate, shape.layers
    r = c if sharded else w
    per_layer = 2 * h * (r + 4) + (5 * h + 6 * q + kv + 4 * i) * c
    if cfg.gradient_checkpointing:
        activations = tokens * ((L + 1) * h * r + per_layer)
        activations_how = (f"{tokens} tokens x ({L + 1} layer inputs x {h} x {r} B + {per_layer / 1e3:.0f} kB of "
                           "the layer recomputed)")
    else:
        activations = tokens * L * per_layer
        activations_how = f"{tokens} tokens x {L} layers x {per_layer / 1e3:.0f} kB (no checkpointing)"

    lean = cfg.loss_impl == "lean" and strategy != "zero3"  # ZeRO-3 refuses lean
    if lean:
        chunk = min(LEAN_CHUNK, tokens)
        logits = chunk * shape.vocab * 12 + shape.vocab * h * 4 + tokens * h * 4
        logits_how = f"lean: {chunk} x {shape.vocab} x 12 B + output-weight and hidden gradients in float32"
    else:
        logits = tokens * shape.vocab * PLAIN_LOGIT_BYTES
        logits_how = f"plain: {tokens} x {shape.vocab} x {PLAIN_LOGIT_BYTES} B" + \
            (" (lean is refused under ZeRO-3)" if cfg.loss_impl == "lean" else "")

    terms = [Term("weights", weights, weights_how), Term("gradients", grads, grads_how),
             Term("optimizer state", optimizer, optimizer_how), Term("activations", activations, activations_how),
             Term("loss logits", logits, logits_how)]
    rest = sum(t.bytes for t in terms)
    terms.append(Term("reserve", RESERVE_BYTES + FRAGMENTATION * rest, "2 GB runtime + 10% fragmentation"))
    return terms


@dataclass
class MemoryPlan:
    """The estimate for one config and launch, against a device's memory when one is known."""

    config: TrainConfig = field(metadata={"help": "the training config planned for."})
    shape: ModelShape = field(metadata={"help": "the model's counted shape."})
    launch: Launch = field(metadata={"help": "strategy and world size planned for."})
    device_memory: int | None = field(metadata={"help": "bytes per device to fit in; None: no verdict."})
    terms: list[Term] = field(metadata={"help": "the estimate's lines (see the module docstring)."})

    @property
    def total(self) -> float:
        return sum(t.bytes for t in self.terms)

    @property
    def fits(self) -> bool | None:
        """True or False against device_memory; None when there is no target."""
        return None if self.device_memory is None else self.total <= self.device_memory

    def fix(self) -> str:
        """The first change that fits, least intrusive first: memory-only changes that train the same weights."""
        for label, launch, overrides in self._alternatives():
            try:
                plan = plan_for(_with(self.config, overrides), launch.strategy, launch.world_size, self.device_memory)
            except ConfigError:  # a change this config does not allow (lean with an adapter on lm_head)
                continue
            if plan.fits:
                return f"{label} needs {gb(plan.total)}" + _how_to(self.launch, launch, overrides)
        widest = Launch("fsdp2", max(self.launch.world_size, 8))
        try:
            leanest = _with(self.config, {"gradient_checkpointing": True, "loss_impl": "lean"})
        except ConfigError:  # lean with an adapter on lm_head
            leanest = _with(self.config, {"gradient_checkpointing": True, "loss_impl": "plain"})
        best = plan_for(leanest, widest.strategy, widest.world_size)
        how = " and loss_impl: lean" if leanest.loss_impl == "lean" else ""
        return (f"nothing tried fits; FSDP2 over {widest.world_size} GPUs with gradient checkpointing{how} needs "
                f"{gb(best.total)}: use more or larger GPUs, LoRA, or a shorter cutoff_len")

    def _alternatives(self):
        cfg, launch = self.config, self.launch
        changes = []
        if not cfg.gradient_checkpointing:
            changes.append(("gradient_checkpointing: true", launch, {"gradient_checkpointing": True}))
        if launch.strategy in ("ddp", "fsdp2") and cfg.loss_impl == "plain":
            changes.append(("loss_impl: lean", launch, {"loss_impl": "lean"}))
            if not cfg.gradient_checkpointing:
                changes.append(("gradient checkpointing and loss_impl: lean", launch,
                                {"gradient_checkpointing": True, "loss_impl": "lean"}))
        world = launch.world_size if launch.world_size > 1 else 8
        for strategy in ("fsdp2", "zero3"):
            if strategy == launch.strategy and world == launch.world_size:
                continue
            other = Launch(strategy, world)
            loss = {"loss_impl": "plain"} if strategy == "zero3" else {}  # FSDP2 runs either loss
            changes.append((other.describe(), other, loss))
            if not cfg.gradient_checkpointing:
                changes.append((f"{other.describe()} with gradient checkpointing", other,
                                {**loss, "gradient_checkpointing": True}))
        return changes

    def lines(self) -> list[str]:
        """A readable table and the verdict."""
        cfg, shape = self.config, self.shape
        trained = shape.adapters if cfg.finetuning == "lora" else shape.params
        out = [
            f"memory plan (an estimate, per device): {shape.name}, {_count_text(shape.params)} parameters, "
            f"{_count_text(trained)} trained ({cfg.finetuning}); shape from {shape.source}",
            f"  {self.launch.describe()}" + (f" (from {self.launch.source})" if self.launch.source else ""),
            f"  precision {cfg.precision} ({PRECISION_BYTES[cfg.precision][2]}), "
            f"{cfg.per_device_batch_size * cfg.cutoff_len} tokens per micro-batch, gradient checkpointing "
            f"{'on' if cfg.gradient_checkpointing else 'off'}, loss_impl {cfg.loss_impl}, optim {cfg.optim}",
        ]
        out += [f"  {t.name:<16}{gb(t.bytes):>10}   {t.how}" for t in self.terms]
        out.append(f"  {'total':<16}{gb(self.total):>10}")
        if self.fits is None:
            out.append("  no target memory (no GPU visible, no --device-memory): estimate only")
        elif self.fits:
            out.append(f"  fits {gb(self.device_memory)} per device ({gb(self.device_memory - self.total)} spare)")
        else:
            out.append(f"  does NOT fit {gb(self.device_memory)} per device; {self.fix()}")
        return out

    def refusal(self) -> str:
        """The one-line message a run that cannot fit stops with."""
        return (f"memory plan: needs {gb(self.total)} per GPU under {self.launch.describe()}, more than "
                f"{gb(self.device_memory)}; {self.fix()} (an estimate: `profit train --dry-run` prints the table; "
                "--device-memory off skips the check)")


def _with(cfg: TrainConfig, overrides: dict) -> TrainConfig:
    return TrainConfig.from_dict({**cfg.to_dict(), **overrides})


def _how_to(current: Launch, launch: Launch, overrides: dict) -> str:
    if launch == current:
        return f": set {', '.join(f'{k}: {str(v).lower()}' for k, v in overrides.items())}"
    settings = [f"{k}: {str(v).lower()}" for k, v in overrides.items()]
    return (f": use launcher `{LAUNCHERS[launch.strategy]}` (num_processes: {launch.world_size})" +
            (f" with {', '.join(settings)}" if settings else ""))


def plan_for(config: TrainConfig, strategy: str | None = None, world_size: int | None = None,
             device_memory: int | None = None, source: str = "") -> MemoryPlan:
    """The memory plan of `config` under a strategy (ddp, fsdp2, zero3) and world size, against device_memory
    bytes (None: no verdict). Strategy or world size left None are read from the launch environment."""
    env = launch_from_env()
    launch = Launch(strategy or env.strategy, world_size or env.world_size,
                    source or ("" if strategy or world_size else env.source))
    shape = model_shape(config)
    return MemoryPlan(config, shape, launch, device_memory or None, estimate(config, shape, launch))


def check(config: TrainConfig, device_memory: int | None = None) -> MemoryPlan | None:
    """Refuse (ConfigError) a run whose plan cannot fit this launch. The target is device_memory, else the visible
    GPU's total memory; with neither, with OFF, or when the model cannot be counted, there is nothing to check
    (None)."""
    target = device_memory if device_memory is not None else visible_device_memory()
    if not target:
        return None
    try:
        plan = plan_for(config, device_memory=target)
    except ConfigError as err:  # no plan is no verdict: loading the model reports a broken one in its own words
        log.warning("memory plan: not available (%s)", err)
        return None
    if int(os.environ.get("RANK", "0")) == 0:
        log.info("%s", "\n".join(plan.lines()))
    if not plan.fits:
        raise ConfigError(plan.refusal())
    return plan
