"""How right each pass of a rechecked thinking is, and what a vote over the passes answers.

A model trained with rechecks (ponder.recheck) is made to look again: the engine forces `check` in place of its
first `n` ends of thinking. With `GenerationParams.vote` each pass's answer is also written, out of sight (the
answer the model gives when its thinking ends after that pass), and the reply is what most passes answer, a tie
going to the earliest. This decodes each level's held-out problems once with that many rechecks and a vote, and
counts, per level: problems whose pass 1, 2, ... answer is right (pass 1 is the plain scratchpad's answer, the one
the model gives with no recheck), the last pass's (what the model answers without a vote), and the vote's.

Same held-out problems as `ponder eval` for the same seed and n. Writes benchmarks/results/recheck_passes.json and
.md (or --out). Reproduce with, e.g.:
    python benchmarks/recheck_passes.py --model runs/recheck-4/cand --levels 1,2,3,4,5 --rechecks 2 --n 50
"""

from __future__ import annotations

import argparse
import sys

from ponder.cli_args import count, levels
from ponder.engine import GenerationParams, generate
from ponder.model.checkpoint import CheckpointError, load_checkpoint
from ponder.progress import progress_bar
from ponder.tasks import get_task
from ponder.train.data import prompt_ids
from results_io import RESULTS, write_results


def measure(model, tokenizer, task_name: str, level: int, n: int, seed: int, rechecks: int, budget: int,
            answer_budget: int) -> dict:
    """One level's counts (see the module docstring)."""
    task = get_task(task_name)
    problems = task.sample_many(seed, level, n)
    params = GenerationParams(max_thinking=budget, answer_budget=answer_budget, rechecks=rechecks, vote=True,
                              max_new_tokens=budget + answer_budget + 8)
    done = generate(model, tokenizer, [prompt_ids(tokenizer, p.prompt) for p in problems], params, max_batch=64)
    passes = [0] * (rechecks + 1)
    last = voted = 0
    for p, c in zip(problems, done, strict=True):
        answers = c.pass_answers or [c.answer]  # no look fitted the budget: one pass, answered as it is
        right = [task.verify(p, a).correct for a in answers]
        for i, ok in enumerate(right):
            passes[i] += ok
        last += right[-1]
        voted += task.verify(p, c.answer).correct
    return {"task": task_name, "level": level, "n": n, "rechecks": rechecks, "passes_right": passes,
            "last_pass_right": last, "vote_right": voted,
            "mean_thinking_tokens": round(sum(c.thinking_tokens for c in done) / n, 1)}


def markdown_table(doc: dict) -> str:
    k = doc["rechecks"]
    head = " | ".join(f"pass {i + 1}" for i in range(k + 1))
    out = (f"Right answers of `{doc['model']}` after each pass of its thinking with {k} rechecks (budget "
           f"{doc['budget']} tokens), {doc['n']} held-out problems a level, seed {doc['seed']}.\n\n"
           f"Command: `{doc['command']}`\n\n| task | level | {head} | last pass | vote | thinking |\n"
           f"|---|---|{'---|' * (k + 1)}---|---|---|\n")
    for r in doc["results"]:
        cells = " | ".join(str(x) for x in r["passes_right"])
        out += (f"| {r['task']} | {r['level']} | {cells} | {r['last_pass_right']} | {r['vote_right']} | "
                f"{r['mean_thinking_tokens']} |\n")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ponder-tiny-sft", help="a checkpoint trained with rechecks")
    parser.add_argument("--task", default="arithmetic", choices=["arithmetic", "countdown"])
    parser.add_argument("--levels", type=levels, default=(1, 2, 3, 4, 5),
                        help="comma-separated levels 1-5 (default all)")
    parser.add_argument("--rechecks", type=count, default=2,
                        help="looks forced after the first pass (default 2)")
    parser.add_argument("--n", type=count, default=50, help="problems per level (default 50)")
    parser.add_argument("--seed", type=int, default=1234, help="problem seed (default 1234, the effort grid's)")
    parser.add_argument("--budget", type=count, default=3900,
                        help="thinking budget in tokens (default 3900)")
    parser.add_argument("--out", default=str(RESULTS / "recheck_passes"), help="path stem of the results")
    args = parser.parse_args()
    try:
        model, tokenizer, meta, _ = load_checkpoint(args.model)
    except CheckpointError as e:
        parser.error(str(e))
    rows = []
    with progress_bar(transient=True) as bar:
        task_id = bar.add_task("levels", total=len(args.levels), info="")
        for level in args.levels:
            rows.append(measure(model, tokenizer, args.task, level, args.n, args.seed, args.rechecks, args.budget,
                                meta.answer_budget))
            r = rows[-1]
            bar.console.print(f"{args.task} level {level}: passes {r['passes_right']}, last {r['last_pass_right']}, "
                              f"vote {r['vote_right']} of {args.n}")
            bar.update(task_id, advance=1)
    doc = {"model": args.model, "seed": args.seed, "n": args.n, "rechecks": args.rechecks, "budget": args.budget,
           "command": "python benchmarks/recheck_passes.py " + " ".join(sys.argv[1:]), "results": rows}
    table = markdown_table(doc)
    write_results(args.out, doc, table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
