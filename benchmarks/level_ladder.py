"""How much thinking each level needs: mean, median and 90th-percentile tokens of the solver traces a model was
trained to imitate, per task and level. The eval issue's adaptive-compute bar asks a model's thinking at `high` to
rise with level; a model that follows its traces can only do that where the traces do, so this is the ladder the
bar stands on. Traces are written as the model's own SFT recipe writes them (its countdown trace mode, read from
its ponder.json), without slips, and counted in its tokenizer.

Writes benchmarks/results/level_ladder.json and .md. Reproduce with:
    python benchmarks/level_ladder.py --model ponder-tiny-sft --n 1000 --seed 11
"""

from __future__ import annotations

import argparse
import statistics
import sys

from ponder.model.checkpoint import load_checkpoint
from ponder.tasks import LEVELS
from ponder.train.sft import SFTConfig, trace_tasks
from results_io import RESULTS, write_results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ponder-tiny-sft", help="whose recipe and tokenizer (default shipped)")
    parser.add_argument("--n", type=int, default=1000, help="problems per task and level (default 1000)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", default=str(RESULTS / "level_ladder"), help="path stem of the results")
    args = parser.parse_args()
    if args.n < 2:
        parser.error("--n must be at least 2")
    _, tokenizer, meta, _ = load_checkpoint(args.model)
    config = meta.recipe.get("config")
    if meta.recipe.get("stage") != "sft" or not config:
        # a GRPO checkpoint records its RL config, not the trace options its SFT parent learned from
        parser.error(f"{args.model} records no SFT recipe in its ponder.json, so its trace mode is unknown "
                     "(for an RL model, pass the SFT model it started from)")
    # only the trace options matter here: the run's own init path need not exist on this machine
    tasks = trace_tasks(SFTConfig(**{**config, "init": None, "tasks": ["arithmetic", "countdown"]}))
    rows = []
    for name, task in tasks.items():
        for level in LEVELS:
            problems = task.sample_many(args.seed, level, args.n, split="train")
            lengths = sorted(len(tokenizer.encode(task.trace(p), add_special_tokens=False)) for p in problems)
            rows.append({"task": name, "level": level, "mean_tokens": round(statistics.mean(lengths), 1),
                         "sd_tokens": round(statistics.stdev(lengths), 1),
                         "median_tokens": statistics.median(lengths),
                         "p90_tokens": lengths[int(0.9 * (len(lengths) - 1))]})
            print(f"{name} level {level}: mean {rows[-1]['mean_tokens']} tokens", file=sys.stderr)
    doc = {"model": args.model, "seed": args.seed, "n": args.n,
           "command": "python benchmarks/level_ladder.py " + " ".join(sys.argv[1:]), "results": rows}
    table = markdown_table(doc)
    write_results(args.out, doc, table)
    print(table)
    return 0


def markdown_table(doc: dict) -> str:
    out = (f"Solver-trace tokens per level, as `{doc['model']}`'s recipe writes them (no slips), {doc['n']} training "
           f"problems per task and level (seed {doc['seed']}).\n\nCommand: `{doc['command']}`\n\n"
           "| task | level | mean | sd | median | 90th pct | mean / level below |\n|---|---|---|---|---|---|---|\n")
    previous = None
    for r in doc["results"]:
        same_task = previous is not None and previous["task"] == r["task"]
        ratio = f"{r['mean_tokens'] / previous['mean_tokens']:.2f}" if same_task else ""
        out += (f"| {r['task']} | {r['level']} | {r['mean_tokens']:.1f} | {r['sd_tokens']:.1f} | "
                f"{r['median_tokens']:g} | {r['p90_tokens']} | {ratio} |\n")
        previous = r
    return out


if __name__ == "__main__":
    sys.exit(main())
