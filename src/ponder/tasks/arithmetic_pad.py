"""Arithmetic scratchpads at three reasoning efforts (ponder.tasks.arithmetic writes the prompts and verifies).

Every step is one small local fact (`lhs=result`: a column sum, a column difference then its borrow, or a digit
product plus carry), because a tiny model cannot compute a multi-digit result in one token
(shared/notes/countdown-feasibility.md). Long multiplication writes one partial product per digit of the
multiplier (shifted by appended zeros) and adds them up two at a time.

A model told its effort (the `Reasoning: low|medium|high` system line of ponder.effort_prompt, the gpt-oss
convention) learns a scratchpad per effort. The three differ from their first line on, so that the model reads its
effort where the line is close, and none puts new tokens between the steps of the plain scratchpad's lines or walks
the operands' digits in another order, because this tiny model finds every digit it uses by looking back, and each
of those broke it (benchmarks/results/experiments/countdown_trace_redesigns.md, §14-17):
- `low` leaves out a zero carry or borrow (`7*3=21`, not `7*3+0=21`): the same facts in fewer tokens.
- `medium` (and no effort line: the scratchpad every earlier ponder model was trained on) writes every step whole.
- `high` checks a product by casting out nines, a check by another method, in a line after the whole plain
  scratchpad: each operand reduced to its digital root, their product reduced, and the result reduced the same way
  (`check nines 4+1+7=12 1+2+0=3 so 3 and 3 so 3*3+0=9 so 9 vs 1+2+5=8 8+1+0=9 so 9 ok` for 417 * 3); the result
  line and the units check are then written again, the ending the answer is copied after. Every reduction step is
  a column-sum step the model already writes. Sums and differences, whose scratchpad is a single line already
  checked at its units, are written as at `medium`: the check's fixed cost (about 60 tokens) would more than double
  their thinking, and thinking should grow with the problem (the eval issue's adaptive-compute bar).
Every effort ends with the plain scratchpad's ending (the result line and the units check), and the answer is the
result line.
Trained with the operands' roots in a line before the scratchpad (§18), the effort line was read, but that line
broke the scratchpad's look-ups (`high` answered 64/86/80% of levels 3-5 against `medium`'s 94/100/94%), so the
whole check now comes after it. Trained so (§19), `medium` stayed intact and the check was written on 49 of 60
products, but `high`'s answer, copied across the check line, was miscopied (86/88/94% against 98/98/100%), and
with the result restated after the verdict (§20) it was miscopied as often (53 of 60 answers the last result line's
number). Ending as `medium` does, with the check between the result line and the units check (§21), the answer was
copied every time but the check was written on only 35 of 60, so it now comes after the whole plain scratchpad
again; trained so (§22), the answer was copied every time but `medium` wrote the check too (49 of 60). No model
trained on these pads is shipped.
"""

from __future__ import annotations

import random

from ponder.effort_prompt import PROMPT_EFFORTS
from ponder.tasks.base import Span


def digits(n: int) -> list[int]:
    return [int(c) for c in str(n)]


def spaced(ds: list[int]) -> str:
    return " ".join(str(d) for d in ds)


def strip_zeros(ds: list[int]) -> list[int]:
    i = 0
    while i < len(ds) - 1 and ds[i] == 0:
        i += 1
    return ds[i:]


def value(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


class Writer:
    """Collects spans, one step at a time, in the form of an effort (see the module docstring). `slip_rate`: masked
    slips followed by a learnable fix (`lhs=wrong Wait, lhs=right`)."""

    def __init__(self, rng: random.Random | None, slip_rate: float, effort: str | None = None):
        self.spans: list[Span] = []
        self.rng = rng
        self.slip_rate = slip_rate if rng is not None else 0.0
        self.effort = effort

    def text(self, s: str) -> None:
        self.spans.append(Span(s))

    def step(self, lhs: str, result: int) -> None:
        """Write one step `x op y op c` (one digit each, c the carry or borrow), ending at its right value."""
        if self.effort == "low" and lhs.endswith(("+0", "-0")):
            lhs = lhs[:-2]
        if self.slip_rate and self.rng.random() < self.slip_rate:
            wrong = result + self.rng.choice([-10, -2, -1, 1, 2, 10])
            if wrong >= 0 and wrong != result:
                # the wrong value is seen, never learned; the fix is learned
                self.spans += [Span(f"{lhs}="), Span(str(wrong), learn=False), Span(f" Wait, {lhs}={result}")]
                return
        self.spans.append(Span(f"{lhs}={result}"))


def add_columns(w: Writer, top: list[int], bottom: list[int]) -> list[int]:
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


def sub_columns(w: Writer, top: list[int], bottom: list[int]) -> list[int]:
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
    return strip_zeros(out[::-1])


def mul_digit(w: Writer, top: list[int], d: int) -> list[int]:
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


def _result_line(w: Writer, op: str, result: list[int]) -> None:
    w.text(("" if op == "*" else "\n") + f"result {spaced(result)}\n")


def _units_check(w: Writer, a: int, op: str, b: int) -> None:
    ua, ub = a % 10, b % 10
    first = 10 + ua if op == "-" and ua < ub else ua
    w.text(f"check units {first}{op}{ub}={value(first, op, ub)} ends {value(ua, op, ub) % 10} ok")


def _root(n: int) -> tuple[str, int]:
    """Steps reducing `n` to its digital root (1-9; 0 for 0), three digits a step, each a column-sum step the model
    already writes (`4+1+7=12 1+2+0=3`); a one-digit `n` needs none."""
    ds, steps = digits(n), []
    while len(ds) > 1:
        head, ds = (ds + [0])[:3], ds[3:]
        total = sum(head)
        steps.append(f"{head[0]}+{head[1]}+{head[2]}={total}")
        ds = digits(total) + ds
    return " ".join(steps), ds[0]


def _reduced(n: int) -> tuple[str, int]:
    """`n` reduced to its digital root as written (`4+1+7=12 1+2+0=3 so 3`; a one-digit `n` is just itself)."""
    steps, root = _root(n)
    return (f"{steps} so {root}" if steps else f"{root}"), root


def _nines_check(w: Writer, a: int, b: int, result: int) -> None:
    """High effort's check line for a product: the operands' digital roots and their product's, against the result's."""
    (sa, ra), (sb, rb), (sr, rr) = _reduced(a), _reduced(b), _reduced(result)
    sc, rc = _root(ra * rb)
    product = f"{ra}*{rb}+0={ra * rb}" + (f" {sc}" if sc else "") + f" so {rc}"
    verdict = "ok" if rr == rc else "no"
    w.text(f"check nines {sa} and {sb} so {product} vs {sr} {verdict}\n")


def scratchpad(a: int, op: str, b: int, rng: random.Random | None, slip_rate: float,
               effort: str | None = None) -> list[Span]:
    """The thinking for `a op b` at a reasoning effort (None: the scratchpad of a model not told its effort)."""
    if effort not in (None, *PROMPT_EFFORTS):
        raise ValueError(f"effort must be one of {', '.join(PROMPT_EFFORTS)} or None, got {effort!r}")
    w = Writer(rng, slip_rate, effort)
    w.text(f"{spaced(digits(a))} {op} {spaced(digits(b))}\n")
    result = compute(w, a, op, b)
    _result_line(w, op, result)
    _units_check(w, a, op, b)
    if effort == "high" and op == "*":
        # After the whole plain scratchpad, where going on or stopping is read from the effort line (§20: on every
        # trace); parting at the line after the result line, it was read on 35 of 60 (§21). Then the plain ending
        # again, after which the model copies its answer: ended by the check (§19) or by the result restated after
        # the verdict (§20), the answer was miscopied from a right result line; ended so, never (§21).
        w.text("\n")
        _nines_check(w, a, b, value(a, op, b))
        _result_line(w, op, result)
        _units_check(w, a, op, b)
    return w.spans
