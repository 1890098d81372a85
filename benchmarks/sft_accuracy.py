"""Accuracy of a checkpoint per task and level, without thinking and at several thinking budgets.

Writes benchmarks/results/sft_accuracy.json and .md. Reproduce the committed figures with:
    python benchmarks/sft_accuracy.py --model ponder-tiny-sft --n 100 --seed 1
"""

from __future__ import annotations

import argparse
import sys

from ponder.eval.grid import run_grid
from ponder.model.checkpoint import load_checkpoint
from ponder.recheck import rechecks_for
from results_io import RESULTS, write_results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ponder-tiny-sft")
    parser.add_argument("--n", type=int, default=100, help="problems per task and level")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budgets", default="0,32,64,128,256,512,full",
                        help="thinking budgets in tokens; 'full' is the model's `high` effort (its ponder.json: "
                             "budget, rechecks and vote), what its longest searches need")
    parser.add_argument("--out", default=str(RESULTS / "sft_accuracy"), help="path stem of the result files")
    args = parser.parse_args()
    model, tok, meta, folder = load_checkpoint(args.model)
    budgets = {("none" if b == "0" else "full" if b == "full" else f"budget={b}"):
               (meta.efforts["high"] if b == "full" else int(b)) for b in args.budgets.split(",")}

    def show(row):
        print(f"{row.task:10s} L{row.level} {row.effort:11s} acc {row.accuracy:6.1%}  "
              f"think {row.mean_thinking_tokens:6.1f}  {row.seconds:5.1f}s", file=sys.stderr, flush=True)

    rows = run_grid(model, tok, ("arithmetic", "countdown"), range(1, 6), budgets, args.n, args.seed,
                    answer_budget=meta.answer_budget, on_cell=show,
                    # `full` is the `high` effort: its rechecks and vote too, as `ponder eval --efforts high` runs it
                    rechecks={"full": rechecks_for(meta.rechecks, "high")}, vote=meta.recheck_vote)
    doc = {"model": args.model, "seed": args.seed, "n": args.n,
           "command": "python benchmarks/sft_accuracy.py " + " ".join(sys.argv[1:]),
           "results": [r.to_dict() for r in rows]}
    write_results(args.out, doc, markdown_table(doc))
    print(markdown_table(doc))
    return 0


def markdown_table(doc: dict) -> str:
    labels = list(dict.fromkeys(r["effort"] for r in doc["results"]))
    lines = [f"Greedy accuracy of `{doc['model']}` on {doc['n']} held-out problems per cell (seed {doc['seed']}); "
             "mean thinking tokens in brackets.", "", f"Command: `{doc['command']}`", "",
             "| task | level | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    cells = {(r["task"], r["level"], r["effort"]): r for r in doc["results"]}
    for task in dict.fromkeys(r["task"] for r in doc["results"]):
        for level in sorted({r["level"] for r in doc["results"] if r["task"] == task}):
            vals = [cells[(task, level, lab)] for lab in labels]
            lines.append(f"| {task} | {level} | " + " | ".join(
                f"{v['accuracy']:.0%} ({v['mean_thinking_tokens']:.0f})" for v in vals) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
