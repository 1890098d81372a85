"""Verifiable task families. One file per family; register it here and every command sees it."""

from __future__ import annotations

from ponder.tasks.arithmetic import ArithmeticTask
from ponder.tasks.base import LEVELS, Problem, Span, Task, Verdict
from ponder.tasks.countdown import CountdownTask

TASKS: dict[str, Task] = {t.name: t for t in (ArithmeticTask(), CountdownTask())}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None


def read_question(text: str) -> Problem | None:
    """The problem a question states in some task's canonical words (`Task.read_prompt`), or None."""
    return next((p for t in TASKS.values() if (p := t.read_prompt(text)) is not None), None)


__all__ = ["LEVELS", "TASKS", "Problem", "Span", "Task", "Verdict", "get_task", "read_question"]
