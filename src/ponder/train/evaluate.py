"""Held-out accuracy of a model on test-split problems: the check that training runs periodically.

A thin view of ponder.eval.grid (one greedy setting, all levels), keyed `task:level` for training logs.
"""

from __future__ import annotations

from ponder.eval.grid import run_grid
from ponder.tasks import LEVELS


def held_out_accuracy(model, tokenizer, tasks: tuple[str, ...], n: int, seed: int,
                      max_thinking: int = 1024) -> dict[str, float]:
    """Greedy accuracy per `task:level` on `n` test-split problems each, at the given thinking budget."""
    rows = run_grid(model, tokenizer, tasks, LEVELS, {"held_out": max_thinking}, n, seed + 10_000)
    return {f"{r.task}:{r.level}": round(r.accuracy, 3) for r in rows}
