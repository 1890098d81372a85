"""One turn of a conversation: load a model, think within the chosen effort, return the answer and its accounting."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from ponder.effort_prompt import effort_messages, stated_effort
from ponder.engine import GenerationParams, generate
from ponder.engine.summary import summary_line
from ponder.model.checkpoint import DEFAULT_MODEL, load_checkpoint
from ponder.recheck import rechecks_for
from ponder.tasks import get_task, read_question


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
    # The task verifier's verdict where the question is a task's canonical prompt ({"task", "correct", "reason"}),
    # else None; and how often the guard overrode the model's most likely token (None: decoded without a guard).
    verified: dict | None = None
    guard_overrides: int | None = None
    # With a vote over rechecked passes (PonderMeta.recheck_vote): each pass's answer, in order; else empty.
    pass_answers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=2)
def load(model: str):
    """(model, tokenizer, ponder meta, folder), cached: a chat session loads its model once."""
    return load_checkpoint(model)


def passes_line(answers: list[str]) -> str:
    """The line that shows a vote over rechecked passes (Answer.pass_answers)."""
    return f"[passes answered {', '.join(map(repr, answers))}: the reply is their vote, a tie going to the first]"


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
        on_token: Callable[[int, bool], None] | None = None, guard: bool = False) -> Answer:
    """Answer a question (or a list of chat messages ending with the user's turn). A question in a task's canonical
    words is verified by that task's verifier; `guard` decodes it under the task's guard (countdown: the engine
    keeps the search's books), and is refused for any other question."""
    messages = [{"role": "user", "content": question}] if isinstance(question, str) else question
    if not messages or not str(messages[-1].get("content", "")).strip():
        raise ValueError("the question is empty")
    problem = read_question(str(messages[-1]["content"]))
    task = None if problem is None else get_task(problem.task)
    guards = None
    if guard:
        guards = [None if task is None else task.guard(problem)]
        if guards[0] is None:
            raise ValueError("--guard needs a question in the words of a task that has a guard, e.g. \"Using the "
                             "numbers 3, 5, 8, 13, make 24. Use every number exactly once, with + - * / and "
                             "parentheses.\" (see ponder tasks show countdown)")
    lm, tokenizer, meta, _ = load(model)
    limit = thinking_budget(meta, effort, budget)
    params = GenerationParams(max_thinking=limit, min_thinking=min(min_thinking, limit),
                              answer_budget=meta.answer_budget, temperature=temperature, seed=seed,
                              max_new_tokens=limit + meta.answer_budget + 8,
                              rechecks=rechecks_for(meta.rechecks, effort, budget), vote=meta.recheck_vote)
    stated = effort_messages(messages, stated_effort(meta.effort_prompt, effort, budget))
    prompt = list(tokenizer.apply_chat_template(stated, add_generation_prompt=True, tokenize=True,
                                                return_dict=False))
    overflow = context_overflow(lm, len(prompt), params.max_new_tokens)
    if overflow:
        raise ValueError(overflow)
    callback = None if on_token is None else (lambda _row, token, forced: on_token(token, forced))
    out = generate(lm, tokenizer, [prompt], params, on_token=callback, guards=guards)[0]
    line = summary_line(out.thinking, out.thinking_tokens, out.seconds, out.finish_reason == "thinking_budget")
    verified = None
    if task is not None:
        verdict = task.verify(problem, out.answer)
        verified = {"task": task.name, "correct": verdict.correct, "reason": verdict.reason}
    return Answer(out.answer, out.thinking, out.thinking_tokens, out.answer_tokens, out.finish_reason,
                  effort if budget is None else "budget", limit, model, round(out.seconds, 3), line, verified,
                  out.guard_overrides if guard else None, out.pass_answers)
