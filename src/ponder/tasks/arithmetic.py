"""Arithmetic: long computation, solved by a digit-by-digit scratchpad.

Prompts are `What is {a} {op} {b}?` (DESIGN.md). Every scratchpad step is one small local fact (a column sum, a
column difference and then its borrow, or a digit product plus carry), because a tiny model cannot compute a
multi-digit result in one token (shared/notes/countdown-feasibility.md). Long multiplication writes one partial
product per digit of the multiplier (shifted by appended zeros) and adds them up two at a time.
Subtraction keeps a >= b, so answers are never negative.

Levels are ordered by the scratchpad they need (mean tokens, benchmarks/results/level_ladder.md): 1 two-digit
addition (48), 2 three-digit addition or subtraction (64), 3 a three-digit number times a digit (73), 4 two two-digit
numbers multiplied (153), 5 two three-digit numbers multiplied (324). Level 3 used to mix three-digit sums and
differences with two-digit times one-digit products, which needed less scratchpad than level 2 (62.6 tokens against
63.5), so a model that follows its scratchpad could not think longer at level 3 than at level 2 (the eval issue's
adaptive-compute bar).
"""

from __future__ import annotations

import random
import re

from ponder.tasks.arithmetic_pad import scratchpad, value
from ponder.tasks.base import ASKED_LEVEL, Problem, Span, Task, Verdict, check_level

_INT = re.compile(r"[+-]?\d+")
_PROMPT = re.compile(r"What is (\d{1,18}) ([-+*]) (\d{1,18})\?")  # the canonical prompt; 18 digits keep it exact


_LEVEL_TEXT = {
    1: "two-digit addition",
    2: "three-digit addition or subtraction",
    3: "a three-digit number times a digit",
    4: "two two-digit numbers multiplied",
    5: "two three-digit numbers multiplied",
}


class ArithmeticTask(Task):
    name = "arithmetic"

    def describe_level(self, level: int) -> str:
        check_level(level)
        return _LEVEL_TEXT[level]

    def sample(self, rng: random.Random, level: int) -> Problem:
        check_level(level)
        r = rng.randint
        if level == 1:
            op, a, b = "+", r(1, 99), r(1, 99)
        elif level == 2:
            op, a, b = rng.choice("+-"), r(10, 999), r(10, 999)
        elif level == 3:
            op, a, b = "*", r(100, 999), r(2, 9)
        elif level == 4:
            op, a, b = "*", r(10, 99), r(10, 99)
        else:
            op, a, b = "*", r(100, 999), r(100, 999)
        if op == "-" and a < b:
            a, b = b, a
        return Problem(self.name, level, f"What is {a} {op} {b}?", str(value(a, op, b)), {"a": a, "b": b, "op": op})

    def read_prompt(self, text: str) -> Problem | None:
        m = _PROMPT.fullmatch(text.strip())
        if m is None:
            return None
        a, op, b = int(m[1]), m[2], int(m[3])
        return Problem(self.name, ASKED_LEVEL, text.strip(), str(value(a, op, b)), {"a": a, "b": b, "op": op})

    def verify(self, problem: Problem, answer_text: str) -> Verdict:
        text = answer_text.strip()
        if len(text) > self.max_answer_chars:
            return Verdict(False, 0.0, "answer too long")
        if not _INT.fullmatch(text):
            return Verdict(False, 0.0, "not a plain integer")
        if int(text) == int(problem.answer):
            return Verdict(True, 1.0, "correct")
        return Verdict(False, 0.0, f"expected {problem.answer}")

    def answer_key(self, problem: Problem, answer_text: str) -> str:
        text = answer_text.strip()
        return str(int(text)) if _INT.fullmatch(text) and len(text) <= self.max_answer_chars else f"?{text}"

    def trace_spans(self, problem: Problem, rng: random.Random | None = None, slip_rate: float = 0.0,
                    effort: str | None = None) -> list[Span]:
        return scratchpad(problem.meta["a"], problem.meta["op"], problem.meta["b"], rng, slip_rate, effort)

    def recheck_spans(self, problem: Problem, thinking: str, rng: random.Random | None = None,
                      slip_rate: float = 0.0) -> list[Span]:
        """The whole plain scratchpad again, on a line of its own after the forced word. A look of any other kind
        broke the answer's copy: this model copies its answer right only when the thinking ends as the plain
        scratchpad does, the result line then the units check, with the work that made the result right above it
        (benchmarks/results/experiments/rechecks.md, §1: after a casting-out-nines check and the result restated,
        the restated result took an extra digit on 3 of 50 products; after the units check written twice, a sum's
        answer was wrong on half of them). Nor with the operands swapped (§5): that second computation was itself
        miswritten (a partial product's shift zero lost) and the answer follows the last pass's result."""
        return [Span("\n"), *self.trace_spans(problem, rng, slip_rate)]

    def check_steps(self, problem: Problem, thinking: str) -> list[bool]:
        ok: list[bool] = []
        for m in _STEP.finditer(thinking):
            x, o1, y, o2, c, s = m.groups()
            x, y, c, s = int(x), int(y), int(c), int(s)
            value = x + y + c if o1 == "+" else x - y - c if o1 == "-" else x * y + c
            ok.append(value == s)
        for m in _BORROW.finditer(thinking):
            ok.append(int(m.group(1)) < 0 and int(m.group(1)) + 10 == int(m.group(2)))
        for m in _SO_FINAL.finditer(thinking):
            ok.append("".join(m.group(1).split()) == problem.answer)
        return ok


# A column step: `x+y+c=s`, `x-y-b=s` or `x*d+c=s`.
_STEP = re.compile(r"(?<![\d*])(\d+)([+*-])(\d+)([+-])(\d+)=(-?\d+)")
# The borrow that fixes a negative column difference: `=-1 +10=9`.
_BORROW = re.compile(r"=(-\d+) \+10=(\d+)")
# The final result line: `result d d d`.
_SO_FINAL = re.compile(r"result ((?:\d ?)+)\n")
