"""What RL added: greedy held-out accuracy of the RL model against its SFT parent, each at its own `high` effort,
per task and level; the issue's figure is the mean over levels 4-5 of both tasks.

Writes benchmarks/results/grpo_gain.json and .md. The RL model is a name or a checkpoint folder; the committed
figures were measured on the run's final checkpoint (not shipped: it did not beat its parent). Reproduce them with:
    ponder train grpo --init ponder-tiny-sft --out runs/grpo-sft2 --steps 100
    python benchmarks/grpo_gain.py --model runs/grpo-sft2/final --parent ponder-tiny-sft --n 100 --seed 1
"""

from __future__ import annotations

import argparse
import sys

from ponder.eval.grid import run_grid
from ponder.model.checkpoint import CheckpointError, load_checkpoint
from results_io import RESULTS, write_results

TASKS = ("arithmetic", "countdown")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ponder-tiny", help="the RL model (default ponder-tiny)")
    parser.add_argument("--parent", default=None, help="its SFT parent (default: the parent in its ponder.json)")
    parser.add_argument("--n", type=int, default=100, help="problems per task and level (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="problem seed, test split (default 1)")
    parser.add_argument("--out", default=str(RESULTS / "grpo_gain"), help="path stem of the result files")
    args = parser.parse_args()
    try:
        child = load_checkpoint(args.model)
        parent_name = args.parent or child[2].parent
        if not parent_name:
            parser.error(f"{args.model} names no parent; pass --parent")
        parent = load_checkpoint(parent_name)
    except CheckpointError as e:
        parser.error(str(e))
    results = {}
    for name, (model, tok, meta, _) in ((parent_name, parent), (args.model, child)):
        settings = {"high": meta.efforts["high"]}
        print(f"{name}: high = {settings['high']} thinking tokens", file=sys.stderr, flush=True)
        rows = run_grid(model, tok, TASKS, range(1, 6), settings, args.n, args.seed,
                        answer_budget=meta.answer_budget,
                        on_cell=lambda r, name=name: print(f"{name:16s} {r.task:10s} L{r.level} {r.accuracy:6.1%} "
                                                           f"think {r.mean_thinking_tokens:5.0f}", file=sys.stderr,
                                                           flush=True))
        results[name] = [r.to_dict() for r in rows]

    def hard(name: str) -> float:
        cells = [r["accuracy"] for r in results[name] if r["level"] >= 4]
        return sum(cells) / len(cells)

    doc = {"model": args.model, "parent": parent_name, "n": args.n, "seed": args.seed,
           "levels_4_5_mean": {name: round(hard(name), 4) for name in results},
           "gain_points": round(100 * (hard(args.model) - hard(parent_name)), 1),
           "command": "python benchmarks/grpo_gain.py " + " ".join(sys.argv[1:]), "results": results}
    write_results(args.out, doc, _markdown(doc))
    print(_markdown(doc))
    return 0


def _markdown(doc: dict) -> str:
    names = list(doc["results"])
    lines = [f"Greedy accuracy at effort `high` on {doc['n']} held-out problems per cell (seed {doc['seed']}); "
             "mean thinking tokens in brackets.", "", f"Command: `{doc['command']}`", "",
             "| task | level | " + " | ".join(f"`{n}`" for n in names) + " |", "|---|---|" + "---|" * len(names)]
    cells = {(n, r["task"], r["level"]): r for n in names for r in doc["results"][n]}
    for task in TASKS:
        for level in range(1, 6):
            lines.append(f"| {task} | {level} | " + " | ".join(
                f"{cells[(n, task, level)]['accuracy']:.0%} ({cells[(n, task, level)]['mean_thinking_tokens']:.0f})"
                for n in names) + " |")
    means = doc["levels_4_5_mean"]
    lines += ["", "Mean over levels 4-5 of both tasks: " + ", ".join(f"`{n}` {means[n]:.1%}" for n in names)
              + f"; gain {doc['gain_points']:+.1f} points."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
