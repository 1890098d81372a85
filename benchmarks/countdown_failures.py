"""Why a checkpoint fails on countdown: each wrong greedy answer sorted into one cause, read from its thinking.

Causes, in the order they are tested:
- false check: the thinking's last passing check (`check E: … ok`) verified an expression that is wrong
  (a false hit the model did not catch);
- loop: the search tried a move again from a state it had already tried it from (`back to 10 1 3` … `try 10+1=11`
  twice), so it went round in circles;
- cut: the thinking budget ran out (without a repeated move);
- other: the thinking ended without a passing check and without a loop.
Also counted over all problems: wrong steps (`check_steps` flags at least one line), mean thinking tokens, and how
the search used its first level: moves tried from the starting numbers per problem (`root moves`; a search that
never backs up to them tries one) and problems where at least one of those moves left numbers that can still make
the target (`live root`; the rest searched dead branches only), and repeats the model caught itself (`try 9+4 Wait,
no`, learned with `ponder train sft --catch-rate`), and the calls at the starting numbers (`root calls`: moves
tried from them that left numbers to search; how many of those were live, how many live ones the next line gave up
at once, how many dead ones it went on into: the call that `--countdown-prune` traces teach). A second table counts
the wrong steps by kind (a move's arithmetic, its verdict against the target, a flat line's results or verdict, the
final check), each as wrong of all such steps written: which skill a longer search spends its budget on mistakes of.
A third table takes the flat lines' wrong result lists apart (`left 25 3 = 28 75 22`: the results of + * - / in
that order, each new value once, none above 999): which operator's result is missing, or a value no move makes.
Same held-out problems as sft_accuracy.py for the same seed and n. With `--against PARENT` the other model decodes
the same problems too, and each level also counts the problems this model fixed (PARENT got them wrong) and broke
(PARENT got them right): a fine-tune moves both ways, and at 300 problems a net change of a few is noise.

Writes benchmarks/results/countdown_failures.json and .md. Reproduce the committed figures with:
    python benchmarks/countdown_failures.py --model ponder-tiny-sft --n 100 --seed 1
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter

from ponder.effort_prompt import stated_effort
from ponder.engine import GenerationParams, generate
from ponder.model.checkpoint import load_checkpoint
from ponder.recheck import rechecks_for
from ponder.tasks import Problem, get_task
from ponder.tasks.countdown import _PAIR, STEP_KINDS
from ponder.tasks.countdown_replay import CATCH
from ponder.tasks.countdown_search import _distinct_moves, _Item, can_reach
from ponder.train.data import prompt_ids
from results_io import RESULTS, write_results

CAUSES = ("correct", "false check", "loop", "cut", "other")
PAIR_SLIPS = ("+", "*", "-", "/", "extra", "order")
_TRY = re.compile(r"try (\d+[-+*/]\d+)=")
# Looser than the countdown task's own check pattern (Task.answer_from_trace): a malformed check the model wrote
# (`… 32+32=43 vs vs ok`, no target) still counts as passed here, since the model treated it as one.
_PASSED = re.compile(r"check ([^:\n]+):[^\n]* ok")


Tried = tuple[tuple[str, ...], str, tuple[str, ...] | None, int]


def tried_moves(thinking: str, start: tuple[str, ...]) -> list[Tried]:
    """Each move the search tried, in order: (the state it was tried from, the move, the numbers it left or None,
    the index of its line in the thinking), states as sorted multisets of the numbers' texts, starting from `start`
    and following `left …` and `back to …`."""
    state, out = tuple(sorted(start)), []
    for k, line in enumerate(thinking.split("\n")[1:], start=1):
        if line.startswith("back to "):
            # `after …` follows the state in the traces of experiments/last_move_sft.md, `tried …` in tried_list_sft.md,
            # `plan …` with --countdown-plans (ponder.tasks.countdown_plans)
            state = tuple(sorted(re.split(r" (?:after|tried|plan) ", line[len("back to "):])[0].split()))
            continue
        move = _TRY.match(line)
        if move is None:
            continue
        left = re.search(r" left ([\d ]+)$", line)
        child = tuple(left.group(1).split()) if left else None
        out.append((state, move.group(1), child, k))
        if child is not None:
            state = tuple(sorted(child))
    return out


def repeated_moves(thinking: str) -> int:
    """Moves tried again from a state (a multiset of numbers) they had already been tried from."""
    goal = re.match(r"goal \d+ \w+ ([\d ]+)", thinking)
    seen, repeats = set(), 0
    for state, move, _, _ in tried_moves(thinking, tuple(goal.group(1).split()) if goal else ()):
        repeats += (state, move) in seen
        seen.add((state, move))
    return repeats


def pair_slips(thinking: str) -> Counter:
    """Flat lines with a wrong result list, by what is wrong: the result of an operator missing (`+`, `*`, `-`, `/`),
    a value written that no move makes (`extra`: a product above 999, an inexact quotient, a wrong sum), or the
    right values in another order (`order`). A line can count under several."""
    slips: Counter = Counter()
    for m in _PAIR.finditer(thinking):
        pair = (_Item(int(m["a"]), m["a"], 3), _Item(int(m["b"]), m["b"], 3))
        right = {value: move[2] for value, move in _distinct_moves(pair).items()}  # value -> operator, as written
        written = [int(v) for v in m["results"].split()]
        if written == list(right):
            continue
        missing = [op for value, op in right.items() if value not in written]
        slips.update(missing)
        slips["extra"] += any(v not in right for v in written)
        slips["order"] += not missing and sorted(written) == sorted(right)
    return slips


def root_children(problem: Problem, thinking: str) -> list[list[int]]:
    """The numbers left by each move tried from the starting numbers, in order."""
    root = tuple(sorted(str(n) for n in problem.meta["numbers"]))
    return [[int(x) for x in child] for state, _, child, _ in tried_moves(thinking, root)
            if state == root and child is not None]


def root_calls(problem: Problem, thinking: str) -> list[tuple[bool, bool]]:
    """(live, given up) for each move tried from the starting numbers that left numbers to search: given up when the
    next line backs up at once. Pruned traces (`ponder train sft --countdown-prune`) make that call the model's to
    learn (give up a dead state at once, search a live one); this is how often it gets it right."""
    root = tuple(sorted(str(n) for n in problem.meta["numbers"]))
    lines = thinking.split("\n")
    return [(can_reach([int(x) for x in child], problem.meta["target"], problem.meta["rule"] == "all"),
             k + 1 < len(lines) and lines[k + 1].startswith("back to "))
            for state, _, child, k in tried_moves(thinking, root)
            if state == root and child is not None and len(child) > 1]


def cause(task, problem: Problem, thinking: str, answer: str, thinking_tokens: int, budget: int) -> str:
    if task.verify(problem, answer).correct:
        return "correct"
    passed = _PASSED.findall(thinking)
    if passed and not task.verify(problem, passed[-1].strip()).correct:
        return "false check"
    if repeated_moves(thinking):
        return "loop"
    if thinking_tokens >= budget:
        return "cut"
    return "other"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ponder-tiny-sft")
    parser.add_argument("--levels", default="1,2,3,4,5", help="comma-separated levels (default 1,2,3,4,5)")
    parser.add_argument("--n", type=int, default=100, help="problems per level")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-thinking", type=int, default=None,
                        help="thinking budget in tokens (default: the model's `high` effort budget, its ponder.json)")
    parser.add_argument("--out", default=str(RESULTS / "countdown_failures"), help="path stem of the result files")
    parser.add_argument("--guard", action="store_true", help="decode with countdown's guard (Task.guard)")
    parser.add_argument("--effort", choices=("low", "medium", "high", "unstated"), default="high",
                        help="the effort stated in the prompt of a model that reads one (ponder.json effort_prompt; "
                             "default high, as `ponder eval --efforts high` states it), and the rechecks (and vote) "
                             "its ponder.json gives that effort; `unstated`: the plain prompt, no rechecks")
    parser.add_argument("--against", default="", metavar="PARENT",
                        help="also decode these problems with PARENT and count the ones fixed and broken")
    args = parser.parse_args()
    try:
        levels = [int(x) for x in args.levels.split(",")]
    except ValueError:
        parser.error(f"--levels takes comma-separated integers, got {args.levels!r}")
    if args.n < 1 or (args.max_thinking is not None and args.max_thinking < 1):
        parser.error("--n and --max-thinking must be at least 1")
    model = load_checkpoint(args.model)
    if args.max_thinking is None:
        args.max_thinking = model[2].efforts["high"]  # load_checkpoint: model, tokenizer, meta, folder
    parent = load_checkpoint(args.against) if args.against else None
    task = get_task("countdown")
    rows = []
    for level in levels:
        problems = task.sample_many(args.seed, level, args.n)
        outs = _decode(model, task, problems, args)
        counts = Counter(cause(task, p, o.thinking, o.answer, o.thinking_tokens, args.max_thinking)
                         for p, o in zip(problems, outs, strict=True))
        labeled = [task.labeled_steps(p, o.thinking) for p, o in zip(problems, outs, strict=True)]
        wrong_steps = sum(not all(ok for _, ok in steps) for steps in labeled)
        roots = [root_children(p, o.thinking) for p, o in zip(problems, outs, strict=True)]
        live = sum(any(can_reach(c, p.meta["target"], p.meta["rule"] == "all") for c in r)
                   for p, r in zip(problems, roots, strict=True))
        row = {"level": level, **{c: counts[c] for c in CAUSES}, "wrong_steps": wrong_steps,
               "mean_thinking_tokens": round(sum(o.thinking_tokens for o in outs) / len(outs), 1),
               "root_moves": round(sum(map(len, roots)) / len(roots), 2), "live_root": live,
               "caught_repeats": sum(o.thinking.count(CATCH) for o in outs)}
        steps = [s for problem_steps in labeled for s in problem_steps]
        row["steps_by_kind"] = {kind: [sum(k == kind and not ok for k, ok in steps), sum(k == kind for k, _ in steps)]
                                for kind in STEP_KINDS}
        slips = sum((pair_slips(o.thinking) for o in outs), Counter())
        row["pair_slips"] = {op: slips[op] for op in PAIR_SLIPS}
        calls = [c for p, o in zip(problems, outs, strict=True) for c in root_calls(p, o.thinking)]
        row |= {"root_calls": len(calls), "live_calls": sum(live for live, _ in calls),
                "live_given_up": sum(live and up for live, up in calls),
                "dead_searched": sum(not live and not up for live, up in calls)}
        if parent is not None:
            ok = [task.verify(p, o.answer).correct for p, o in zip(problems, outs, strict=True)]
            was = [task.verify(p, o.answer).correct for p, o in zip(problems, _decode(parent, task, problems, args),
                                                                    strict=True)]
            pairs = list(zip(ok, was, strict=True))
            row |= {"parent_correct": sum(was), "fixed": sum(k and not w for k, w in pairs),
                    "broken": sum(w and not k for k, w in pairs)}
        rows.append(row)
        shown = {k: v for k, v in row.items() if k not in ("level", "steps_by_kind", "pair_slips")}
        print(f"level {level}: " + "  ".join(f"{k} {v}" for k, v in shown.items()), file=sys.stderr)
    doc = {"model": args.model, "seed": args.seed, "n": args.n, "max_thinking": args.max_thinking, "guard": args.guard,
           "stated_effort": stated_effort(model[2].effort_prompt, args.effort),
           "rechecks": rechecks_for(model[2].rechecks, args.effort), "vote": model[2].recheck_vote,
           "command": "python benchmarks/countdown_failures.py " + " ".join(sys.argv[1:]), "results": rows}
    if args.against:
        doc["against"] = args.against
    write_results(args.out, doc, markdown_table(doc))
    print(markdown_table(doc))
    return 0


def _decode(checkpoint: tuple, task, problems: list[Problem], args: argparse.Namespace) -> list:
    """Greedy outputs of a loaded checkpoint on the problems, under the guard with --guard."""
    model, tok, meta, _ = checkpoint
    params = GenerationParams(max_thinking=args.max_thinking, answer_budget=meta.answer_budget,
                              max_new_tokens=args.max_thinking + meta.answer_budget,
                              rechecks=rechecks_for(meta.rechecks, args.effort), vote=meta.recheck_vote)
    guards = [task.guard(p) for p in problems] if args.guard else None
    stated = stated_effort(meta.effort_prompt, args.effort)
    return generate(model, tok, [prompt_ids(tok, p.prompt, stated) for p in problems], [params] * len(problems),
                    guards=guards)


def markdown_table(doc: dict) -> str:
    how = "greedy with countdown's decoding guard" if doc.get("guard") else "greedy"
    if doc.get("rechecks"):  # older result files lack the key
        how += f", {doc['rechecks']} rechecks" + (" and a vote over the passes" if doc.get("vote") else "")
    head = (f"Countdown failures of `{doc['model']}`, {how}, thinking budget {doc['max_thinking']} tokens, "
            f"{doc['n']} held-out problems per level (seed {doc['seed']}).\n\nCommand: `{doc['command']}`\n\n"
            "| level | " + " | ".join(CAUSES) + " | any wrong step | mean thinking | root moves | live root "
            "| caught repeats | root calls | live | live given up | dead searched |\n|---|" + "---|" * (len(CAUSES) + 9)
            + "\n")
    # .get: results written before the last columns were added lack them
    table = head + "".join(
        f"| {r['level']} | " + " | ".join(str(r[c]) for c in CAUSES)
        + f" | {r['wrong_steps']} | {r['mean_thinking_tokens']}"
        + f" | {r.get('root_moves', '')} | {r.get('live_root', '')} | {r.get('caught_repeats', '')}"
        + f" | {r.get('root_calls', '')} | {r.get('live_calls', '')} | {r.get('live_given_up', '')}"
        + f" | {r.get('dead_searched', '')} |\n"
        for r in doc["results"])
    if any("steps_by_kind" in r for r in doc["results"]):
        table += ("\nWrong steps by kind (`check_steps`), wrong of all written, over every problem's thinking:\n\n"
                  "| level | " + " | ".join(STEP_KINDS) + " |\n|---|" + "---|" * len(STEP_KINDS) + "\n" + "".join(
                      f"| {r['level']} | " + " | ".join(_share(*r["steps_by_kind"][k]) for k in STEP_KINDS) + " |\n"
                      for r in doc["results"] if "steps_by_kind" in r))
    if any("pair_slips" in r for r in doc["results"]):
        table += ("\nWrong result lists of the flat lines: lines missing each operator's result, lines with a value no "
                  "move makes (extra), lines with the right values in another order:\n\n"
                  "| level | " + " | ".join(PAIR_SLIPS) + " |\n|---|" + "---|" * len(PAIR_SLIPS) + "\n" + "".join(
                      f"| {r['level']} | " + " | ".join(str(r["pair_slips"][k]) for k in PAIR_SLIPS) + " |\n"
                      for r in doc["results"] if "pair_slips" in r))
    if doc.get("against"):
        table += (f"\nAgainst `{doc['against']}` on the same problems:\n\n"
                  "| level | its correct | correct | fixed | broken |\n|---|---|---|---|---|\n" + "".join(
                      f"| {r['level']} | {r['parent_correct']} | {r['correct']} | {r['fixed']} | {r['broken']} |\n"
                      for r in doc["results"]))
    return table


def _share(wrong: int, total: int) -> str:
    return f"{wrong} of {total} ({100 * wrong / total:.1f}%)" if total else "-"


if __name__ == "__main__":
    sys.exit(main())
