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

from ponder.tasks.base import ASKED_LEVEL, Problem, Span, Task, Verdict, check_level

_INT = re.compile(r"[+-]?\d+")
_PROMPT = re.compile(r"What is (\d{1,18}) ([-+*]) (\d{1,18})\?")  # the canonical prompt; 18 digits keep it exact


def _value(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


def _digits(n: int) -> list[int]:
    return [int(c) for c in str(n)]


def _spaced(digits: list[int]) -> str:
    return " ".join(str(d) for d in digits)


def _strip_zeros(digits: list[int]) -> list[int]:
    i = 0
    while i < len(digits) - 1 and digits[i] == 0:
        i += 1
    return digits[i:]


class _Writer:
    """Collects spans and injects masked slips: a wrong result, then a learnable ` Wait, ` and the right one."""

    def __init__(self, rng: random.Random | None, slip_rate: float):
        self.spans: list[Span] = []
        self.rng = rng
        self.slip_rate = slip_rate if rng is not None else 0.0

    def text(self, s: str) -> None:
        self.spans.append(Span(s))

    def step(self, lhs: str, result: int) -> None:
        """Write `lhs=result`, sometimes slipping first (`lhs=wrong Wait, lhs=result`)."""
        if self.slip_rate and self.rng.random() < self.slip_rate:
            wrong = result + self.rng.choice([-10, -2, -1, 1, 2, 10])
            if wrong >= 0 and wrong != result:
                self.spans.append(Span(f"{lhs}="))
                self.spans.append(Span(str(wrong), learn=False))
                self.spans.append(Span(f" Wait, {lhs}={result}"))
                return
        self.spans.append(Span(f"{lhs}={result}"))


def _add_columns(w: _Writer, top: list[int], bottom: list[int]) -> list[int]:
    """Column addition, units first; returns the sum's digits (most significant first)."""
    n = max(len(top), len(bottom))
    top, bottom = [0] * (n - len(top)) + top, [0] * (n - len(bottom)) + bottom
    carry, out = 0, []
    for i in range(n - 1, -1, -1):
        s = top[i] + bottom[i] + carry
        w.text(" " if i < n - 1 else "")
        w.step(f"{top[i]}+{bottom[i]}+{carry}", s)
        out.append(s % 10)
        carry = s // 10
    if carry:
        out.append(carry)
    return out[::-1]


def _sub_columns(w: _Writer, top: list[int], bottom: list[int]) -> list[int]:
    """Column subtraction (top >= bottom), units first. A column is computed as it stands (`7-8-0=-1`) and a negative
    result is then fixed by a borrow (` +10=9`), after which the next column takes b=1: the borrow is decided once
    the column's difference is on the page, not guessed before its first token (writing `17-8-0=9` up front made
    the model borrow where no borrow was due)."""
    n = len(top)
    bottom = [0] * (n - len(bottom)) + bottom
    borrow, out = 0, []
    for i in range(n - 1, -1, -1):
        diff = top[i] - bottom[i] - borrow
        w.text(" " if i < n - 1 else "")
        w.step(f"{top[i]}-{bottom[i]}-{borrow}", diff)
        if diff < 0:
            w.text(f" +10={diff + 10}")
        out.append(diff % 10)
        borrow = 1 if diff < 0 else 0
    return _strip_zeros(out[::-1])


def _mul_digit(w: _Writer, top: list[int], d: int) -> list[int]:
    carry, out = 0, []
    for i in range(len(top) - 1, -1, -1):
        s = top[i] * d + carry
        w.text(" " if i < len(top) - 1 else "")
        w.step(f"{top[i]}*{d}+{carry}", s)
        out.append(s % 10)
        carry = s // 10
    if carry:
        out.append(carry)
    return out[::-1]


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
        return Problem(self.name, level, f"What is {a} {op} {b}?", str(_value(a, op, b)), {"a": a, "b": b, "op": op})

    def read_prompt(self, text: str) -> Problem | None:
        m = _PROMPT.fullmatch(text.strip())
        if m is None:
            return None
        a, op, b = int(m[1]), m[2], int(m[3])
        return Problem(self.name, ASKED_LEVEL, text.strip(), str(_value(a, op, b)), {"a": a, "b": b, "op": op})

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

    def trace_spans(self, problem: Problem, rng: random.Random | None = None, slip_rate: float = 0.0) -> list[Span]:
        a, b, op = problem.meta["a"], problem.meta["b"], problem.meta["op"]
        da, db = _digits(a), _digits(b)
        w = _Writer(rng, slip_rate)
        w.text(f"{_spaced(da)} {op} {_spaced(db)}\n")
        if op == "+":
            result = _add_columns(w, da, db)
        elif op == "-":
            result = _sub_columns(w, da, db)
        else:
            result = []
            for shift, d in enumerate(reversed(db)):
                w.text(f"{a}*{d}" + (f" shift {shift}" if shift else "") + ": ")
                partial = _mul_digit(w, da, d) + [0] * shift
                w.text(f" so {_spaced(partial)}\n")
                if shift:
                    w.text(f"{_spaced(result)} + {_spaced(partial)}: ")
                    partial = _add_columns(w, result, partial)
                    w.text(f" so {_spaced(partial)}\n")
                result = partial
            result = _strip_zeros(result)
        # Multiplication lines already end with a newline; column lines of + and - do not.
        w.text(("" if op == "*" else "\n") + f"result {_spaced(result)}\n")
        ua, ub = da[-1], db[-1]
        units = (ua + ub) % 10 if op == "+" else (ua - ub) % 10 if op == "-" else (ua * ub) % 10
        first = f"1{ua}" if op == "-" and ua < ub else str(ua)
        w.text(f"check units {first}{op}{ub}={_units_value(op, int(first), ub)} ends {units} ok")
        return w.spans

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


def _units_value(op: str, x: int, y: int) -> int:
    return x + y if op == "+" else x - y if op == "-" else x * y


# A column step: `x+y+c=s`, `x-y-b=s` or `x*d+c=s`.
_STEP = re.compile(r"(?<![\d*])(\d+)([+*-])(\d+)([+-])(\d+)=(-?\d+)")
# The borrow that fixes a negative column difference: `=-1 +10=9`.
_BORROW = re.compile(r"=(-\d+) \+10=(\d+)")
# The final result line: `result d d d`.
_SO_FINAL = re.compile(r"result ((?:\d ?)+)\n")
