"""The countdown solver: legal moves, what numbers can still reach, and the depth-first search that writes its own
trace (the SFT traces of `CountdownTask`), with the loss targets that go with it.

Following shared/notes/countdown-feasibility.md, every line is built from easy local steps: it computes the result
first (`try 13-5=8`), compares it with the target written right beside it (`vs 24 no`), and restates the numbers
left (`left 3 8 8`); a dead end is followed by `back to …`, restating the state the search returns to. Move order
is by closeness to the target plus noise, but a move that hits the target takes one of the first three places at
random: were hits ranked first, the first line would be the hit (99% of 2-number traces were), and the model learns
to say `yes` without comparing. A hit is verified by recomputing the final expression (`check …`), which can fail:
masked false hits, at a few times the slip rate, teach the model to catch them.

The search (and so the trace) uses positive integer intermediates up to 999 only; answers with fractions are still
judged correct by the verifier. Reading a search back from a model's thinking is `countdown_replay`'s job.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass

from ponder.tasks.base import Problem, Span

MAX_VALUE = 999
# Share of search states whose trace tries the moves that can still reach the target first (the shipped traces';
# plain closeness order, 0, was measured worse: benchmarks/results/experiments/guide0_finetune.md).
DEFAULT_GUIDE = 0.75


@dataclass(frozen=True)
class _Item:
    value: int
    expr: str
    prec: int  # 3 atom, 2 product/quotient, 1 sum/difference: decides parentheses when combined


def _moves(items: tuple[_Item, ...]) -> list[tuple[int, int, str, int]]:
    """All moves (i, j, op, result) with positive integer results; the larger operand goes first."""
    out = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            a, b = items[i].value, items[j].value
            if a < b:
                i2, j2, a, b = j, i, b, a
            else:
                i2, j2 = i, j
            cands = [("+", a + b), ("*", a * b)]
            if a != b:
                cands.append(("-", a - b))
            if b > 1 and a % b == 0:
                cands.append(("/", a // b))
            out.extend((i2, j2, op, c) for op, c in cands if 0 < c <= MAX_VALUE)
    return out


def _combine(x: _Item, y: _Item, op: str, value: int) -> _Item:
    lx = f"({x.expr})" if x.prec < (2 if op in "*/" else 1) else x.expr
    ry_need = {"+": 1, "-": 2, "*": 2, "/": 3}[op]
    ry = f"({y.expr})" if y.prec < ry_need else y.expr
    return _Item(value, f"{lx}{op}{ry}", 1 if op in "+-" else 2)


def _apply(items: tuple[_Item, ...], move: tuple[int, int, str, int]) -> tuple[_Item, ...]:
    i, j, op, c = move
    rest = tuple(it for k, it in enumerate(items) if k not in (i, j))
    return rest + (_combine(items[i], items[j], op, c),)


@functools.lru_cache(maxsize=200_000)
def _reachable(values: tuple[int, ...], every: bool) -> frozenset[int]:
    """Values reachable from `values` (sorted) using all of them (`every`) or any subset of two or more."""
    if len(values) == 1:
        return frozenset(values)
    items = tuple(_Item(v, str(v), 3) for v in values)
    out: set[int] = set()
    for move in _moves(items):
        nxt = tuple(sorted(it.value for it in _apply(items, move)))
        if not every:
            out.add(move[3])
        out |= _reachable(nxt, every)
    return frozenset(out)


def can_reach(values: list[int], target: int, every: bool) -> bool:
    """Whether `target` can still be made from `values` (all of them if `every`, else any subset, one number
    included) with positive integer steps up to MAX_VALUE: the search's notion of a live state."""
    key = tuple(sorted(values))
    if every:
        return target in _reachable(key, True)
    return target in key or (len(key) > 1 and target in _reachable(key, False))


def _value(a: int, op: str, b: int) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b if b else math.nan


def _distinct_moves(items: tuple[_Item, ...]) -> dict[int, tuple[int, int, str, int]]:
    """Each value the moves from `items` make, with the first move that makes it, in `_moves` order: the one rule for
    which results a flat trace's two-number line writes, and in what order."""
    made: dict[int, tuple[int, int, str, int]] = {}
    for move in _moves(items):
        made.setdefault(move[3], move)
    return made


def _distinct_results(items: tuple[_Item, ...]) -> list[_Item]:
    """What the moves from `items` make, in `_moves` order, each value once (a flat trace's two-number line)."""
    return [_apply(items, move)[-1] for move in _distinct_moves(items).values()]


def _solve(numbers: list[int], target: int, every: bool) -> str:
    """A reference answer (shortest search: closeness order, no noise)."""
    spans = _Search(Problem("countdown", 0, "", "", {"numbers": numbers, "target": target,
                                                     "rule": "all" if every else "some"}),
                    None, 0.0).run()
    text = "".join(s.text for s in spans)
    return text.rsplit("check ", 1)[1].split(":", 1)[0]


class _Search:
    """Depth-first search that writes its own trace. `rng=None` means no noise in the move order."""

    max_lines = 400
    noise = 0.5  # standard deviation of the noise added to the log-distance from the target
    # False hits per miss line, as a multiple of the slip rate: catching one is the skill the model most lacked
    # (`try 10-2=8 vs 5 yes`, then a check that copied it), so the trace shows many more of them than other slips.
    false_hit_factor = 2.0
    # Pruned traces: share of dead states searched to the end before giving up, so that a wrong "live" call (the
    # model going on into a dead state) has a way out that the traces show.
    searched_dead = 0.05

    def __init__(self, problem: Problem, rng: random.Random | None, slip_rate: float, guide: float = DEFAULT_GUIDE,
                 systematic: bool = False, prune: bool = False, flat: bool = False):
        self.guide = guide  # share of states where solvable moves come first
        # At three numbers or fewer, try the moves in `_moves` order (pairs as the state line writes them, then
        # + * - /) and at two numbers all of them: the next move follows from the last one tried there, a successor
        # rather than a pick among the untried (the shipped model's loops: benchmarks/results/countdown_failures.md).
        self.systematic = systematic or prune or flat
        # Pruned: every state in the fixed order (no move order to remember: the next move follows from the last),
        # and a dead state of three or more numbers is given up at once, so the line after `left x y z` is a
        # live/dead call, `try` or `back to`: the one place the solver's knowledge (an oracle) enters the trace.
        self.prune = prune
        # Flat: every state in the fixed order and searched to its end (no oracle: a perfect imitator solves what
        # fits the budget), and the numbers two left are finished on the move's own line, all their results then
        # one verdict (`try 40+10=50 left 50 9 = 59 450 41 vs 60 no`): a dead state of three numbers is then about
        # ten regular lines, not thirty-five with their `back to` lines, so four numbers fit a thinking budget.
        self.flat = flat
        self.target = problem.meta["target"]
        self.every = problem.meta["rule"] == "all"
        self.numbers = problem.meta["numbers"]
        self.rng = rng
        self.slip_rate = slip_rate if rng is not None else 0.0
        self.spans: list[Span] = []
        self.lines = 0
        self.need_back = False

    def _w(self, text: str, learn: bool = True) -> None:
        self.spans.append(Span(text, learn))

    def run(self) -> list[Span]:
        word = "all" if self.every else "some"
        items = self._sorted(tuple(_Item(v, str(v), 3) for v in self.numbers))
        self._w(f"goal {self.target} {word} {' '.join(str(it.value) for it in items)}\n")
        found = self._dfs(items)
        if found is None:
            raise ValueError(f"no integer solution for {self.numbers} -> {self.target}")
        return self.spans

    def _sorted(self, items: tuple[_Item, ...]) -> tuple[_Item, ...]:
        """Systematic traces write every state largest number first, so that the pairs in `_moves` order are
        written in the order of the state line: the next pair follows from the positions of the last one."""
        return tuple(sorted(items, key=lambda it: -it.value)) if self.systematic else items

    def _solvable(self, child: tuple[_Item, ...]) -> bool:
        return can_reach([it.value for it in child], self.target, self.every)

    def _order(self, items: tuple[_Item, ...]) -> list[tuple[int, int, str, int]]:
        """Closeness to the target plus noise; at a share of the states (`guide`) moves that can still reach the
        target come first, standing for the intuition a searcher has, so that traces stay short."""
        if self.systematic and (len(items) <= 3 or self.prune or self.flat):
            return _moves(items)
        guided = self.rng is None or self.rng.random() < self.guide

        def key(m: tuple[int, int, str, int]) -> float:
            score = math.log1p(abs(m[3] - self.target))
            if self.rng is not None:
                score += self.rng.gauss(0.0, self.noise)
            if guided and self._solvable(_apply(items, m)):
                score -= 100.0
            return score

        moves = sorted(_moves(items), key=key)
        if self.rng is None:
            return moves
        # A hit (the move's result is the target, where that counts) goes to one of the first three places, so
        # that a line's verdict can only be known by comparing its result with the target, while traces stay short.
        hits = [m for m in moves if m[3] == self.target and (not self.every or len(items) == 2)]
        for m in hits:
            moves.remove(m)
            moves.insert(self.rng.randint(0, min(2, len(moves))), m)
        return moves

    def _dfs(self, items: tuple[_Item, ...]) -> _Item | None:
        first, seen = True, set()
        # A dead state is given up after a few tries, as a searcher abandons a branch that looks hopeless;
        # a live one is searched until the hit.
        exhaustive = self.flat or self._solvable(items) or (self.systematic and len(items) == 2)
        if exhaustive:
            tries = None
        elif self.prune:
            tries = None if self.rng is not None and self.rng.random() < self.searched_dead else 0
        else:
            tries = self.rng.randint(1, 2) if self.rng else 1
        for move in self._order(items):
            if tries is not None and len(seen) >= tries:
                return None
            child = self._sorted(_apply(items, move))
            signature = tuple(sorted(it.value for it in child))
            if signature in seen:  # equal numbers give the same state twice: search it once
                continue
            avoid = _repeat_tokens(items, move, seen)
            seen.add(signature)
            if self.lines >= self.max_lines:
                return None
            if not first and self.need_back:
                self._w(f"back to {' '.join(str(it.value) for it in items)}\n")
            first, self.need_back = False, False
            self.lines += 1
            found = self._write_move(items, move, child, avoid)
            if found is not None:
                return found
        return None

    def _write_move(self, items: tuple[_Item, ...], move: tuple[int, int, str, int], child: tuple[_Item, ...],
                    avoid: tuple[tuple[str, ...], ...]) -> _Item | None:
        i, j, op, c = move
        a, b = items[i].value, items[j].value
        made = _combine(items[i], items[j], op, c)  # child[-1] unless the child was sorted (`_sorted`)
        self._w("try ")
        for piece, repeats in zip((str(a), op, f"{b}="), avoid, strict=True):
            self.spans.append(Span(piece, avoid=repeats))
        if self.slip_rate and self.rng.random() < self.slip_rate:
            wrong = c + self.rng.choice([-2, -1, 1, 2, 10])
            if wrong > 0 and wrong != c:
                self._w(str(wrong), learn=False)
                self._w(f" Wait, {a}{op}{b}=")
        self._w(str(c))
        if not self.every or len(child) == 1:
            hit = c == self.target
            self._w(f" vs {self.target} ")
            if not hit and self.slip_rate and self.rng.random() < self.slip_rate * self.false_hit_factor:
                self._false_hit(made)
            elif hit:
                self._w("yes\n")
                self._check(made)
                return made
            else:
                self._w("no")
        if len(child) < 2:
            self._w("\n")
            return None
        if self.flat and len(child) == 2:
            return self._write_pair(child)
        self._w(f" left {' '.join(str(it.value) for it in child)}\n")
        found = self._dfs(child)
        self.need_back = found is None
        return found

    def _write_pair(self, child: tuple[_Item, ...]) -> _Item | None:
        """Flat traces: the rest of a move's line that leaves two numbers, ` left A B = r1 r2 … vs T no`, the
        results of their moves in `_moves` order (each new one once), then one verdict; on a hit, its check."""
        made = _distinct_results(child)
        results = " ".join(str(item.value) for item in made)
        self._w(f" left {child[0].value} {child[1].value} = {results} vs {self.target} ")
        hits = [item for item in made if item.value == self.target]
        if hits:
            self._w("yes\n")
            self._check(hits[0])
            return hits[0]
        if self.slip_rate and self.rng.random() < self.slip_rate * self.false_hit_factor:
            self._false_hit(min(made, key=lambda item: abs(item.value - self.target)), results)
            self._w("\n")
        else:
            self._w("no\n")
        self.need_back = False  # finished on this line: the search goes on from the same numbers
        return None

    def _steps(self, expr: str) -> str:
        """The expression recomputed step by step in evaluation order, e.g. `13-5=8 8*3=24`."""
        out: list[str] = []

        def walk(node: str) -> int:
            node = _strip_parens(node)
            split = _top_split(node)
            if split is None:
                return int(node)
            k = split
            a, b = walk(node[:k]), walk(node[k + 1:])
            op = node[k]
            c = int(_value(a, op, b))
            out.append(f"{a}{op}{b}={c}")
            return c

        walk(expr)
        return " ".join(out)

    def _check(self, item: _Item) -> None:
        self._w(f"check {item.expr}: {self._steps(item.expr)} vs {self.target} ok\n")

    def _false_hit(self, item: _Item, said: str | None = None) -> None:
        """A masked false `yes`, caught by the (learned) check; then `Wait,`, what the line `said` (its result, or a
        flat line's results) and the line goes on as a miss."""
        self._w("yes", learn=False)
        self._w(f"\ncheck {item.expr}: {self._steps(item.expr)} vs {self.target} bad\n")
        self._w(f"Wait, {item.value if said is None else said} vs {self.target} no")


def _written_moves(items: tuple[_Item, ...]) -> list[tuple[str, str, str, tuple[int, ...]]]:
    """Every move from `items` as a trace writes it, (first number, operator, second number), with the numbers it
    leaves (sorted): the unit in which repeats are told apart."""
    return [(str(items[m[0]].value), m[2], str(items[m[1]].value),
             tuple(sorted(it.value for it in _apply(items, m)))) for m in _moves(items)]


def _only_repeats(options: list[tuple[str, str, str, tuple[int, ...]]], prefix: tuple[str, ...],
                  searched: set[tuple[int, ...]]) -> bool:
    """Whether every move written with these first tokens leaves numbers already searched from this state."""
    return all(o[3] in searched for o in options if o[:len(prefix)] == prefix)


def _repeat_tokens(items: tuple[_Item, ...], move: tuple[int, int, str, int],
                   searched: set[tuple[int, ...]]) -> tuple[tuple[str, ...], ...]:
    """For each token of the move as written (first number, operator, second number): the other tokens that could
    stand there, after the same tokens before it, and lead only to moves whose numbers left were already searched
    from this state. Writing one of them would repeat work, which is the loop the model falls into at 3-4 numbers
    (benchmarks/results/countdown_failures.md): these are the targets of SFT's unlikelihood loss."""
    if not searched:
        return ((), (), ())
    options = _written_moves(items)
    actual = (str(items[move[0]].value), move[2], str(items[move[1]].value))
    return tuple(
        tuple(sorted(t for t in {o[k] for o in options if o[:k] == actual[:k]} - {actual[k]}
                     if _only_repeats(options, actual[:k] + (t,), searched)))
        for k in range(3))


def _strip_parens(s: str) -> str:
    while s.startswith("(") and _matching(s, 0) == len(s) - 1:
        s = s[1:-1]
    return s


def _matching(s: str, i: int) -> int:
    depth = 0
    for k in range(i, len(s)):
        depth += {"(": 1, ")": -1}.get(s[k], 0)
        if depth == 0:
            return k
    return -1


def _top_split(s: str) -> int | None:
    """Index of the operator evaluated last at the top level (rightmost + or -, else rightmost * or /)."""
    depth, low, high = 0, None, None
    for k, ch in enumerate(s):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and ch in "+-":
            low = k
        elif depth == 0 and ch in "*/":
            high = k
    return low if low is not None else high
