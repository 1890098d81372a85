"""How long countdown's solver traces are in each trace mode, in tokens of the shipped tokenizer: the share of
problems whose whole trace fits each thinking budget, which is the most a model that imitates the traces perfectly
can solve within that budget. Also how often a first move is live (the numbers it leaves can still make the
target), over all first moves and for the one closest to the target, which is what a model without the oracle's
intuition would pick first. Each mode is also counted in tokens of the tokenizer with space-prefixed pieces
(` 40`, ` vs`; `build_tokenizer(space_prefixed=True)`, `ponder train sft --space-prefixed`): the shipped tokenizer
writes every space as its own token, and these rows are what is left of a trace without them (measured: exactly
the trace's tokens less its lone spaces, in every row).

Modes: `guided` (the cold-start traces, live moves first at 75% of the states), `systematic` (the shipped second
stage), `prune` (a dead state given up at once, the call made right, but 5% of dead states searched to their end as
in its training traces) and `flat` (no oracle: every state searched to its end, two numbers finished on one line);
see benchmarks/results/experiments/countdown_trace_redesigns.md. Slips are off (slip rate 0): these are the searches
themselves.

Writes benchmarks/results/countdown_trace_lengths.json and .md. Reproduce with:
    python benchmarks/countdown_trace_lengths.py --levels 2,4,5 --n 300 --seed 11
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys

from ponder.model.checkpoint import load_checkpoint
from ponder.model.tokenizer import build_tokenizer
from ponder.tasks.countdown import CountdownTask
from ponder.tasks.countdown_search import _apply, _Item, _moves, can_reach
from results_io import RESULTS, write_results

MODES = {
    "guided": CountdownTask(),
    "systematic": CountdownTask(systematic=True),
    "prune": CountdownTask(prune=True),
    "flat": CountdownTask(flat=True),
}


def first_moves(problem) -> tuple[float, bool]:
    """(share of the first moves that are live, whether the move closest to the target is live)."""
    target, every = problem.meta["target"], problem.meta["rule"] == "all"
    items = tuple(_Item(v, str(v), 3) for v in problem.meta["numbers"])
    moves = _moves(items)
    live = [can_reach([it.value for it in _apply(items, m)], target, every) for m in moves]
    closest = min(range(len(moves)), key=lambda k: abs(moves[k][3] - target))
    return sum(live) / len(live), live[closest]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="2,4,5", help="comma-separated levels (default 2,4,5)")
    parser.add_argument("--n", type=int, default=300, help="problems per level (default 300)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--budgets", default="512,1024,1536,2000", help="thinking budgets in tokens")
    parser.add_argument("--model", default="ponder-tiny-sft", help="whose tokenizer counts the tokens")
    parser.add_argument("--out", default=str(RESULTS / "countdown_trace_lengths"), help="path stem of the results")
    args = parser.parse_args()
    try:
        levels = [int(x) for x in args.levels.split(",")]
        budgets = [int(x) for x in args.budgets.split(",")]
    except ValueError:
        parser.error("--levels and --budgets take comma-separated integers")
    if args.n < 1 or any(b < 1 for b in budgets) or any(not 1 <= lv <= 5 for lv in levels):
        parser.error("--n and budgets must be at least 1, levels in 1..5")
    tokenizer = load_checkpoint(args.model)[1]
    spaced = build_tokenizer(space_prefixed=True)
    task, rows = MODES["guided"], []
    for level in levels:
        problems = task.sample_many(args.seed, level, args.n)
        shares = [first_moves(p) for p in problems]
        row = {"level": level, "live_first_moves": round(statistics.mean(s for s, _ in shares), 3),
               "closest_first_move_live": round(statistics.mean(c for _, c in shares), 3), "modes": {}}
        for name, writer in MODES.items():
            texts = [writer.trace(p, random.Random(k), 0.0) for k, p in enumerate(problems)]
            for label, tok in ((name, tokenizer), (f"{name}, space-prefixed", spaced)):
                lengths = [len(tok.encode(t, add_special_tokens=False)) for t in texts]
                row["modes"][label] = {"median_tokens": statistics.median(lengths),
                                       "fits": {str(b): round(sum(n <= b for n in lengths) / len(lengths), 3)
                                                for b in budgets}}
        rows.append(row)
        print(f"level {level} done", file=sys.stderr)
    doc = {"seed": args.seed, "n": args.n, "budgets": budgets, "model": args.model,
           "command": "python benchmarks/countdown_trace_lengths.py " + " ".join(sys.argv[1:]), "results": rows}
    write_results(args.out, doc, markdown_table(doc))
    print(markdown_table(doc))
    return 0


def markdown_table(doc: dict) -> str:
    budgets = doc["budgets"]
    out = (f"Countdown solver traces: share that fits each thinking budget (tokens of `{doc['model']}`), "
           f"{doc['n']} problems per level (seed {doc['seed']}).\n\nCommand: `{doc['command']}`\n\n"
           "| level | mode | median tokens | " + " | ".join(f"fits {b}" for b in budgets) + " |\n|---|---|---|"
           + "---|" * len(budgets) + "\n")
    for r in doc["results"]:
        for name, m in r["modes"].items():
            out += (f"| {r['level']} | {name} | {m['median_tokens']:.0f} | "
                    + " | ".join(f"{100 * m['fits'][str(b)]:.0f}%" for b in budgets) + " |\n")
    out += "\n| level | live first moves | closest first move live |\n|---|---|---|\n" + "".join(
        f"| {r['level']} | {100 * r['live_first_moves']:.0f}% | {100 * r['closest_first_move_live']:.0f}% |\n"
        for r in doc["results"])
    return out


if __name__ == "__main__":
    sys.exit(main())
