"""Unlikelihood examples from the model's own searches: where its greedy thinking first repeats a move.

The token-level unlikelihood loss on solver traces (`Span.avoid`) only sees clean searches; the model loops in
its own, once a first repeat has put a repeated line in its context. Following the sequence-level unlikelihood
training of Welleck et al. (2020), a training run now and then decodes training problems with the current weights,
finds the token where each thinking first commits to a repeated move (`Task.first_repeat`), and trains that token
down in that very context. Nothing of the model's own text is learned as a target: the example's labels are all
ignored, and only the one avoided token carries a loss.
"""

from __future__ import annotations

import random

import torch

from ponder.engine import GenerationParams, generate
from ponder.tasks import Problem, Task
from ponder.train.data import IGNORE, Example, prompt_ids


def repeat_example(tokenizer, task: Task, problem: Problem, thinking: str) -> Example | None:
    """The prompt and the thinking up to its first repeat, with that repeat's token to avoid; None without one."""
    found = task.first_repeat(problem, thinking)
    if found is None:
        return None
    offset, token = found
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        return None
    context = prompt_ids(tokenizer, problem.prompt) + tokenizer("<think>" + thinking[:offset],
                                                                add_special_tokens=False)["input_ids"]
    return Example(context + ids, [IGNORE] * (len(context) + 1), ((len(context), ids[0]),))


def own_repeat_examples(model, tokenizer, task: Task, rng: random.Random, n: int, level_weights: tuple[float, ...],
                        max_len: int) -> list[Example]:
    """Decode `n` training problems greedily (levels drawn with `level_weights` over 2..5, the levels that search)
    and return the repeat examples found, each at most `max_len` tokens."""
    problems = [task.sample_split(rng, rng.choices(range(2, 6), weights=level_weights[1:])[0], "train")
                for _ in range(n)]
    prompts = [prompt_ids(tokenizer, p.prompt) for p in problems]
    budget = max_len - max(map(len, prompts)) - 2  # <think> and the avoided token
    params = GenerationParams(max_thinking=budget, answer_budget=1, max_new_tokens=budget + 1)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        outs = generate(model, tokenizer, prompts, params)
    model.train(was_training)
    examples = [repeat_example(tokenizer, task, p, o.thinking) for p, o in zip(problems, outs, strict=True)]
    return [e for e in examples if e is not None and len(e.input_ids) <= max_len]
