"""The RL models' fixes (DeepSeek-R1's third stage, run from RL checkpoints): decode the problems a parent model got
wrong with each RL model in turn, keep the verified searches, and pair them with as many of the parent's own solved
searches, so that a fine-tune of the parent learns the fixes without drifting from what it already solves
(benchmarks/results/experiments/rl_fixes_sft.md)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from ponder.tasks import Problem, Task
from ponder.train.own_searches import Search, decode_searches


def first_fixes(models: Iterable, task: Task, problems: list[Problem], max_thinking: int,
                on_model: Callable[[int, int], None] | None = None,
                on_chunk: Callable[[int], None] | None = None) -> list[Search]:
    """The verified greedy searches (unguarded) of `problems` by (model, tokenizer) pairs taken in order, each model
    decoding only the problems the ones before it did not solve; in the order they were found. `on_model(todo,
    fixed)` is told before each model how many problems it gets and how many are fixed so far."""
    fixes: dict[str, Search] = {}
    for model, tokenizer in models:
        todo = [p for p in problems if p.prompt not in fixes]
        if on_model is not None:
            on_model(len(todo), len(fixes))
        for search in decode_searches(model, tokenizer, task, todo, max_thinking, guard=False, on_chunk=on_chunk):
            if search.correct:
                fixes[search.problem.prompt] = search
    return list(fixes.values())


def paired_with_solved(fixes: list[Search], searches: list[Search], seed: int = 0) -> list[Search]:
    """`fixes` followed by as many of `searches`' verified ones (a seeded draw): the parent's solved problems weigh
    as much as its fixed ones in the fine-tune, which holds what it solves (every RL model alone broke about as
    many held-out problems as it fixed)."""
    solved = [s for s in searches if s.correct]
    random.Random(seed).shuffle(solved)
    return fixes + solved[:len(fixes)]
