"""Run a model over tasks x levels x thinking settings on held-out (test-split) problems; one row per cell.

Rows carry the fields of DESIGN.md's eval output, plus pass@k and maj@k when several samples are drawn per
problem. Problems come from the test split (never trained on) of a seeded stream, so any seed is a fair one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace

from ponder.effort_prompt import stated_effort
from ponder.engine import GenerationParams, generate
from ponder.eval.metrics import ks_up_to, maj_at_k, pass_at_k
from ponder.recheck import rechecks_for
from ponder.tasks import get_task
from ponder.train.data import prompt_ids


@dataclass
class Row:
    task: str
    level: int
    effort: str  # an effort name, or "budget=N"
    budget: int
    n: int
    accuracy: float  # mean over problems and samples (pass@1)
    mean_thinking_tokens: float
    mean_answer_tokens: float
    seconds: float
    tokens_per_s: float
    samples: int = 1
    pass_at: dict[str, float] = field(default_factory=dict)
    maj_at: dict[str, float] = field(default_factory=dict)
    min_thinking: int = 0  # an earlier `</think>` was replaced by `Wait,` until this many tokens (budget forcing)
    stated_effort: str | None = None  # the effort the prompt stated (`Reasoning: high`; ponder.effort_prompt)
    rechecks: int = 0  # ends of thinking replaced by the recheck word (ponder.recheck)
    vote: bool = False  # answered by a vote over the rechecked passes (GenerationParams.vote)

    def to_dict(self) -> dict:
        return asdict(self)


def run_grid(model, tokenizer, tasks: Iterable[str], levels: Iterable[int], settings: dict[str, int], n: int,
             seed: int, samples: int = 1, temperature: float | None = None, answer_budget: int = 48,
             batch_size: int = 64, on_cell: Callable[[Row], None] | None = None, guard: bool = False,
             min_thinking: int = 0, effort_prompt: bool = False,
             rechecks: dict[str, int] | None = None, vote: bool = False) -> list[Row]:
    """`settings` maps a label (an effort name or `budget=N`) to a thinking budget in tokens. `guard` decodes with
    each task's decoding guard (`Task.guard`: countdown keeps the search's books; ponder.tasks.countdown_guard).
    `min_thinking` forces thinking of at least that many tokens (capped by each budget), s1's budget forcing: an
    earlier `</think>` is replaced by `Wait,`. `effort_prompt`: the model reads its effort from the prompt
    (PonderMeta.effort_prompt), so a setting named after an effort states it (ponder.effort_prompt). `rechecks`
    (PonderMeta.rechecks) gives a setting named after an effort that many rechecks (ponder.recheck), and `vote`
    (PonderMeta.recheck_vote) answers what most of their passes answer."""
    if n < 1 or samples < 1:
        raise ValueError("n and samples must be >= 1")
    temperature = (0.0 if samples == 1 else 0.7) if temperature is None else temperature
    rows: list[Row] = []
    levels = list(levels)
    for name in tasks:
        task = get_task(name)
        problems = {level: task.sample_many(seed, level, n) for level in levels}
        # All levels of a task share one continuously refilled batch (a finished row's place goes to the next
        # problem), so a sweep costs what its tokens cost; each cell's seconds are its share of the time by tokens.
        jobs = [(level, p) for level in levels for p in problems[level] for _ in range(samples)]
        for label, budget in settings.items():
            stated = stated_effort(effort_prompt, label)
            prompts = [prompt_ids(tokenizer, p.prompt, stated) for _, p in jobs]
            floor = min(min_thinking, budget)
            looks = rechecks_for(rechecks or {}, label)
            base = GenerationParams(max_thinking=budget, min_thinking=floor, answer_budget=answer_budget,
                                    temperature=temperature, max_new_tokens=budget + answer_budget + 8,
                                    rechecks=looks, vote=vote)
            params = [replace(base, seed=seed * 100_003 + i) for i in range(len(prompts))]  # samples must differ
            start = time.perf_counter()
            guards = [task.guard(p) for _, p in jobs] if guard else None  # stateful: new ones for each setting
            completions = generate(model, tokenizer, prompts, params, max_batch=batch_size, guards=guards)
            seconds = time.perf_counter() - start
            total_tokens = max(1, sum(len(c.token_ids) for c in completions))
            for level in levels:
                mine = [c for (lvl, _), c in zip(jobs, completions, strict=True) if lvl == level]
                share = seconds * sum(len(c.token_ids) for c in mine) / total_tokens
                row = replace(_row(task, level, label, budget, problems[level], mine, samples, share),
                              min_thinking=floor, stated_effort=stated, rechecks=looks,
                              vote=vote and looks > 0)
                rows.append(row)
                if on_cell:
                    on_cell(row)
    return rows


def _row(task, level, label, budget, problems, completions, samples, seconds) -> Row:
    verdicts, keys = [], []
    for i, c in enumerate(completions):
        p = problems[i // samples]
        verdicts.append(task.verify(p, c.answer).correct)
        keys.append(task.answer_key(p, c.answer))
    total = len(completions)
    generated = sum(len(c.token_ids) for c in completions)
    pass_at, maj_at = {}, {}
    if samples > 1:
        for k in ks_up_to(samples):
            per = [(verdicts[j * samples:(j + 1) * samples], keys[j * samples:(j + 1) * samples])
                   for j in range(len(problems))]
            pass_at[str(k)] = round(sum(pass_at_k(samples, sum(v), k) for v, _ in per) / len(per), 4)
            maj_at[str(k)] = round(sum(maj_at_k(ks, v, k) for v, ks in per) / len(per), 4)
    return Row(task.name, level, label, budget, len(problems), round(sum(verdicts) / total, 4),
               round(sum(c.thinking_tokens for c in completions) / total, 1),
               round(sum(c.answer_tokens for c in completions) / total, 1),
               round(seconds, 2), round(generated / max(seconds, 1e-9), 1), samples, pass_at, maj_at)
