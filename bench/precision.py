"""Training tokens/s of `profit train` on the real SmolLM2-135M-Instruct in bf16 against fp32, in one run.

    python bench/precision.py [--steps 6] [--batch 4] [--repeats 2]

The model is the pipeline's builtin `smollm2-135m-instruct` (converted once from the pip package's GGUF into
~/.cache/profit-bench), the data the 80 GSM8K training problems of configs/real-cpu.yaml. Each run is `profit train`
in a fresh process (SFT, cut-off 512, AdamW); tokens/s is the mean of the train log's `tokens_per_s` after the first
logged step (which pays for warm-up), peak memory the log's `peak_mem_mb`. Runs alternate, best of --repeats.
bf16 is mixed precision (fp32 master weights, bf16 autocast); on a CPU without native bf16 (no AVX512-BF16 / AMX)
PyTorch emulates it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cpu_bf16() -> bool:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return "avx512_bf16" in flags or "amx_bf16" in flags


def run(model: Path, precision: str, args, work: Path) -> dict:
    out = Path(tempfile.mkdtemp(dir=work)) / "run"
    cmd = [sys.executable, "-m", "harness.cli", "train", "--model", str(model), "--data",
           str(ROOT / "data/gsm8k/train_subset.jsonl"), "--objective.objective", "sft", "--precision", precision,
           "--max_steps", str(args.steps), "--per_device_batch_size", str(args.batch), "--cutoff_len", "512",
           "--logging_steps", "1", "--save_steps", "0", "--output_dir", str(out)]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    steps = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    steps = [s for s in steps if "tokens_per_s" in s][1:]
    return {"tokens_per_s": sum(s["tokens_per_s"] for s in steps) / len(steps),
            "peak_mem_mb": max(s["peak_mem_mb"] for s in steps)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    from harness.pipeline.builtins import BUILTINS

    model = BUILTINS["smollm2-135m-instruct"].build(True)
    work = Path(tempfile.mkdtemp(prefix="bench-precision-"))
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for precision in ("fp32", "bf16"):
            got = run(model, precision, args, work)
            if precision not in best or got["tokens_per_s"] > best[precision]["tokens_per_s"]:
                best[precision] = got
    print(f"SmolLM2-135M-Instruct, profit train sft, batch {args.batch}, cut-off 512, {args.steps} steps, best of "
          f"{args.repeats}; native bf16 on this CPU: {'yes' if cpu_bf16() else 'no'}")
    print("| precision | tokens/s | × fp32 | peak memory MB |")
    print("|---|---|---|---|")
    for precision in ("fp32", "bf16"):
        b = best[precision]
        print(f"| {precision} | {b['tokens_per_s']:.0f} | {b['tokens_per_s'] / best['fp32']['tokens_per_s']:.2f} | "
              f"{b['peak_mem_mb']:.0f} |")


if __name__ == "__main__":
    main()
