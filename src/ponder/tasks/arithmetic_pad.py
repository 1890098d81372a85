"""Arithmetic scratchpads at three reasoning efforts (ponder.tasks.arithmetic writes the prompts and verifies).

Every step is one small local fact (`lhs=result`: a column sum, a column difference then its borrow, or a digit
product plus carry), because a tiny model cannot compute a multi-digit result in one token
(shared/notes/countdown-feasibility.md). Long multiplication writes one partial product per digit of the
multiplier (shifted by appended zeros) and adds them up two at a time.

A model told its effort (the `Reasoning: low|medium|high` system line of ponder.effort_prompt, the gpt-oss
convention) learns a scratchpad per effort, so that more effort is more checking. Every effort writes only steps the
model can do (the twelfth stage's `low` wrote step results without their left-hand sides, `12 13 33`, and solved
nothing from level 2 up: the model cannot do the lookup and the carry in its head):
- `low` works the problem and stops at the result line.
- `medium` (and no effort line: the scratchpad every earlier ponder model was trained on) adds the units check.
- `high` then checks the whole result by an independent computation: the operands swapped (`check 3 * 4 1 7`), a
  difference added back (`check 4 0 2 + 3 7 7 to 7 6 9`), and compares, naming what it compares with
  (`so 1 2 5 1 vs result 1 2 5 1 ok`). On `no` it redoes the first computation and takes that result. Every high
  trace ends by restating the result it answers (`result ...`), so the answer is copied from the result by name,
  never from the nearest number (the twelfth stage's model answered the minuend, the last number its check wrote).
  Some high traces carry a silent mistake (masked, so never learned) in the first pass, and as many in the check:
  a verdict that always said `ok`, or that copied one value into the other, would then be wrong, so the model must
  compare both. The mistake is never in the first pass's units digit, which the units check guards.
"""

from __future__ import annotations

import random

from ponder.effort_prompt import PROMPT_EFFORTS
from ponder.tasks.base import Span

# Shares of high-effort traces whose first pass, or whose check, carries a silent mistake (the check then disagrees).
FIRST_PASS_MISTAKE_RATE = 0.2
CHECK_MISTAKE_RATE = 0.2


def digits(n: int) -> list[int]:
    return [int(c) for c in str(n)]


def spaced(ds: list[int]) -> str:
    return " ".join(str(d) for d in ds)


def strip_zeros(ds: list[int]) -> list[int]:
    i = 0
    while i < len(ds) - 1 and ds[i] == 0:
        i += 1
    return ds[i:]


def number(ds: list[int]) -> int:
    return int("".join(map(str, ds)))


def value(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


class Writer:
    """Collects spans. `slip_rate`: masked slips followed by a learnable fix (`lhs=wrong Wait, lhs=right`).
    `mistake_at`: the index of the step written wrong without a fix (masked); the computation then carries on from
    the wrong value, as a real mistake would."""

    def __init__(self, rng: random.Random | None, slip_rate: float, mistake_at: int | None = None):
        self.spans: list[Span] = []
        self.rng = rng
        self.slip_rate = slip_rate if rng is not None else 0.0
        self.mistake_at = mistake_at
        self.steps = 0

    def text(self, s: str) -> None:
        self.spans.append(Span(s))

    def step(self, lhs: str, result: int) -> int:
        """Write one step and return the value written (which the computation goes on from)."""
        index, self.steps = self.steps, self.steps + 1
        if index == self.mistake_at:
            wrong = result + (1 if result <= 0 else self.rng.choice([-1, 1]))
            self.spans.append(Span(f"{lhs}="))
            self.spans.append(Span(str(wrong), learn=False))
            return wrong
        if self.slip_rate and self.rng.random() < self.slip_rate:
            wrong = result + self.rng.choice([-10, -2, -1, 1, 2, 10])
            if wrong >= 0 and wrong != result:
                self.spans.append(Span(f"{lhs}="))
                self.spans.append(Span(str(wrong), learn=False))
                self.spans.append(Span(f" Wait, {lhs}={result}"))
                return result
        self.spans.append(Span(f"{lhs}={result}"))
        return result


def add_columns(w: Writer, top: list[int], bottom: list[int]) -> list[int]:
    """Column addition, units first; returns the sum's digits (most significant first)."""
    n = max(len(top), len(bottom))
    top, bottom = [0] * (n - len(top)) + top, [0] * (n - len(bottom)) + bottom
    carry, out = 0, []
    for i in range(n - 1, -1, -1):
        w.text(" " if i < n - 1 else "")
        s = w.step(f"{top[i]}+{bottom[i]}+{carry}", top[i] + bottom[i] + carry)
        out.append(s % 10)
        carry = s // 10
    if carry:
        out.append(carry)
    return out[::-1]


def sub_columns(w: Writer, top: list[int], bottom: list[int]) -> list[int]:
    """Column subtraction (top >= bottom), units first. A column is computed as it stands (`7-8-0=-1`) and a negative
    result is then fixed by a borrow (` +10=9`), after which the next column takes b=1: the borrow is decided once
    the column's difference is on the page, not guessed before its first token (writing `17-8-0=9` up front made
    the model borrow where no borrow was due)."""
    n = len(top)
    bottom = [0] * (n - len(bottom)) + bottom
    borrow, out = 0, []
    for i in range(n - 1, -1, -1):
        w.text(" " if i < n - 1 else "")
        diff = w.step(f"{top[i]}-{bottom[i]}-{borrow}", top[i] - bottom[i] - borrow)
        if diff < 0:
            w.text(f" +10={diff + 10}")
        out.append(diff % 10)
        borrow = 1 if diff < 0 else 0
    return strip_zeros(out[::-1])


def mul_digit(w: Writer, top: list[int], d: int) -> list[int]:
    carry, out = 0, []
    for i in range(len(top) - 1, -1, -1):
        w.text(" " if i < len(top) - 1 else "")
        s = w.step(f"{top[i]}*{d}+{carry}", top[i] * d + carry)
        out.append(s % 10)
        carry = s // 10
    if carry:
        out.append(carry)
    return out[::-1]


def compute(w: Writer, a: int, op: str, b: int) -> list[int]:
    """The scratchpad of `a op b` after its header line; returns the result's digits. Multiplication lines end
    with a newline; the column line of + and - does not."""
    da, db = digits(a), digits(b)
    if op == "+":
        return add_columns(w, da, db)
    if op == "-":
        return sub_columns(w, da, db)
    result: list[int] = []
    for shift, d in enumerate(reversed(db)):
        w.text(f"{a}*{d}" + (f" shift {shift}" if shift else "") + ": ")
        partial = mul_digit(w, da, d) + [0] * shift
        w.text(f" so {spaced(partial)}\n")
        if shift:
            w.text(f"{spaced(result)} + {spaced(partial)}: ")
            partial = add_columns(w, result, partial)
            w.text(f" so {spaced(partial)}\n")
        result = partial
    return strip_zeros(result)


def _result_line(w: Writer, op: str, result: list[int], end: str = "\n") -> None:
    """`end=""` where the result line ends the thinking."""
    w.text(("" if op == "*" else "\n") + f"result {spaced(result)}{end}")


def _units_check(w: Writer, a: int, op: str, b: int) -> None:
    ua, ub = a % 10, b % 10
    first = 10 + ua if op == "-" and ua < ub else ua
    w.text(f"check units {first}{op}{ub}={value(first, op, ub)} ends {value(ua, op, ub) % 10} ok")


def _check(w: Writer, a: int, op: str, b: int, result: list[int]) -> bool:
    """Check the written result by an independent computation; True when it agrees. The line comparing the two
    names what the check is compared with (`vs result ...`, or the first operand for a difference)."""
    if op == "-":  # a - b = r is checked as r + b = a
        w.text(f"\ncheck {spaced(result)} + {spaced(digits(b))} to {spaced(digits(a))}\n")
        got = add_columns(w, result, digits(b))
        w.text(f"\nso {spaced(got)} vs {spaced(digits(a))}")
        return number(got) == a
    w.text(f"\ncheck {spaced(digits(b))} {op} {spaced(digits(a))}\n")
    got = compute(w, b, op, a)
    w.text(("" if op == "*" else "\n") + f"so {spaced(got)} vs result {spaced(result)}")
    return got == result


def _steps_whose_mistake_shows(run, keep_units: bool) -> list[int]:
    """The steps of `run(writer) -> int` whose silent mistake changes what it returns (and, with `keep_units`, not
    its units digit)."""
    dry = Writer(None, 0.0)
    right = run(dry)
    shown = []
    for k in range(dry.steps):
        got = run(Writer(random.Random(k), 0.0, mistake_at=k))
        if got != right and (not keep_units or got % 10 == right % 10):
            shown.append(k)
    return shown


def _high_mistake(a: int, op: str, b: int, rng: random.Random) -> int | None:
    """The step (counted over the whole trace) of a high trace's silent mistake, or None for a trace without one."""
    draw = rng.random()
    if draw >= FIRST_PASS_MISTAKE_RATE + CHECK_MISTAKE_RATE:
        return None
    first_pass = lambda w: number(compute(w, a, op, b))  # noqa: E731
    if draw < FIRST_PASS_MISTAKE_RATE:
        steps = _steps_whose_mistake_shows(first_pass, keep_units=True)
        return rng.choice(steps) if steps else None
    dry = Writer(None, 0.0)
    result = compute(dry, a, op, b)
    check = (lambda w: number(add_columns(w, result, digits(b)))) if op == "-" else \
        (lambda w: number(compute(w, b, op, a)))
    steps = _steps_whose_mistake_shows(check, keep_units=False)
    return dry.steps + rng.choice(steps) if steps else None


def scratchpad(a: int, op: str, b: int, rng: random.Random | None, slip_rate: float,
               effort: str | None = None) -> list[Span]:
    """The thinking for `a op b` at a reasoning effort (None: the scratchpad of a model not told its effort)."""
    if effort not in (None, *PROMPT_EFFORTS):
        raise ValueError(f"effort must be one of {', '.join(PROMPT_EFFORTS)} or None, got {effort!r}")
    w = Writer(rng, slip_rate)
    if effort == "high" and rng is not None:
        w.mistake_at = _high_mistake(a, op, b, rng)
    w.text(f"{spaced(digits(a))} {op} {spaced(digits(b))}\n")
    result = compute(w, a, op, b)
    _result_line(w, op, result, end="" if effort == "low" else "\n")
    if effort == "low":
        return w.spans
    _units_check(w, a, op, b)
    if effort != "high":
        return w.spans
    if _check(w, a, op, b, result):
        w.text(f" ok\nresult {spaced(result)}")
        return w.spans
    w.mistake_at = None  # the redo is written without the mistake
    w.text(" no\n")
    _result_line(w, op, compute(w, a, op, b), end="")
    return w.spans
