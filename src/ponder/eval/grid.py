"""Run a model over tasks x levels x thinking budgets on held-out (test-split) problems; one row per cell.

Rows carry the fields of DESIGN.md's eval output. All problems of one (task, budget) are generated in batches
together, longest prompts sharing a batch, so a cell costs what its tokens cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from ponder.engine import GenerationParams, generate
from ponder.tasks import get_task
from ponder.train.data import prompt_ids


@dataclass
class Row:
    task: str
    level: int
    effort: str  # an effort name, or "budget=N"
    budget: int | None
    n: int
    accuracy: float
    mean_thinking_tokens: float
    mean_answer_tokens: float
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def run_grid(model, tokenizer, tasks: Iterable[str], levels: Iterable[int], budgets: dict[str, int | None],
             n: int, seed: int, answer_budget: int = 48, batch_size: int = 64,
             on_cell: Callable[[Row], None] | None = None) -> list[Row]:
    """`budgets` maps a label (effort name) to a thinking budget in tokens (None: up to 2048)."""
    rows: list[Row] = []
    levels = list(levels)
    for name in tasks:
        task = get_task(name)
        problems = {level: task.sample_many(seed, level, n) for level in levels}
        for label, budget in budgets.items():
            limit = 2048 if budget is None else budget
            params = GenerationParams(max_thinking=limit, answer_budget=answer_budget,
                                      max_new_tokens=limit + answer_budget + 8)
            for level in levels:
                start = time.perf_counter()
                batch = problems[level]
                completions = []
                for i in range(0, len(batch), batch_size):
                    chunk = batch[i:i + batch_size]
                    completions += generate(model, tokenizer, [prompt_ids(tokenizer, p.prompt) for p in chunk],
                                            params)
                correct = [task.verify(p, c.answer).correct for p, c in zip(batch, completions, strict=True)]
                row = Row(name, level, label, budget, len(batch), round(sum(correct) / len(batch), 4),
                          round(sum(c.thinking_tokens for c in completions) / len(batch), 1),
                          round(sum(c.answer_tokens for c in completions) / len(batch), 1),
                          round(time.perf_counter() - start, 2))
                rows.append(row)
                if on_cell:
                    on_cell(row)
    return rows
