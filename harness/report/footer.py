"""The leaderboard footer: how the cells were computed and under which settings, taken from the records."""

from __future__ import annotations

from collections import Counter, defaultdict

from harness.report.aggregate import Table
from harness.report.reported import CITATION
from harness.report.stats import LEVEL, seeds_needed

_SAMPLING_ORDER = ("temperature", "top_p", "top_k", "repeats", "max_gen_toks")


def _sampling_text(sampling: dict) -> str:
    keys = [k for k in _SAMPLING_ORDER if k in sampling]
    keys += sorted(k for k in sampling if k not in _SAMPLING_ORDER and k not in ("preset", "max_gen_toks_cut"))
    return ", ".join(f"{k} {sampling[k]}" for k in keys) or "not recorded"


def _counted(counter: Counter, total: int) -> str:
    if len(counter) == 1:
        return f"{next(iter(counter))} (all {total} records)"
    return ", ".join(f"{value} ({n} records)" for value, n in sorted(counter.items()))


def _versions(dicts: list[dict]) -> str:
    seen: dict[str, set] = defaultdict(set)
    for d in dicts:
        for name, version in d.items():
            seen[str(name)].add(str(version))
    return ", ".join(f"{name} {' / '.join(sorted(seen[name]))}" for name in sorted(seen)) or "not recorded"


def footer_lines(table: Table, reported: bool) -> list[str]:
    results = [r for row in table.rows for rs in row.results.values() for r in rs]
    cells = [c for row in table.rows for c in row.cells.values()]
    lines = ["Accuracy in %, mean ± standard error [lowest–highest seed]; nothing is bold: a best-of-column "
             "mark would call noise a winner."]
    if all(c.across_seeds for c in cells):
        lines.append("±: standard error across seeds (std of the per-seed scores / √n).")
    elif not any(c.across_seeds for c in cells):
        lines.append("±: the evaluator's item-level standard error (one seed per cell).")
    else:
        lines.append("±: across seeds (std of the per-seed scores / √n) where a cell pools 2 or more seeds, "
                     "else the evaluator's item-level standard error.")
    lines.append(f"▲ / ▼: above / below SFT on the same base at p < 0.05, over training seeds and questions "
                 f"({LEVEL:.0%} intervals and p-values of every cell in significance.csv); p ≥ 2/C(k+m, k) for k vs "
                 f"m runs, so a mark needs at least {seeds_needed()} runs per side.")
    if table.paper_avg:
        lines.append("Avg: unweighted mean of the five paper benchmarks, as in the paper; ± = √(Σ se²)/5. Δ vs SFT: "
                     "Avg minus the Avg of SFT on the same base model, ± = √(se² + se_SFT²).")
    else:
        lines.append("No Avg and no Δ column: the paper's Avg is the mean of its five benchmarks scored in full, and "
                     "this table does not hold all five (an average of other columns would mix what they measure).")
    by_bench: dict[str, list[str]] = defaultdict(list)
    for bench in table.benches:
        mine = [r for r in results if r.bench == bench]
        settings = sorted({_sampling_text(r.sampling) for r in mine})
        by_bench[" or ".join(settings)].append(bench.label)
    lines.append(f"Sampling (preset {table.preset or 'not recorded'}): "
                 + "; ".join(f"{', '.join(labels)}: {text}" for text, labels in by_bench.items()) + ".")
    sizes = []
    for bench in table.benches:
        docs = sorted({(r.n_docs, r.limit) for r in results if r.bench == bench}, key=str)
        texts = [f"{n if n is not None else '?'}" + (f" (limit {lim})" if lim is not None else "") for n, lim in docs]
        sizes.append(f"{bench.label} {' / '.join(texts)}")
    lines.append("Questions: " + ", ".join(sizes) + ".")
    cuts = sorted({(r.row.base, r.bench.label, r.sampling["max_gen_toks_cut"]["requested"], r.sampling["max_gen_toks"],
                    r.sampling["max_gen_toks_cut"]["engine_tokens"]) for r in results
                   if isinstance(r.sampling.get("max_gen_toks_cut"), dict)}, key=str)
    for base, label, requested, used, tokens in cuts:
        lines.append(f"Generation limit cut: {label} on {base} generated at most {used} tokens, not the task's "
                     f"{requested}: the model takes {tokens} tokens in all (its positions or the engine's bound).")
    templates = Counter((r.chat_template or "none recorded")[:12] for r in results)
    lines.append(f"Chat template sha256: {_counted(templates, len(results))}.")
    lines.append(f"Versions (evaluation): {_versions([r.versions for r in results])}; harness "
                 f"{' / '.join(sorted({r.harness_version or '?' for r in results}))}; backend "
                 f"{' / '.join(sorted({r.backend or '?' for r in results}))}.")
    trained = [r.run_versions for r in results if r.run_versions]
    if trained:
        lines.append(f"Versions (training): {_versions(trained)}.")
    hardware = Counter(str(r.hardware.get("gpu") or r.hardware.get("cpu") or "not recorded") for r in results)
    lines.append(f"Hardware: {_counted(hardware, len(results))}.")
    seeds = sorted({row.seeds for row in table.rows})
    checkpoints = len({r.content_hash for r in results})
    seed_text = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]} to {seeds[-1]}"
    lines.append(f"Seeds: {seed_text} per row; {len(results)} records of {checkpoints} checkpoints.")
    if reported:
        lines.append(f"Rows marked (reported): {CITATION}, as printed (no error bars given); their Δ vs SFT is "
                     "recomputed from the printed Avg.")
    lines.extend(f"Note: {note}." for note in table.notes)
    return lines
