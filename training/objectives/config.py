"""Configuration of the token-selective objectives, validated at construction so a bad run fails at start-up."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from profit_core import names

OBJECTIVES = ("sft", "profit", "dft", "entropy", "quantile")
STRATEGIES = ("higher", "lower", "middle", "random")
NORMALIZATIONS = ("global", "kept", "sequence")


@dataclass(frozen=True)
class ObjectiveConfig:
    """Which tokens of the reference answer get gradient, and how the sum is normalised.

    Every objective is a per-token weight on the cross-entropy of the reference token, computed from the model's
    own current (detached) probability p of that token, or from its predictive entropy.
    """

    objective: str = field(
        default="sft",
        metadata={
            "help": "sft: every supervised token, weight 1. profit: a hard gate on p (see strategy). "
            "dft: weight = p (Dynamic Fine-Tuning, arXiv 2508.05629). entropy: the top entropy_ratio of tokens by "
            "predictive entropy, per micro-batch (arXiv 2506.01939, adapted to SFT). quantile: the top `quantile` "
            "fraction of tokens by p, per micro-batch (an adaptive threshold; beyond the paper)."
        },
    )
    strategy: str = field(
        default="higher",
        metadata={
            "help": "profit only. higher: keep p >= tau (the method). lower: keep p <= tau. middle: keep "
            "tau <= p <= tau_high. random: drop each token with probability tau, keep it otherwise (this is what "
            "the authors' code does: tau=0.3 masks ~30% and keeps ~70%, whatever their README's wording)."
        },
    )
    tau: float = field(default=0.1, metadata={"help": "profit threshold in [0, 1] (the lower one for middle)."})
    tau_high: float = field(default=1.0, metadata={"help": "profit/middle: upper threshold in [tau, 1]."})
    entropy_ratio: float = field(
        default=0.2, metadata={"help": "entropy: fraction of supervised tokens kept, in (0, 1]; 0.2 as in 80/20."}
    )
    quantile: float = field(
        default=0.8, metadata={"help": "quantile: fraction of supervised tokens kept (highest p), in (0, 1]."}
    )
    normalization: str = field(
        default="",
        metadata={
            "help": "global: sum over kept tokens / all supervised tokens of the global batch (across gradient "
            "accumulation and ranks; the ProFit authors' code). kept: / kept tokens of each micro-batch, averaged "
            "over micro-batches (the 80/20 entropy code's token-mean over the selected tokens). sequence: "
            "per-sequence mean over its supervised tokens, then the mean over the sequences of the global batch "
            "(the paper's Eq. 5). Empty: the objective's own convention, kept for entropy and global for the "
            "others (docs/objectives.md, 'Which normalisation')."
        },
    )

    def __post_init__(self) -> None:
        def fail(msg: str) -> None:
            raise ValueError(f"objective config: {msg}")

        if self.objective not in OBJECTIVES:
            fail(f"unknown objective {self.objective!r}; choose one of {', '.join(OBJECTIVES)}")
        if self.strategy not in STRATEGIES:
            fail(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if not self.normalization:
            object.__setattr__(self, "normalization", names.default_normalization(self.objective))
        if self.normalization not in NORMALIZATIONS:
            fail(f"unknown normalization {self.normalization!r}; choose one of {', '.join(NORMALIZATIONS)}")
        for name in ("tau", "tau_high"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                fail(f"{name} must be a number in [0, 1], got {value!r}")
        if self.tau > self.tau_high:
            fail(f"tau ({self.tau}) must not exceed tau_high ({self.tau_high}) for the middle strategy")
        for name in ("entropy_ratio", "quantile"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 < float(value) <= 1.0:
                fail(f"{name} must be a number in (0, 1], got {value!r}")

    @property
    def needs_entropy(self) -> bool:
        return self.objective == "entropy"

    @property
    def needs_uniform(self) -> bool:
        return self.objective == "profit" and self.strategy == "random"

    @property
    def is_local(self) -> bool:
        """True when a token's weight depends on that token alone (not on a ranking over the micro-batch)."""
        return self.objective not in ("entropy", "quantile")

    def describe(self) -> str:
        """The method's one name (profit_core/names.py): sft, profit-higher-0.1, entropy-0.2, ..."""
        return names.slug(self.to_dict())

    def to_dict(self) -> dict:
        return asdict(self)
