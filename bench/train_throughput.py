"""Training throughput of `profit train` against TRL's SFTTrainer, and ProFit's step time against SFT's.

    python bench/train_throughput.py [--rows 64] [--batch 4] [--accum 2] [--cutoff 512] [--repeats 2]

Same tiny Qwen3-shaped model, same data (single-turn chats of very different lengths), same batch, accumulation,
cut-off, optimizer and precision (fp32) for every contender. Each run is a fresh child process (so the peak
resident memory is its own); runs alternate and the best of `--repeats` is kept, because this machine is shared.
tokens/s counts real (non-padding) input tokens over the wall time of `trainer.train()`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONTENDERS = ("profit-sft", "profit-profit", "profit-sft-padded", "trl-sft")


def make_data(folder: Path, rows: int, seed: int = 0) -> Path:
    """Chats of 1 to 8 concatenated example problems: lengths vary ~8x, so padding matters."""
    pairs = []
    for line in (ROOT / "examples" / "openai.jsonl").read_text().splitlines():
        messages = json.loads(line)["messages"]
        pairs.append((messages[0]["content"], messages[1]["content"]))
    rng = random.Random(seed)
    path = folder / "data.jsonl"
    with path.open("w") as handle:
        for _ in range(rows):
            chosen = rng.sample(pairs, rng.randint(1, 8))
            question = "\n".join(q for q, _ in chosen)
            answer = "\n".join(a for _, a in chosen)
            handle.write(json.dumps({"messages": [{"role": "user", "content": question},
                                                  {"role": "assistant", "content": answer}]}) + "\n")
    return path


class Timer:
    """A TrainerCallback timing trainer.train() from its first to its last step."""

    def __init__(self):
        from transformers import TrainerCallback

        timer = self

        class _Callback(TrainerCallback):
            def on_train_begin(self, *args, **kwargs):
                timer.start = time.perf_counter()

            def on_train_end(self, *args, **kwargs):
                timer.seconds = time.perf_counter() - timer.start

        self.callback = _Callback()
        self.start = self.seconds = 0.0


def run_profit(args, objective: str, padding_free: bool = True) -> dict:
    from training.api import train
    from training.config import TrainConfig
    from training.data import ChatRenderer, build_dataset
    from training.model import load_tokenizer

    cfg = TrainConfig.from_dict({
        "model": args.model, "data": args.data, "output_dir": str(Path(args.work) / f"out-{objective}-{time.time()}"),
        "objective": {"objective": objective, "tau": 0.002}, "per_device_batch_size": args.batch,
        "gradient_accumulation_steps": args.accum, "cutoff_len": args.cutoff, "learning_rate": 1e-4,
        "warmup_ratio": 0.0, "epochs": 1.0, "save_steps": 0, "logging_steps": 1000, "seed": 0,
        "loss_impl": args.loss_impl, "padding_free": padding_free,
    })
    dataset, _ = build_dataset(cfg.data, ChatRenderer.choose(load_tokenizer(cfg)), cfg.cutoff_len,
                               show_progress=False)
    timer = Timer()
    train(cfg, callbacks=[timer.callback])
    tokens = sum(len(dataset[i]["input_ids"]) for i in range(len(dataset)))
    return {"tokens": tokens, "seconds": timer.seconds}


def run_trl(args) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    rows = [json.loads(line)["messages"] for line in Path(args.data).read_text().splitlines()]
    data = Dataset.from_list([{"prompt": m[:1], "completion": m[1:]} for m in rows])
    config = SFTConfig(
        output_dir=str(Path(args.work) / f"trl-{time.time()}"), per_device_train_batch_size=args.batch,
        gradient_accumulation_steps=args.accum, max_length=args.cutoff, learning_rate=1e-4, warmup_steps=0,
        lr_scheduler_type="cosine", num_train_epochs=1, seed=0, loss_type="nll", bf16=False, use_cpu=True,
        report_to="none", save_strategy="no", logging_steps=1000, dataloader_pin_memory=False,
    )
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype="float32", attn_implementation="sdpa")
    timer = Timer()
    trainer = SFTTrainer(model=model, args=config, train_dataset=data,
                         processing_class=AutoTokenizer.from_pretrained(args.model), callbacks=[timer.callback])
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    trainer.train()
    return {"tokens": tokens, "seconds": timer.seconds}


def step_times(args, repeats: int = 15) -> dict[str, float]:
    """Median forward+backward time of SFT and ProFit steps, interleaved on the same model and micro-batches.

    Interleaving makes a busy machine slow both alike, which separate runs cannot promise.
    """
    import statistics

    from training.config import TrainConfig
    from training.data import ChatRenderer, PackedCollator, build_dataset
    from training.model import load_model, load_tokenizer
    from training.objectives import ObjectiveConfig, lean_selective_loss, selective_loss

    cfg = TrainConfig.from_dict({"model": args.model, "data": args.data, "cutoff_len": args.cutoff})
    dataset, _ = build_dataset(cfg.data, ChatRenderer.choose(load_tokenizer(cfg)), cfg.cutoff_len,
                               show_progress=False)
    model = load_model(cfg)
    collate = PackedCollator()
    batches = [collate([dataset[i] for i in range(k, k + args.batch)]) for k in range(0, 4 * args.batch, args.batch)]
    # tau near the median p of the untrained tiny model (~1/512), so about half the tokens are kept
    objectives = {"sft": ObjectiveConfig("sft"), "profit": ObjectiveConfig("profit", tau=0.002)}
    times: dict[str, list[float]] = {name: [] for name in objectives}

    def step(objective, batch):
        batch = dict(batch)
        labels, seq_ids = batch.pop("labels"), batch.pop("seq_ids")
        if args.loss_impl == "lean":
            hidden = model.model(**batch).last_hidden_state
            loss = lean_selective_loss(hidden, model.lm_head.weight, labels, objective, seq_ids=seq_ids).loss
        else:
            loss = selective_loss(model(**batch).logits, labels, objective, seq_ids=seq_ids).loss
        loss.backward()
        model.zero_grad(set_to_none=True)

    for batch in batches[:1]:
        for objective in objectives.values():
            step(objective, batch)  # warm-up
    for _ in range(repeats):
        for batch in batches:
            for name, objective in objectives.items():
                start = time.perf_counter()
                step(objective, batch)
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def child(args) -> None:
    from profit_core.offline import go_offline

    go_offline()
    if args.child == "trl-sft":
        result = run_trl(args)
    else:
        result = run_profit(args, args.child.split("-")[1], padding_free=not args.child.endswith("-padded"))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--accum", type=int, default=2)
    parser.add_argument("--cutoff", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--loss_impl", default="plain")
    parser.add_argument("--child", choices=CONTENDERS)
    parser.add_argument("--model")
    parser.add_argument("--data")
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    import importlib.util

    spec = importlib.util.spec_from_file_location("make_tiny_model", ROOT / "examples" / "make_tiny_model.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    with tempfile.TemporaryDirectory() as work:
        model = maker.build(Path(work) / "model", hidden=args.hidden, layers=args.layers)
        data = make_data(Path(work), args.rows)
        best: dict[str, dict] = {}
        for repeat in range(args.repeats):
            for name in CONTENDERS:
                cmd = [sys.executable, __file__, "--child", name, "--model", str(model), "--data", str(data),
                       "--work", work, "--batch", str(args.batch), "--accum", str(args.accum),
                       "--cutoff", str(args.cutoff), "--loss_impl", args.loss_impl]
                env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
                done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
                lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
                if done.returncode != 0 or not lines:
                    sys.exit(f"{name} failed:\n{done.stderr[-4000:]}")
                result = json.loads(lines[-1][len("RESULT "):])
                result["tokens_per_s"] = result["tokens"] / result["seconds"]
                print(f"repeat {repeat} {name:<17} {result['tokens_per_s']:8.0f} tok/s  {result['seconds']:6.1f} s  "
                      f"peak RSS {result['peak_rss_mb']:6.0f} MB  tokens {result['tokens']}", flush=True)
                if name not in best or result["tokens_per_s"] > best[name]["tokens_per_s"]:
                    best[name] = result
        steps = step_times(argparse.Namespace(**{**vars(args), "model": str(model), "data": str(data)}))
    ours, trl, profit = best["profit-sft"], best["trl-sft"], best["profit-profit"]
    print(f"\nsetup: rows={args.rows} batch={args.batch} accum={args.accum} cutoff={args.cutoff} "
          f"model=Qwen3 hidden {args.hidden} x {args.layers} layers, loss_impl={args.loss_impl}, best of "
          f"{args.repeats}")
    print(f"profit train (sft) vs TRL SFTTrainer: {ours['tokens_per_s'] / trl['tokens_per_s']:.2f}x tokens/s, "
          f"peak RSS {ours['peak_rss_mb']:.0f} vs {trl['peak_rss_mb']:.0f} MB")
    padded = best["profit-sft-padded"]
    print(f"profit train padded (padding_free=false) vs TRL SFTTrainer: "
          f"{padded['tokens_per_s'] / trl['tokens_per_s']:.2f}x tokens/s")
    print(f"ProFit vs SFT whole runs (separate processes, noisy here): {profit['seconds'] / ours['seconds']:.3f}x "
          "time")
    print(f"ProFit vs SFT step time (interleaved forward+backward, median): {steps['profit'] / steps['sft']:.3f}x "
          f"({steps['profit'] * 1e3:.1f} vs {steps['sft'] * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
