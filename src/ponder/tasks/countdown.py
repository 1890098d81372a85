"""Countdown: reach a target from a few numbers with + - * / (the Game of 24 at level 5), solved by search.

Prompts and the answer rule are fixed by DESIGN.md. This module holds the task itself: problems per level, reading a
question back, the verifier and the per-step checks of a thinking text. The solver that writes the SFT traces (and
why they look as they do) is `countdown_search`; reading a search back from thinking (repeats, the guard's books) is
`countdown_replay`. Generated problems always have a solution with positive integer intermediates up to 999.
"""

from __future__ import annotations

import random
import re

from ponder.tasks.base import ASKED_LEVEL, Problem, Span, Task, Verdict, check_level
from ponder.tasks.countdown_replay import SearchReplay, catch_repeats, first_repeat
from ponder.tasks.countdown_search import (
    DEFAULT_GUIDE,
    _distinct_results,
    _Item,
    _reachable,
    _Search,
    _solve,
    _value,
)
from ponder.tasks.expression import ExpressionError, parse_expression

RULE_TEXT = {
    "some": "Use each number at most once, with + - * / and parentheses.",
    "all": "Use every number exactly once, with + - * / and parentheses.",
}
# (how many numbers, largest number, largest target, rules to choose from) per level.
LEVEL_SPECS = {
    1: (2, 10, 100, ("some",)),
    2: (3, 10, 50, ("some",)),
    3: (3, 13, 100, ("some", "all")),
    4: (4, 13, 50, ("some", "all")),
    5: (4, 13, 100, ("some", "all", "24")),
}


# The canonical prompt (DESIGN.md), read back by `read_prompt`; a question beyond these limits is not read.
_PROMPT = re.compile(r"Using the numbers (\d{1,4}(?:, \d{1,4})+), make (\d{1,4})\. (.+)")
MAX_ASKED_NUMBERS = 6


class CountdownTask(Task):
    """`guide` is the share of search states where the solver's trace tries the moves that can still reach the target
    first (an oracle's intuition; the rest of the states follow closeness to the target plus noise, which the model
    can compute); `plans` writes plans at three numbers (ponder.tasks.countdown_plans). They shape training traces
    only: problems and verdicts do not depend on them."""

    name = "countdown"

    def __init__(self, guide: float = DEFAULT_GUIDE, plans: bool = False, systematic: bool = False,
                 prune: bool = False, flat: bool = False, flat_four: bool = False):
        if not 0.0 <= guide <= 1.0:
            raise ValueError(f"countdown guide must be in [0, 1], got {guide}")
        self.guide = guide
        self.plans = plans  # traces list the moves to try at three numbers (ponder.tasks.countdown_plans)
        self.systematic = systematic  # traces try the moves at three numbers or fewer in a fixed order (_Search)
        self.prune = prune  # ... and at four, giving up a dead state at once
        self.flat = flat  # ... or at four, searching every state to its end, two numbers' results on one line
        self.flat_four = flat_four  # flat in searches from four numbers only, systematic from three

    def describe_level(self, level: int) -> str:
        check_level(level)
        count, top, max_target, rules = LEVEL_SPECS[level]
        words = {"some": "each number at most once", "all": "every number exactly once", "24": "the Game of 24"}
        return f"{count} numbers from 1..{top}, targets up to {max_target}; " + " or ".join(words[r] for r in rules)

    def sample(self, rng: random.Random, level: int) -> Problem:
        check_level(level)
        count, top, max_target, rules = LEVEL_SPECS[level]
        rule = rng.choice(rules)
        while True:
            numbers = [rng.randint(1, top) for _ in range(count)]
            every = rule != "some"
            reach = _reachable(tuple(sorted(numbers)), every)
            if rule == "24":
                if 24 not in reach:
                    continue
                target = 24
            else:
                targets = sorted(v for v in reach if 1 <= v <= max_target and v not in numbers)
                if not targets:
                    continue
                target = rng.choice(targets)
            rule_key = "all" if every else "some"
            prompt = (
                f"Using the numbers {', '.join(map(str, numbers))}, make {target}. {RULE_TEXT[rule_key]}"
            )
            meta = {"numbers": numbers, "target": target, "rule": rule_key}
            answer = _solve(numbers, target, every)
            return Problem(self.name, level, prompt, answer, meta)

    def read_prompt(self, text: str) -> Problem | None:
        """A countdown question in the canonical words; its reference answer is left empty (finding one is the
        search itself), which the verifier does not need."""
        m = _PROMPT.fullmatch(text.strip())
        if m is None:
            return None
        rule = next((key for key, words in RULE_TEXT.items() if words == m[3]), None)
        if rule is None:
            return None
        numbers = [int(v) for v in m[1].split(", ")]
        if len(numbers) > MAX_ASKED_NUMBERS or min(numbers) < 1:
            return None
        meta = {"numbers": numbers, "target": int(m[2]), "rule": rule}
        return Problem(self.name, ASKED_LEVEL, text.strip(), "", meta)

    def verify(self, problem: Problem, answer_text: str) -> Verdict:
        text = answer_text.strip()
        if len(text) > self.max_answer_chars:
            return Verdict(False, 0.0, "answer too long")
        try:
            value, used = parse_expression(text)
        except ExpressionError as e:
            return Verdict(False, 0.0, str(e))
        numbers = list(problem.meta["numbers"])
        pool = numbers.copy()
        for n in used:
            if n not in pool:
                why = "is not one of the numbers" if n not in numbers else "is used too often"
                return Verdict(False, 0.0, f"{n} {why}")
            pool.remove(n)
        if problem.meta["rule"] == "all" and pool:
            return Verdict(False, 0.0, f"not every number is used: {' '.join(map(str, pool))} left")
        if value != problem.meta["target"]:
            return Verdict(False, 0.0, f"evaluates to {value}, not {problem.meta['target']}")
        return Verdict(True, 1.0, "correct")

    def answer_key(self, problem: Problem, answer_text: str) -> str:
        """Correct answers all share one key; wrong ones are told apart by their value and the numbers they use."""
        if self.verify(problem, answer_text).correct:
            return "correct"
        try:
            value, used = parse_expression(answer_text.strip())
        except ExpressionError:
            return f"?{answer_text.strip()}"
        return f"{value}:{sorted(used)}"

    def trace_spans(self, problem: Problem, rng: random.Random | None = None, slip_rate: float = 0.0,
                    effort: str | None = None) -> list[Span]:
        # One search at every effort: a lower effort's smaller budget cuts it (and the cut examples teach the best
        # guess that follows), which already makes countdown accuracy rise with effort.
        rng = rng if rng is not None else random.Random(problem.prompt)
        flat = self.flat or (self.flat_four and len(problem.meta["numbers"]) == 4)
        search = _Search(problem, rng, slip_rate, self.guide, self.systematic or self.flat_four, self.prune, flat)
        return self.reformat(problem, search.run())

    def reformat(self, problem: Problem, spans: list[Span]) -> list[Span] | None:
        if not self.plans:
            return spans
        from ponder.tasks.countdown_plans import add_plans  # it builds on this module's move lists

        return add_plans(problem, spans)

    def answer_from_trace(self, problem: Problem, thinking: str) -> str:
        """The expression the trace's last passing check verified (the search may find another solution than the
        reference answer, and the answer must follow from the thinking)."""
        passed = [m["expr"] for m in _CHECK.finditer(thinking) if m["verdict"] == "ok"]
        return passed[-1] if passed else problem.answer

    def first_repeat(self, problem: Problem, thinking: str) -> tuple[int, str] | None:
        return first_repeat(problem, thinking)

    def guard(self, problem: Problem, slack: int = 0):
        from ponder.tasks.countdown_guard import CountdownGuard  # it builds on this module's move lists

        return CountdownGuard(problem, slack)

    def catch_repeats(self, problem: Problem, spans: list[Span], rng: random.Random, rate: float) -> list[Span]:
        return catch_repeats(problem, spans, rng, rate)

    def repeated_lines(self, problem: Problem, thinking: str) -> set[int]:
        replay = SearchReplay(problem.meta["numbers"])
        for line in thinking.split("\n"):
            replay.feed(line)
        return set(replay.repeated_lines)

    def check_steps(self, problem: Problem, thinking: str) -> list[bool]:
        return [ok for _, ok in self.labeled_steps(problem, thinking)]

    def labeled_steps(self, problem: Problem, thinking: str) -> list[tuple[str, bool]]:
        """`check_steps` with each step's kind, one of STEP_KINDS: which skill a wrong step lacked (a move's
        arithmetic, comparing with the target, a flat line's list of results, or the final check)."""
        target = problem.meta["target"]
        steps: list[tuple[str, bool]] = []
        for m in _MOVE.finditer(thinking):
            a, op, b, c = int(m["a"]), m["op"], int(m["b"]), int(m["c"])
            steps.append(("move", _value(a, op, b) == c))
            if m["vs"] is not None:
                hit = c == target
                steps.append(("move verdict", int(m["vs"]) == target and (m["verdict"] == "yes") == hit))
        for m in _PAIR.finditer(thinking):  # flat traces: ` left A B = r1 r2 … vs T no`
            pair = (_Item(int(m["a"]), m["a"], 3), _Item(int(m["b"]), m["b"], 3))
            written = [int(v) for v in m["results"].split()]
            steps.append(("pair results", written == [it.value for it in _distinct_results(pair)]))
            steps.append(("pair verdict", int(m["vs"]) == target and (m["verdict"] == "yes") == (target in written)))
        for m in _CHECK.finditer(thinking):
            try:
                value, _ = parse_expression(m["expr"])
            except ExpressionError:
                steps.append(("check", False))
                continue
            steps.append(("check", (value == target) == (m["verdict"] == "ok") and int(m["vs"]) == target))
        return steps


STEP_KINDS = ("move", "move verdict", "pair results", "pair verdict", "check")
_MOVE = re.compile(r"(?<![\d)])(?P<a>\d+)(?P<op>[-+*/])(?P<b>\d+)=(?P<c>\d+)(?: vs (?P<vs>\d+) (?P<verdict>yes|no))?")
_CHECK = re.compile(r"check (?P<expr>[^:\n]+):[^\n]* vs (?P<vs>\d+) (?P<verdict>ok|bad)")
_PAIR = re.compile(r"left (?P<a>\d+) (?P<b>\d+) =(?P<results>(?: \d+)+) vs (?P<vs>\d+) (?P<verdict>yes|no)")
