"""The lean loss computed inside the output layer's own forward call, where its weight is whole under any sharding.

FSDP2 (`torch.distributed.fsdp.fully_shard`) keeps a parameter sharded except between the pre- and post-forward
hooks of the module group that owns it (and again in its backward); DeepSpeed ZeRO-3 does the same per module. So
the lean loss cannot read `lm_head.weight` after the model's forward has returned, as the plain loss reads the
logits. Fused linear cross-entropy kernels solve this by computing the loss inside the forward: Liger and TRL
replace the causal LM's forward (TRL gathers a DTensor head with `full_tensor()` when it is not unsharded there).
`LeanHead` goes one level lower: it replaces the forward of the output layer itself, the one call during which
every wrapper (single process, DDP, FSDP2 whatever the grouping, ZeRO-3) holds the weight whole. While a request is
armed, the output layer computes `lean_selective_loss` (the one lean implementation, which calls the one gate and
normalisation) from its input hidden states and its weight, and returns, in place of the logits, a zero-valued
tensor that carries the loss's gradient. The model's forward returns that tensor as `logits`, so the sharding
wrapper registers its pre-backward hooks on it as it would on the logits, and the weight's gradient accumulates
into the gathered (unsharded) parameter, which FSDP2 reduce-scatters into the shards after backward like any other
gradient. The loss value and the token statistics are read from this object, in full precision even when the
wrapper casts module outputs to 16 bits (accelerate's FSDP2 mixed-precision policy sets `output_dtype`).

Without a request the output layer is unchanged (generation, evaluation with logits). Models that transform the
logits after the output layer (final-logit softcapping, logit scaling) are not supported by the lean loss: the
carrier would pass through the transform, so the trainer refuses lean for them.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

import torch

from .config import ObjectiveConfig
from .lean import lean_selective_loss
from .loss import ObjectiveOutput


class LeanHead:
    """Arms an output layer (`lm_head`, an `nn.Linear`) to compute the lean loss inside its own forward.

        head = LeanHead(model.get_output_embeddings())       # once, before any wrapping or sharding
        with head.computing(labels, cfg, counts=counts, seq_ids=seq_ids):
            outputs = model(**inputs)                         # the output layer computes the loss here
        out = head.output(outputs.logits)                     # ObjectiveOutput; out.loss carries the gradient
    """

    def __init__(self, head: torch.nn.Module):
        if not isinstance(head, torch.nn.Linear):
            raise TypeError(f"the lean loss needs the output layer to be an nn.Linear, got {type(head).__name__} "
                            "(an adapter or a custom head would be skipped)")
        if isinstance(head.__dict__.get("forward"), _LeanForward):
            raise RuntimeError("this output layer already computes the lean loss (LeanHead applied twice)")
        self.head = head
        self._inner = head.forward  # the layer's own forward, called when no loss is requested
        self._request: dict | None = None
        self._result: ObjectiveOutput | None = None
        head.forward = _LeanForward(self)  # an instance attribute: nn.Module.__call__ runs it between the hooks

    def remove(self) -> None:
        """Give the output layer its own forward back."""
        if isinstance(self.head.__dict__.get("forward"), _LeanForward):
            del self.head.forward

    @contextlib.contextmanager
    def computing(self, labels: torch.Tensor, cfg: ObjectiveConfig, **kwargs):
        """For the model calls in this block, the output layer's next call computes
        `lean_selective_loss(hidden, weight, labels, cfg, bias=bias, **kwargs)` (kwargs: counts, seq_ids, generator,
        chunk_size) instead of the logits."""
        self._request = {"labels": labels, "cfg": cfg, **kwargs}
        self._result = None
        try:
            yield self
        finally:
            self._request = None

    def _forward(self, hidden: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        request, self._request = self._request, None  # one loss per request
        if request is None:
            return self._inner(hidden, *args, **kwargs)
        labels = request.pop("labels")
        if hidden.shape[:-1] != labels.shape:
            raise RuntimeError(f"the output layer got hidden states of shape {tuple(hidden.shape)} for labels of "
                               f"shape {tuple(labels.shape)}: pass it every position (logits_to_keep=0)")
        weight, bias = self.head.weight, self.head.bias
        if hasattr(weight, "full_tensor"):  # a DTensor: sharded here, so not inside its FSDP unit's forward
            raise RuntimeError("lm_head.weight is still sharded inside the output layer's forward; the lean loss "
                               "needs it gathered, as FSDP2 does for the module group that owns it")
        out = lean_selective_loss(hidden, weight, labels, request.pop("cfg"), bias=bias, **request)
        self._result = out
        return out.loss - out.loss.detach()  # zero, with the loss's gradient: what the model returns as logits

    def output(self, carrier: torch.Tensor) -> ObjectiveOutput:
        """The loss and statistics of the last request. `carrier` is what the model returned as logits: the
        gradient must flow through it (the sharding wrapper's backward hooks sit on it), the value is the loss's."""
        out, self._result = self._result, None
        if out is None:
            raise RuntimeError("the model's forward did not call its output layer, so no lean loss was computed")
        if carrier.numel() != 1:
            raise RuntimeError(f"the model returned logits of shape {tuple(carrier.shape)}, not the lean loss's "
                               "carrier; does its forward transform the output layer's result?")
        return replace(out, loss=out.loss.detach() + carrier.reshape(()).to(out.loss.dtype))


class _LeanForward:
    """The output layer's replacement forward (a class, so that a second LeanHead can recognise it)."""

    def __init__(self, owner: LeanHead):
        self.owner = owner

    def __call__(self, *args, **kwargs):
        return self.owner._forward(*args, **kwargs)
