"""`profit eval`: score checkpoints on benchmarks with vLLM (or hf) + lm-eval, filling the results store."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from harness.evaluate.backends import BACKENDS
from harness.evaluate.sampling import PRESETS

EXAMPLES = """\
examples:
  profit eval runs/profit-tau0.1 --tasks profit_paper5 --sampling paper
  profit eval ckpt_a ckpt_b --tasks profit_gsm8k --backend vllm-server --limit 20
  profit eval runs/* --tasks profit_paper5 --shard 2/8          # worker 2 of 8, no coordination needed
  profit eval runs/lora-adapter --tasks profit_gsm8k            # a PEFT adapter, on its base, unmerged
  profit eval runs/sft --tasks profit_gsm8k --output-path results/lm_eval   # + lm-eval's own result files
  PROFIT_ONLINE=1 profit eval Qwen/Qwen3-0.6B --tasks profit_gsm8k         # a hub id, fetched into the HF cache
  profit eval --list
"""


def _size(text: str) -> int:
    """'512M', '2G' or bytes."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().removesuffix("ib").removesuffix("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def _limit(text: str) -> int | float:
    """A whole number of docs >= 1 or a fraction in (0, 1), refused here, before any engine starts."""
    from harness.evaluate.api import check_limit
    from profit_core.errors import UserError

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    try:
        return check_limit(value, "--limit")
    except UserError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _engine_arg(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--engine-arg wants KEY=VALUE, got {text!r}")
    import yaml

    return key.replace("-", "_"), yaml.safe_load(value)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="profit eval", description=__doc__, epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="*",
                   help="Hugging Face model folders (training output or a base model), PEFT adapter folders "
                        "(scored on their base, unmerged), or hub ids org/name (offline: an error says what to "
                        "download; PROFIT_ONLINE=1 fetches them into the HF cache)")
    p.add_argument("--base", default=None, metavar="MODEL",
                   help="base model of the adapter checkpoints (default: each adapter's base_model_name_or_path)")
    p.add_argument("--tasks", default="profit_paper5", help="comma-separated tasks or groups (default: profit_paper5)")
    p.add_argument("--backend", choices=BACKENDS, default="vllm",
                   help="vllm: engine in this process; vllm-server: `vllm serve` on 127.0.0.1 + HTTP client; "
                        "hf: transformers, for machines without vLLM")
    p.add_argument("--sampling", choices=list(PRESETS), default="greedy",
                   help="paper: T=0.7 top-p 0.8 top-k 20, 8 samples (AIME'24 32), long limits; greedy: T=0, 1 sample")
    p.add_argument("--store", type=Path, default=Path("results/store"), help="results store folder")
    p.add_argument("--output-path", type=Path, default=None, metavar="DIR",
                   help="also write lm-eval's own results_*.json and samples_*.jsonl per checkpoint there (as "
                        "`lm_eval --output_path DIR --log_samples`), cached records too; results/lm_eval is "
                        "git-ignored: never commit profit_gpqa_diamond samples")
    p.add_argument("--limit", type=_limit, default=None, help="score only the first N docs (or a fraction < 1)")
    p.add_argument("--seed", type=int, default=1234, help="sampling and few-shot seed, recorded")
    p.add_argument("--shard", default=None, metavar="i/N", help="run only work items whose key hash mod N is i")
    p.add_argument("--max-gen-toks", type=int, default=None, help="override every task's generation limit")
    p.add_argument("--repeats", type=int, default=None, help="override the preset's samples per problem")
    p.add_argument("--no-chat-template", action="store_true", help="send raw prompts (the chat template is default)")
    p.add_argument("--include-path", action="append", default=[], help="extra lm-eval task folder (repeatable)")
    g = p.add_argument_group("engine (CPU defaults are picked automatically)")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    g.add_argument("--dtype", default="auto")
    g.add_argument("--max-model-len", type=int, default=None, help="CPU default 4096")
    g.add_argument("--kv-cache", type=_size, default=None, metavar="SIZE", help="KV cache, e.g. 512M")
    g.add_argument("--tensor-parallel-size", type=int, default=1)
    g.add_argument("--data-parallel-size", type=int, default=1)
    g.add_argument("--gpu-memory-utilization", type=float, default=None)
    g.add_argument("--batch-size", default="auto")
    g.add_argument("--port", type=int, default=None, help="vllm-server port (default: a free one)")
    g.add_argument("--health-timeout", type=float, default=300.0, help="seconds vllm-server may take to start")
    g.add_argument("--engine-arg", type=_engine_arg, action="append", default=[], metavar="KEY=VALUE",
                   help="any other vLLM engine argument (repeatable)")
    p.add_argument("--list", action="store_true", help="print what the store holds and exit")
    p.add_argument("--dry-run", action="store_true", help="print this shard's work items (stored or not) and exit")
    return p


def list_store(root: Path) -> int:
    from harness.store import Store

    store = Store(root).check()
    if not store.records.is_dir():
        print(f"no store at {root}")
        return 0
    rows = list(store.iter_records())
    print(f"{'key':<24}  {'model':<28} {'task':<22} {'sampling':<8} {'n':>5} {'metric':<24} {'value':>7}  "
          f"{'backend':<11} created")
    for r in sorted(rows, key=lambda r: (r["model"].get("label", ""), r["task"]["name"], r.get("created", ""))):
        metric = r["primary_metric"]
        n = len(r.get("per_doc", {}).get("doc_ids", []))
        print(f"{r['key']:<24}  {str(r['model'].get('label', ''))[:28]:<28} {r['task']['name'][:22]:<22} "
              f"{str(r['sampling'].get('preset', ''))[:8]:<8} {n:>5} {metric[:24]:<24} "
              f"{r['metrics'][metric]['value']:>7.4f}  {str(r.get('backend', ''))[:11]:<11} {r.get('created', '')}")
    busy = store.in_progress()
    now = f"; {len(busy)} being computed now: {', '.join(busy)}" if busy else ""
    print(f"{len(rows)} record(s) in {root}{now}")
    _say_set_aside(store)
    return 0


def _say_set_aside(store) -> None:
    for line in store.set_aside:
        print(f"set aside: {line}", file=sys.stderr)


def _terminate(signum, frame):
    # SystemExit unwinds through every `finally`/`with`, so the server and engine are stopped on the way out.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    from profit_core.errors import run_command

    return run_command("profit eval", _main, argv)


def _main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.list:
        return list_store(args.store)
    if not args.checkpoints:
        parser().error("give at least one checkpoint folder (or --list)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    signal.signal(signal.SIGTERM, _terminate)
    engine = {"device": args.device, "dtype": args.dtype, "max_model_len": args.max_model_len,
              "kv_cache_memory_bytes": args.kv_cache, "tensor_parallel_size": args.tensor_parallel_size,
              "data_parallel_size": args.data_parallel_size, "gpu_memory_utilization": args.gpu_memory_utilization,
              "batch_size": args.batch_size, "health_timeout_s": args.health_timeout, **dict(args.engine_arg)}
    common = dict(sampling=args.sampling, seed=args.seed, limit=args.limit, shard=args.shard,
                  include_paths=args.include_path, max_gen_toks=args.max_gen_toks, repeats=args.repeats,
                  apply_chat_template=not args.no_chat_template, base=args.base)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    from harness.evaluate.api import evaluate, plan
    from harness.serve.server import ServerError
    from harness.store import Store

    if args.dry_run:
        items, _ = plan(args.checkpoints, tasks, **common)
        store = Store(args.store).check()
        for it in items:
            state = "stored" if store.has(it.key) else "todo"
            print(f"{it.key}  {state:<6}  {it.ckpt.label}  {it.info.name}")
        _say_set_aside(store)
        return 0
    try:
        records = evaluate(args.checkpoints, tasks, backend=args.backend, store=args.store, engine_kwargs=engine,
                           port=args.port, output_path=args.output_path, **common)
    except ServerError as e:
        print(f"profit eval: error: {e}", file=sys.stderr)
        return 2
    for r in records:
        m = r["primary_metric"]
        print(f"{r['model']['label']:<28} {r['task']['name']:<22} {m} = {r['metrics'][m]['value']:.4f}")
    return 0
