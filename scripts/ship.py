"""Turn a training run's final checkpoint into a shipped model (package data), small and self-describing.

Weights are stored in bfloat16 (half the size; ponder loads them back as float32), and ponder.json gets the effort
budgets and the eval summary measured by benchmarks/sft_accuracy.py. Usage:
    python scripts/ship.py runs/sft-tiny/final ponder-tiny-sft --efforts low=64,medium=160,high=1024 \
        --eval benchmarks/results/sft_accuracy.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ponder.model.checkpoint import SHIPPED_DIR, PonderMeta, load_checkpoint, save_checkpoint
from ponder.model.tokenizer import build_tokenizer, tokenizer_kind


def _report_command(results: Path) -> str | None:
    """The command of a `ponder eval --json` document, whose shape (DESIGN.md) has none: its report beside it,
    in the --out folder named like the file, says it."""
    report = results.with_suffix("") / "report.md"
    if not report.exists():
        return None
    for line in report.read_text().splitlines():
        if line.startswith("Command: `"):
            return line.removeprefix("Command: `").rstrip("`")
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="checkpoint folder, e.g. runs/sft-tiny/final")
    parser.add_argument("name", help="shipped model name, e.g. ponder-tiny-sft")
    parser.add_argument("--efforts", required=True, help="low=N,medium=N,high=N (none is always 0)")
    parser.add_argument("--eval", help="a results JSON of benchmarks/sft_accuracy.py or benchmarks/grpo_gain.py to "
                                       "summarise in ponder.json")
    parser.add_argument("--command", help="the command that reproduces the run, recorded in the recipe")
    parser.add_argument("--parent", help="the parent to record, where the run's own is a path only this machine has")
    parser.add_argument("--vote", action="store_true",
                        help="answer by a vote over the rechecked passes (for a model trained with rechecks, whose "
                             "counts per effort its ponder.json carries over)")
    args = parser.parse_args()
    model, tokenizer, meta, _ = load_checkpoint(args.source)
    efforts = {"none": 0}
    for item in args.efforts.split(","):
        key, value = item.split("=")
        efforts[key.strip()] = int(value)
    if list(efforts) != ["none", "low", "medium", "high"] or not (
            0 < efforts["low"] < efforts["medium"] < efforts["high"]):
        raise SystemExit("--efforts needs low < medium < high, all > 0")
    summary = meta.eval
    if args.eval:
        doc = json.loads(Path(args.eval).read_text())
        rows = doc["results"]
        if isinstance(rows, dict):  # grpo_gain.py: rows per model
            rows = rows[args.name]
        sizes = {r.get("n") for r in rows}
        summary = {"source": args.eval, "command": doc.get("command") or _report_command(Path(args.eval)),
                   "n": doc.get("n") or (sizes.pop() if len(sizes) == 1 else None), "seed": doc.get("seed"),
                   "accuracy": {f"{r['task']}:{r['level']}:{r['effort']}": r["accuracy"] for r in rows}}
    kind = tokenizer_kind(tokenizer)
    if kind is not None:
        # same ids: ship the current chat template and token flags (a run started before a fix to them keeps
        # the old files in its checkpoints)
        tokenizer = build_tokenizer(kind)
    recipe = {**meta.recipe, "command": args.command} if args.command else meta.recipe
    shipped = PonderMeta(efforts=efforts, answer_budget=meta.answer_budget, recipe=recipe,
                         parent=args.parent or meta.parent,
                         eval=summary, effort_prompt=meta.effort_prompt, rechecks=meta.rechecks,
                         recheck_vote=args.vote or meta.recheck_vote)
    if shipped.recheck_vote and not shipped.rechecks:
        raise SystemExit("--vote needs a model trained with rechecks (its ponder.json names none)")
    folder = save_checkpoint(model.to(torch.bfloat16), tokenizer, shipped, SHIPPED_DIR / args.name)
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    print(f"shipped {folder} ({size:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
