"""Reading a countdown search back from thinking text, one line at a time: the path of states, the moves tried on
each visit, and the repeats (a move tried again from numbers already searched), which are the loops behind most of
the model's countdown failures. The one replay behind the decoding guard (`countdown_guard`), the plans
(`countdown_plans`), the caught repeats of SFT traces and `first_repeat` for the model's own searches. Writing a
search is `countdown_search`'s job.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from ponder.tasks.base import Problem, Span
from ponder.tasks.countdown_search import _Item, _only_repeats, _written_moves


def _moves_of(values: tuple[int, ...]) -> list[tuple[str, str, str, tuple[int, ...]]]:
    """`_written_moves` of numbers read back from a thinking text (a replayed search's state)."""
    return _written_moves(tuple(_Item(v, str(v), 3) for v in values))


_TRY_LINE = re.compile(r"try (?P<a>\d+)(?P<op>[-+*/])(?P<b>\d+)=")
_LEFT = re.compile(r" left (?P<numbers>[\d ]+)$")
_BACK = "back to "
_GOAL = "goal "


@dataclass
class Visit:
    """One visit of a search state: its numbers (sorted, and as the line that entered it wrote them) and the moves
    tried from them since, in order, with the numbers each left."""

    state: tuple[int, ...]
    form: str
    moves: list[tuple[str, str, str]] = field(default_factory=list)  # distinct moves tried, as written

    def __post_init__(self) -> None:
        self.options = _moves_of(self.state)
        self.leaves = {o[:3]: o[3] for o in self.options}  # each legal move -> the numbers it leaves

    @property
    def searched(self) -> set[tuple[int, ...]]:
        """The numbers left by the moves tried."""
        return {self.leaves[m] for m in self.moves}

    @property
    def exhausted(self) -> bool:
        searched = self.searched
        return all(o[3] in searched for o in self.options)


class SearchReplay:
    """A countdown search's books, read back from its thinking one finished line at a time (`feed`): the path of
    visits from the starting numbers down to the current ones (`left …` enters a new one, `back to …` returns to one
    on the path) and the moves tried on each. A state met again by another path is a new visit, as in the solver's
    search. A line that does not fit (numbers the search was never at, a move these numbers lack) loses the books
    (`lost`) and later lines are ignored: past a made-up state, a repeat means nothing. The one replay behind the
    guard, the plans, the caught repeats and `first_repeat`."""

    def __init__(self, numbers: list[int]):
        self.path = [Visit(tuple(sorted(numbers)), " ".join(map(str, numbers)))]
        self.lost = False
        self.lines = 0  # lines fed so far
        self.repeated_lines: list[int] = []  # indices of move lines that left numbers searched on the same visit
        self.last_move: tuple[str, str] | None = None  # operands of the last move line, for a `Wait, …` line after it

    @property
    def visit(self) -> Visit:
        return self.path[-1]

    def feed(self, line: str) -> None:
        """One finished line of thinking, without its newline."""
        index, self.lines = self.lines, self.lines + 1
        if self.lost:
            return
        if index == 0 and line.startswith(_GOAL):  # the starting numbers as the goal line wrote them (any order)
            written = line.split()[3:]
            if all(v.isdigit() for v in written) and tuple(sorted(map(int, written))) == self.path[0].state:
                self.path[0].form = " ".join(written)
            return
        if line.startswith(_BACK):
            try:
                back = tuple(sorted(int(v) for v in line[len(_BACK):].split()))
            except ValueError:
                self.lost = True
                return
            depth = [i for i, v in enumerate(self.path) if v.state == back]
            if not depth:
                self.lost = True
                return
            del self.path[depth[-1] + 1:]
            return
        move = _TRY_LINE.match(line)
        if move is not None:
            visit, written = self.visit, (move["a"], move["op"], move["b"])
            if written not in visit.leaves:
                self.lost = True
                return
            if visit.leaves[written] in visit.searched and not visit.exhausted:
                self.repeated_lines.append(index)
            if written not in visit.moves:
                visit.moves.append(written)
            self.last_move = (move["a"], move["b"])
        elif not (line.startswith("Wait, ") and self.last_move):  # `Wait, 8 vs 5 no left …`: a caught false hit
            return
        left = _LEFT.search(line)
        if left is not None and len(numbers := left["numbers"].split()) == len(self.visit.state) - 1:
            self.path.append(Visit(tuple(sorted(int(v) for v in numbers)), " ".join(numbers)))


def first_repeat(problem: Problem, thinking: str) -> tuple[int, str] | None:
    """Where a search's thinking first commits to a repeated move: the character offset of the first token after
    which every move it can still become leaves numbers already searched on this visit of the same numbers, and
    that token's text; None if no move repeats, or if the search loses its books first (`SearchReplay`). The
    on-policy counterpart of `_repeat_tokens`, for the model's own searches."""
    replay = SearchReplay(problem.meta["numbers"])
    pos = 0
    for line in thinking.split("\n"):
        start, pos = pos, pos + len(line) + 1
        move = _TRY_LINE.match(line)
        if move is not None:
            visit, written = replay.visit, (move["a"], move["op"], move["b"])
            if written not in visit.leaves:
                return None  # not a move of these numbers
            for k in range(3):
                if _only_repeats(visit.options, written[:k + 1], visit.searched):
                    return start + move.start(("a", "op", "b")[k]), written[k]
        replay.feed(line)
        if replay.lost:
            return None
    return None


# The catch of a repeated move: `try 9+4 Wait, no` (words the tokenizer has; the move never gets its `=`).
CATCH = " Wait, no\n"
MAX_CATCHES = 2  # caught repeats in a row at one place


def catch_repeats(problem: Problem, spans: list[Span], rng: random.Random, rate: float) -> list[Span]:
    """Insert caught repeats before a share `rate` of the move lines written from a state some move was already
    tried from (after `back to …`, or the next operator on the last two numbers): `try ` and a move tried before
    from these numbers, masked, then the learned catch ` Wait, no`, then the trace's own next move. The model's loops
    repeat such moves (countdown_failures.md); clean traces never show one, so it never learned to notice one
    (guard-free recovery; the guard itself only forbids them). The move repeated is the state's first one half the
    time (the model's favourite), else any tried one; up to MAX_CATCHES in a row."""
    if rate <= 0:
        return spans
    replay = SearchReplay(problem.meta["numbers"])
    out: list[Span] = []
    line = ""  # the current line's text so far
    for span in spans:
        if not line and span.text.startswith("try "):
            tried = [] if replay.lost else replay.visit.moves
            caught: list[tuple[str, str, str]] = []
            while len(caught) < min(MAX_CATCHES, len(tried)) and rng.random() < rate:
                fresh = [m for m in tried if m not in caught]
                pick = tried[0] if tried[0] in fresh and rng.random() < 0.5 else rng.choice(fresh)
                caught.append(pick)
                out += [Span("try "), Span("".join(pick), learn=False), Span(CATCH)]
        out.append(span)
        *complete, line = (line + span.text).split("\n")
        for done in complete:
            replay.feed(done)
    return out
