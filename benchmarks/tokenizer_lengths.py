"""How many tokens SFT examples cost in each of ponder's tokenizers: the shipped one (every space a token of its own)
and the space-prefixed one (`build_tokenizer(space_prefixed=True)`, `ponder train sft --space-prefixed`), on the same
examples (prompt and assistant turn, slips at SFT's default rate), per task and level. The ratio is what the
space-prefixed tokenizer saves in training tokens and in thinking budget.

Writes benchmarks/results/tokenizer_lengths.json and .md. Reproduce with:
    python benchmarks/tokenizer_lengths.py --n 60 --seed 1
"""

from __future__ import annotations

import argparse
import random
import sys

from ponder.model.tokenizer import build_tokenizer
from ponder.tasks import get_task
from ponder.tasks.countdown import CountdownTask
from ponder.train.data import make_example
from ponder.train.sft import SFTConfig
from results_io import RESULTS, write_results

TASKS = {"arithmetic": get_task("arithmetic"), "countdown": get_task("countdown"),
         "countdown, flat": CountdownTask(flat=True)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60, help="examples per task and level (default 60)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS / "tokenizer_lengths"), help="path stem of the results")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be at least 1")
    tokenizers = {"plain": build_tokenizer(), "space-prefixed": build_tokenizer(space_prefixed=True)}
    slip_rate, rows = SFTConfig().slip_rate, []
    for name, task in TASKS.items():
        for level in range(1, 6):
            problems = task.sample_many(args.seed, level, args.n, split="train")
            counts = {}
            for kind, tok in tokenizers.items():
                rng = random.Random(args.seed)  # the same slips in both: the same texts
                counts[kind] = sum(len(make_example(tok, task, p, rng, direct=False, slip_rate=slip_rate).input_ids)
                                   for p in problems)
            rows.append({"task": name, "level": level, "tokens": counts,
                         "ratio": round(counts["space-prefixed"] / counts["plain"], 3)})
        print(f"{name} done", file=sys.stderr)
    doc = {"n": args.n, "seed": args.seed, "slip_rate": slip_rate,
           "command": "python benchmarks/tokenizer_lengths.py " + " ".join(sys.argv[1:]), "results": rows}
    table = (f"Tokens of {args.n} SFT examples per task and level (seed {args.seed}, slip rate {slip_rate}), in the "
             f"shipped tokenizer and the space-prefixed one.\n\nCommand: `{doc['command']}`\n\n"
             "| task | level | plain | space-prefixed | ratio |\n|---|---|---|---|---|\n" + "".join(
                 f"| {r['task']} | {r['level']} | {r['tokens']['plain']} | {r['tokens']['space-prefixed']} | "
                 f"{r['ratio']:.2f} |\n" for r in rows))
    write_results(args.out, doc, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
