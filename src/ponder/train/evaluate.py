"""Held-out accuracy of a model on test-split problems: the check that SFT runs periodically."""

from __future__ import annotations

from ponder.engine import GenerationParams, generate
from ponder.tasks import LEVELS, get_task
from ponder.train.data import prompt_ids


def held_out_accuracy(model, tokenizer, tasks: tuple[str, ...], n: int, seed: int,
                      max_thinking: int | None = 1024, batch_size: int = 64) -> dict[str, float]:
    """Greedy accuracy per `task:level` on `n` test-split problems each, at the given thinking budget."""
    params = GenerationParams(max_thinking=max_thinking, max_new_tokens=(max_thinking or 2048) + 64)
    out: dict[str, float] = {}
    for name in tasks:
        task = get_task(name)
        problems = [p for level in LEVELS for p in task.sample_many(seed + 10_000, level, n)]
        completions = []
        for i in range(0, len(problems), batch_size):
            chunk = problems[i:i + batch_size]
            completions += generate(model, tokenizer, [prompt_ids(tokenizer, p.prompt) for p in chunk], params)
        for level in LEVELS:
            pairs = [(p, c) for p, c in zip(problems, completions, strict=True) if p.level == level]
            correct = sum(task.verify(p, c.answer).correct for p, c in pairs)
            out[f"{name}:{level}"] = round(correct / len(pairs), 3)
    return out
