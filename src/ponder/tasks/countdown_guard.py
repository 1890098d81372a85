"""A decoding-time guard for countdown searches: it keeps the search's books, the model does the search.

Why: the shipped model's countdown failures are mostly loops (benchmarks/results/countdown_failures.md). Reading
them with this guard's replay shows two bookkeeping slips behind them: after `back to S` the model proposes a move
it already tried from S, and the `back to` line itself names numbers the search was never at (`back to 5 6 18`
after `left 6 4 18`), a state copied wrongly from hundreds of tokens back, from which nothing it tries can be
checked. Remembering that is beyond a 3M model; every training fix failed (benchmarks/results/experiments/: tried
lists, last-move lines, more layers, unlikelihood loss). Keeping a visited set and a stack of states is what a
search program does, and what Tree-of-Thoughts-style search around a language model does outside it; here it is a
mask over the model's next tokens, so the model still proposes every move, computes it, judges it against the
target, decides when to back up and when to stop. The guard reads only the problem and the thinking so far, never
the answer, and never touches a result, a verdict or a check.

While the model writes
- a move (`try A op B=`): A, op and B must form a legal move of the current numbers (two of them, a positive
  integer result, as the solver's traces write moves), and not one whose numbers left were already searched on
  this visit of them (as the solver's search and SFT's unlikelihood targets, `_repeat_tokens`, count repeats);
  when every move from here was searched, any legal move is allowed again;
- a move's `left` list: the current numbers less the two operands, then the result as the line wrote it;
- a `back to` line: the numbers must be those of a state on the current path above this one, as written;
- a new line after a miss, at numbers whose every move was searched: it goes back up the path.
A line that does not fit the numbers (a slip the guard cannot follow) switches the guard off for the rest.
"""

from __future__ import annotations

import re

from ponder.tasks.base import Problem
from ponder.tasks.countdown_replay import _BACK, _TRY_LINE, SearchReplay

_RESULT = re.compile(r"=(\d+)")
_WAIT_RESULT = re.compile(r"^Wait, (\d+)")
_LEFT = re.compile(r" left(?: |$)")


def _rests(line: str, targets: list[str]) -> list[str] | None:
    """What is left to write of each target line that the line so far begins."""
    rests = {t[len(line):] for t in targets if t.startswith(line) and len(t) > len(line)}
    return sorted(rests) or None


class CountdownGuard:
    """Follows one countdown search as its thinking is written (`feed`) and says what it must go on with
    (`continuations`). Text-level: the engine maps the texts to token ids."""

    def __init__(self, problem: Problem, slack: int = 0):
        """`slack`: how many repeated moves the guard lets through before it keeps the books (rejection sampling
        with slack 1-2 gives searches that show the model recovering from its own repeat, not only avoiding it)."""
        self.slack = slack
        # The search's books (a state met again by another path is a new visit, as in the solver's search, whose
        # traces repeat such moves: test_the_guard_never_blocks_a_token_of_a_solver_trace).
        self.replay = SearchReplay(problem.meta["numbers"])
        self.line = ""
        self.settled = False  # the last line closed a step (a miss, a move down, a back): a new line may start

    @property
    def active(self) -> bool:
        return not self.replay.lost

    @property
    def state(self) -> tuple[int, ...]:
        return self.replay.visit.state

    @property
    def repeated_lines(self) -> list[int]:
        """Indices of the thinking lines whose move repeated one searched from the same visit."""
        return self.replay.repeated_lines

    def feed(self, text: str) -> None:
        """The next piece of thinking text (one token's worth)."""
        self.line += text
        while "\n" in self.line:
            done, self.line = self.line.split("\n", 1)
            # a hit (`… vs 24 yes`, a flat line's too) is followed by its check, not by the next step
            self.settled = not done.endswith(" yes") and (done.startswith(_BACK) or done.endswith(" no")
                                                          or " left " in done)
            self.replay.feed(done)

    def continuations(self) -> list[str] | None:
        """Texts the thinking must go on with, one of them (None: any): a move's head (`try A op B=`) is a legal
        move not yet tried from these numbers (any legal move once all were); a `back to` line names a state up the
        path; a move's `left` list, the numbers it leaves (with its result as written); and a new line at numbers
        with nothing left to try goes back up."""
        if not self.active:
            return None
        path = self.replay.path
        if self.line == "" and self.settled and len(path) > 1 and path[-1].exhausted:
            return [f"{_BACK}{v.form}\n" for v in path[:-1]]  # nothing left to try here: go back up
        if self.line.startswith("back"):
            ancestors = path[:-1] or path  # back goes up the path (from the root: to the root)
            return _rests(self.line, [f"{_BACK}{v.form}\n" for v in ancestors])
        # `try` and ` left` are matched without the space after them: a tokenizer with space-prefixed pieces
        # (build_tokenizer(space_prefixed=True)) writes `try`, ` 13`, so the guard must speak before the number.
        if self.line.startswith("try") and _TRY_LINE.match(self.line) is None:
            return _rests(self.line, self._move_heads())
        left = _LEFT.search(self.line)
        at = -1 if left is None else left.start()
        lefts = [] if at < 0 else self._left_forms(self.line[:at])
        # flat traces (CountdownTask(flat=True)) finish two numbers on the move's line: `left 50 9 = 59 450 41 …`
        ends = ("\n", " =") if len(self.replay.visit.state) == 3 else ("\n",)
        return _rests(self.line, [f"{self.line[:at]} left {left}{end}" for left in lefts for end in ends]) \
            if lefts else None

    def _move_heads(self) -> list[str]:
        """`try A op B=` of the legal moves from the current numbers that leave numbers not yet searched from them
        (of all legal moves when none is left)."""
        visit = self.replay.visit
        searched = visit.searched
        fresh = [o for o in visit.options if o[3] not in searched] or visit.options
        if len(self.repeated_lines) < self.slack:
            fresh = visit.options  # the model's own repeat, let through: what it writes after one is worth learning
        return [f"try {a}{op}{b}=" for a, op, b, _ in fresh]

    def _left_forms(self, head: str) -> list[str]:
        """The `left` lists a line may write, from what comes before it: the current numbers as written, less the
        two operands of the line's move (either copy of a number written twice), then the result the line wrote
        last (`try 13+6=19`, slips and verdict included; `Wait, 8 vs 5 no` after a caught false hit continues the
        move line before it), or those numbers largest first."""
        move = _TRY_LINE.match(head)
        operands = (move["a"], move["b"]) if move else self.replay.last_move if head.startswith("Wait, ") else None
        results = _RESULT.findall(head) if move else _WAIT_RESULT.findall(head)
        if operands is None or not results:
            return []
        numbers = self.replay.visit.form.split()
        if len(numbers) < 3:
            return []  # two numbers leave one: no `left` list
        lefts = [[v for k, v in enumerate(numbers) if k not in (i, j)] + [results[-1]]
                 for i, a in enumerate(numbers) for j, b in enumerate(numbers) if i != j and (a, b) == operands]
        # systematic traces (CountdownTask(systematic=True)) write the same numbers largest first
        return sorted({" ".join(form) for left in lefts
                       for form in (left, sorted(left, key=lambda v: -int(v)))})
