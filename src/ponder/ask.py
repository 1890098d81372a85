"""One turn of a conversation: load a model, think within the chosen effort, return the answer and its accounting."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ponder.engine import GenerationParams, generate
from ponder.engine.summary import summary_line
from ponder.model.checkpoint import DEFAULT_MODEL, load_checkpoint


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
    summary: str

    def to_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=2)
def load(model: str):
    """(model, tokenizer, ponder meta, folder), cached: a chat session loads its model once."""
    return load_checkpoint(model)


def thinking_budget(meta, effort: str, budget: int | None) -> int:
    if budget is not None:
        return budget
    if effort not in meta.efforts:
        raise ValueError(f"unknown effort {effort!r}; choose one of {', '.join(meta.efforts)}")
    return meta.efforts[effort]


def context_overflow(lm, prompt_tokens: int, new_tokens: int) -> str | None:
    """Why a prompt and the tokens to generate after it do not fit the model's context (None if they do)."""
    context = getattr(lm.config, "max_position_embeddings", None)
    if context is None or prompt_tokens + new_tokens <= context:
        return None
    return (f"the prompt ({prompt_tokens} tokens) and the budget ({new_tokens} tokens) exceed the model's context "
            f"of {context} tokens")


def ask(question: str | list[dict], model: str = DEFAULT_MODEL, effort: str = "high", budget: int | None = None,
        min_thinking: int = 0, temperature: float = 0.0, seed: int | None = None,
        on_token: Callable[[int, bool], None] | None = None) -> Answer:
    """Answer a question (or a list of chat messages ending with the user's turn)."""
    messages = [{"role": "user", "content": question}] if isinstance(question, str) else question
    if not messages or not str(messages[-1].get("content", "")).strip():
        raise ValueError("the question is empty")
    lm, tokenizer, meta, _ = load(model)
    limit = thinking_budget(meta, effort, budget)
    params = GenerationParams(max_thinking=limit, min_thinking=min(min_thinking, limit),
                              answer_budget=meta.answer_budget, temperature=temperature, seed=seed,
                              max_new_tokens=limit + meta.answer_budget + 8)
    prompt = list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                return_dict=False))
    problem = context_overflow(lm, len(prompt), params.max_new_tokens)
    if problem:
        raise ValueError(problem)
    callback = None if on_token is None else (lambda _row, token, forced: on_token(token, forced))
    out = generate(lm, tokenizer, [prompt], params, on_token=callback)[0]
    line = summary_line(out.thinking, out.thinking_tokens, out.seconds, out.finish_reason == "thinking_budget")
    return Answer(out.answer, out.thinking, out.thinking_tokens, out.answer_tokens, out.finish_reason,
                  effort if budget is None else "budget", limit, model, round(out.seconds, 3), line)
