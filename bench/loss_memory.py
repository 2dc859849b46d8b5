"""Loss benchmark: peak memory and time of forward + backward at a Qwen-size vocabulary, on CPU.

Variants (each in a fresh process, so peak RSS is its own):
  lean      our ProFit from hidden states + output weight, chunked (training.objectives.lean_selective_loss)
  plain     our ProFit from full logits (training.objectives.selective_loss), the reference path
  authors   the authors' code path: full float32 logits, full softmax, gather, re-masked cross-entropy (sum / N)
  ce        plain cross-entropy on full logits (torch.nn.functional.cross_entropy), the speed peer

Peak memory is the process's peak RSS minus its RSS once the inputs (hidden, weight) exist, so it counts what the
loss itself adds (logits, softmax, gradients of hidden and weight). Time is the median of --repeats runs.

    python bench/loss_memory.py                      # V=151936, H=1024, 4096 tokens (the issue's setting)
    python bench/loss_memory.py --tokens 512         # a quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("lean", "plain", "authors", "ce")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_variant(variant: str, tokens: int, hidden: int, vocab: int, tau: float, chunk: int, repeats: int) -> dict:
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, str(ROOT))
    from training.objectives import ObjectiveConfig, lean_selective_loss, selective_loss

    torch.manual_seed(0)
    h = (torch.randn(1, tokens, hidden) / hidden**0.25).requires_grad_()
    w = (torch.randn(vocab, hidden) / hidden**0.25).requires_grad_()
    with torch.no_grad():  # about half the reference tokens are the model's favourite (high p), half random
        labels = torch.randint(0, vocab, (1, tokens))
        fav = torch.cat([(h[0, i : i + 256] @ w.T).argmax(-1) for i in range(0, tokens, 256)])
        labels[0, ::2] = fav[::2]
        labels = torch.roll(labels, 1, dims=1)  # label i+1 is predicted at position i
        labels[0, 0] = -100
    cfg = ObjectiveConfig("profit", tau=tau)

    def step():
        h.grad = w.grad = None
        if variant == "lean":
            loss = lean_selective_loss(h, w, labels, cfg, chunk_size=chunk).loss
        elif variant == "plain":
            loss = selective_loss(h @ w.T, labels, cfg).loss
        elif variant == "authors":
            logits = (h @ w.T).float()[0, :-1]
            targets = labels[0, 1:]
            probs = torch.softmax(logits, dim=-1)
            p = probs.gather(-1, targets.clamp(min=0)[:, None]).squeeze(-1).detach()
            masked = torch.where(p < tau, torch.full_like(targets, -100), targets)
            loss = F.cross_entropy(logits, masked, ignore_index=-100, reduction="sum") / (targets != -100).sum()
        else:
            logits = (h @ w.T)[0, :-1]
            loss = F.cross_entropy(logits, labels[0, 1:], ignore_index=-100)
        loss.backward()
        return float(loss)

    base = rss_mb()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {"variant": variant, "seconds": statistics.median(times), "peak_mb": peak_mb() - base}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=4096, help="supervised tokens (default 4096)")
    ap.add_argument("--hidden", type=int, default=1024, help="hidden size (default 1024)")
    ap.add_argument("--vocab", type=int, default=151936, help="vocabulary (default 151936, Qwen3)")
    ap.add_argument("--tau", type=float, default=0.1, help="ProFit threshold (default 0.1)")
    ap.add_argument("--chunk", type=int, default=512, help="lean path chunk size in tokens (default 512)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per variant (default 3)")
    ap.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # internal: one variant, JSON out
    args = ap.parse_args()
    if args.variant:
        result = run_variant(args.variant, args.tokens, args.hidden, args.vocab, args.tau, args.chunk, args.repeats)
        print(json.dumps(result))
        return 0

    results = {}
    for variant in VARIANTS:
        cmd = [sys.executable, __file__, "--variant", variant] + [
            f"--{k}={v}" for k, v in vars(args).items() if k != "variant" and v is not None
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[variant] = json.loads(out.strip().splitlines()[-1])
        r = results[variant]
        print(f"{variant:8s} {r['seconds']:8.2f} s  peak +{r['peak_mb']:8.0f} MB", flush=True)
    lean, authors, ce = results["lean"], results["authors"], results["ce"]
    print(f"\nV={args.vocab} H={args.hidden} tokens={args.tokens} chunk={args.chunk} tau={args.tau}")
    print(f"lean peak memory / authors' approach: {lean['peak_mb'] / authors['peak_mb']:.3f}  (goal <= 0.25)")
    print(f"lean time / plain cross-entropy:      {lean['seconds'] / ce['seconds']:.3f}  (goal <= 1.25)")
    print(f"plain ProFit time / plain cross-entropy: {results['plain']['seconds'] / ce['seconds']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
