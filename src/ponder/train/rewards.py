"""Reward functions in TRL's signature, `f(prompts, completions, **columns) -> list[float]`.

The same functions serve ponder's own GRPO loop and TRL's `GRPOTrainer`: completions are strings (or TRL's
conversational form, a list with one assistant message), and the dataset columns `task` and `problem` (a
Problem's JSON line) say how to verify each one. Each function also has a `*_parts` twin returning the float plus
its parts for logging, as nano-aha-moment does.
"""

from __future__ import annotations

import re
from typing import Any

from ponder.engine.parse import DeepSeekR1Parser
from ponder.tasks import Problem, get_task

_WELL_FORMED = re.compile(r"^\s*(?:<think>)?(?!.*<think>)(.*?)</think>(?!.*</think>)(.+)$", re.S)


def _text(completion: Any) -> str:
    if isinstance(completion, list):  # TRL conversational format
        return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant")
    return str(completion)


def _parse(completion: Any) -> tuple[str, str]:
    """(thinking, answer). Completions from ponder's engine start with `<think>`; TRL's start inside the thinking
    block the prompt opened (`enable_thinking=True`): DeepSeek-R1's parser reads both, and a thought never closed
    has no answer. A text with no tags at all is all answer (a model asked not to think)."""
    text = _text(completion)
    if "<think>" not in text and "</think>" not in text:
        return "", text.strip()
    return DeepSeekR1Parser.parse(text)


def _problems(columns: dict, n: int) -> list[Problem]:
    raw = columns.get("problem")
    if raw is None or len(raw) != n:
        raise ValueError("reward functions need a `problem` column (Problem JSON lines), one per completion")
    return [p if isinstance(p, Problem) else Problem.from_json(p) for p in raw]


def outcome_parts(prompts: list, completions: list, **columns) -> list[dict]:
    out = []
    for problem, completion in zip(_problems(columns, len(completions)), completions, strict=True):
        _, answer = _parse(completion)
        verdict = get_task(problem.task).verify(problem, answer)
        out.append({"reward": verdict.score, "correct": verdict.correct, "reason": verdict.reason})
    return out


def outcome_reward(prompts: list, completions: list, **columns) -> list[float]:
    """1 for a verified answer, else 0 (the task's own verifier: the eval and the reward cannot disagree)."""
    return [p["reward"] for p in outcome_parts(prompts, completions, **columns)]


def format_parts(prompts: list, completions: list, **columns) -> list[dict]:
    out = []
    for completion in completions:
        m = _WELL_FORMED.match(_text(completion))
        ok = bool(m) and bool(m.group(2).strip())
        out.append({"reward": 1.0 if ok else 0.0, "well_formed": ok})
    return out


def format_reward(prompts: list, completions: list, **columns) -> list[float]:
    """1 for exactly one `<think>…</think>` followed by a non-empty answer, else 0."""
    return [p["reward"] for p in format_parts(prompts, completions, **columns)]


def process_parts(prompts: list, completions: list, **columns) -> list[dict]:
    out = []
    for problem, completion in zip(_problems(columns, len(completions)), completions, strict=True):
        thinking, _ = _parse(completion)
        steps = get_task(problem.task).check_steps(problem, thinking)
        share = sum(steps) / len(steps) if steps else 0.0
        out.append({"reward": share, "steps": len(steps), "correct_steps": sum(steps)})
    return out


def process_reward(prompts: list, completions: list, **columns) -> list[float]:
    """Share of the thinking's checkable steps that are correct (0 when it has none)."""
    return [p["reward"] for p in process_parts(prompts, completions, **columns)]


def overlong_penalty(lengths: list[int], max_len: int, buffer: int) -> list[float]:
    """DAPO's soft overlong punishment: 0 up to max_len - buffer, then linearly down to -1 at max_len."""
    if buffer <= 0 or buffer > max_len:
        raise ValueError(f"need 0 < buffer <= max_len, got buffer={buffer} max_len={max_len}")
    out = []
    for n in lengths:
        over = n - (max_len - buffer)
        out.append(0.0 if over <= 0 else max(-1.0, -over / buffer))
    return out
