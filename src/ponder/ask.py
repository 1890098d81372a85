"""One question, one answer: load a model, think within the chosen effort, return the answer and its accounting."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

from ponder.engine import GenerationParams, generate
from ponder.model.checkpoint import DEFAULT_MODEL, load_checkpoint
from ponder.train.data import prompt_ids


@dataclass
class Answer:
    answer: str
    thinking: str
    thinking_tokens: int
    answer_tokens: int
    finish_reason: str
    effort: str
    budget: int
    model: str
    seconds: float

    @property
    def summary(self) -> str:
        cut = ", cut by the budget" if self.finish_reason == "thinking_budget" else ""
        return f"thought for {self.thinking_tokens} tokens in {self.seconds:.1f} s{cut}"

    def to_dict(self) -> dict:
        return {**asdict(self), "summary": self.summary}


@functools.lru_cache(maxsize=2)
def _load(model: str):
    return load_checkpoint(model)


def ask(question: str, model: str = DEFAULT_MODEL, effort: str = "high", budget: int | None = None,
        temperature: float = 0.0, seed: int | None = None) -> Answer:
    lm, tokenizer, meta, _ = _load(model)
    if effort not in meta.efforts:
        raise ValueError(f"unknown effort {effort!r}; choose one of {', '.join(meta.efforts)}")
    limit = meta.efforts[effort] if budget is None else budget
    params = GenerationParams(max_thinking=limit, answer_budget=meta.answer_budget, temperature=temperature,
                              seed=seed, max_new_tokens=limit + meta.answer_budget + 8)
    out = generate(lm, tokenizer, [prompt_ids(tokenizer, question)], params)[0]
    return Answer(out.answer, out.thinking, out.thinking_tokens, out.answer_tokens, out.finish_reason,
                  effort if budget is None else "budget", limit, model, round(out.seconds, 3))
