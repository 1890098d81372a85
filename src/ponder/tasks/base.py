"""The task interface: a problem family with levels, a generator, a verifier, a solver trace and step checks.

A trace is built as spans of text, each flagged learnable or not: deliberate slips that the trace then corrects
are shown to the model in context but never trained on (their loss is masked), so the model learns to notice and
fix a slip without learning to make one. A span may also name `avoid`: text that would repeat work the trace has
already done if written where the span begins (a countdown move already tried from the same numbers); SFT can push
its probability down (unlikelihood training), which the next-token loss alone does not.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any

LEVELS = (1, 2, 3, 4, 5)
ASKED_LEVEL = 0  # the level of a problem read from a question (`Task.read_prompt`): no generator wrote it


@dataclass(frozen=True)
class Problem:
    """One problem: the prompt a model sees, the reference answer, and what the verifier needs in `meta`."""

    task: str
    level: int
    prompt: str
    answer: str
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Problem:
        return cls(**json.loads(line))


@dataclass(frozen=True)
class Verdict:
    correct: bool
    score: float
    reason: str


@dataclass(frozen=True)
class Span:
    """A piece of a trace; `learn=False` marks text shown in context but masked out of the loss; `avoid` lists
    single-token continuations that should not start where this span starts (each leads only to repeated work)."""

    text: str
    learn: bool = True
    avoid: tuple[str, ...] = ()


class Task:
    """Base class of a task family. Subclasses set `name` and implement the four methods below (and
    `answer_from_trace` where problems have several right answers)."""

    name: str = ""
    # Answers longer than this are refused unread: verifiers must stay fast on hostile input.
    max_answer_chars: int = 200

    def sample(self, rng: random.Random, level: int) -> Problem:
        raise NotImplementedError

    def verify(self, problem: Problem, answer_text: str) -> Verdict:
        raise NotImplementedError

    def trace_spans(self, problem: Problem, rng: random.Random | None = None, slip_rate: float = 0.0,
                    effort: str | None = None) -> list[Span]:
        """The solver's thinking as spans; with `slip_rate > 0`, masked slips followed by learnable fixes. `effort`
        (`low`, `medium`, `high`, or None when the model is not told one) is the reasoning effort the prompt states;
        a task whose solver has one way to think ignores it."""
        raise NotImplementedError

    def recheck_spans(self, problem: Problem, thinking: str, rng: random.Random | None = None,
                      slip_rate: float = 0.0) -> list[Span]:
        """What the model writes after a `check` the engine forces in place of an end of thinking (ponder.recheck),
        `thinking` being all written before that word: by default the trace's last check line again, its words
        after `check` (a second look at the answer it verified), ended as the trace was."""
        checks = [line for line in thinking.splitlines() if line.startswith("check ")]
        if not checks:
            raise ValueError(f"{self.name}: no check line to look at again in the thinking")
        return [Span(checks[-1].removeprefix("check") + ("\n" if thinking.endswith("\n") else ""))]

    def check_steps(self, problem: Problem, thinking: str) -> list[bool]:
        """Per-step correctness of a thinking text (one entry per step the checker recognises)."""
        raise NotImplementedError

    def describe_level(self, level: int) -> str:
        """What problems of this level are, in a few words (`ponder tasks list`); a family may leave it empty."""
        return ""

    def answer_from_trace(self, problem: Problem, thinking: str) -> str:
        """The answer a trace arrives at; training examples end with it, so that the answer follows from the
        thinking. Tasks whose problems have several right answers override this."""
        return problem.answer

    def read_prompt(self, text: str) -> Problem | None:
        """The problem that a question in this task's canonical words (DESIGN.md) states, at ASKED_LEVEL, with its
        reference answer where one is computed cheaply; None for any other text (or numbers beyond the task's
        limits). It lets `ponder ask` verify the answer to such a question and decode it under the task's guard."""
        return None

    def first_repeat(self, problem: Problem, thinking: str) -> tuple[int, str] | None:
        """Where a thinking text first commits to repeating work it has already done (character offset and the
        token written there), for the unlikelihood loss on a model's own searches; None for tasks without search."""
        return None

    def guard(self, problem: Problem, slack: int = 0):
        """A decoding guard for this problem's thinking (ponder.engine.guard: `feed`, `continuations`), or None.
        Search tasks can keep the search's books this way while the model searches (ponder.tasks.countdown_guard);
        `slack` repeats of searched work are let through first."""
        return None

    def reformat(self, problem: Problem, spans: list[Span]) -> list[Span] | None:
        """A thinking written in the task's base format (a model's own search), rewritten in the format this task
        object writes its traces in; None if it cannot be. The base format itself: unchanged."""
        return spans

    def catch_repeats(self, problem: Problem, spans: list[Span], rng: random.Random, rate: float) -> list[Span]:
        """The thinking `spans` with caught repeats inserted at a share `rate` of the places where work already
        done could be repeated: the repeat shown but masked, then its catch learned (self-correction of a loop);
        unchanged for tasks without search."""
        return spans

    def repeated_lines(self, problem: Problem, thinking: str) -> set[int]:
        """Indices of the thinking's lines that repeat work already done (not learned from a model's own search)."""
        return set()

    def answer_key(self, problem: Problem, answer_text: str) -> str:
        """A key that is equal for answers the verifier cannot tell apart (for majority voting)."""
        return " ".join(answer_text.split())

    def trace(self, problem: Problem, rng: random.Random | None = None, slip_rate: float = 0.0) -> str:
        return "".join(s.text for s in self.trace_spans(problem, rng, slip_rate))

    def sample_split(self, rng: random.Random, level: int, split: str) -> Problem:
        """A problem from one side of a fixed partition of the problem space, so that held-out problems can
        never appear in training, whatever seeds either side uses."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        while True:
            problem = self.sample(rng, level)
            if is_test_problem(problem) == (split == "test"):
                return problem

    def sample_many(self, seed: int, level: int, n: int, split: str = "test") -> list[Problem]:
        """`n` problems from one seeded stream; the same (seed, level, n, split) always gives the same list."""
        rng = random.Random(f"{self.name}:{level}:{split}:{seed}")
        return [self.sample_split(rng, level, split) for _ in range(n)]


def is_test_problem(problem: Problem) -> bool:
    """One problem in five (by a stable hash of its prompt) is reserved for evaluation."""
    return hashlib.sha1(problem.prompt.encode()).digest()[0] % 5 == 0


def check_level(level: int) -> int:
    if not isinstance(level, int) or level not in LEVELS:
        raise ValueError(f"level must be one of 1..5, got {level!r}")
    return level
