"""Countdown searches with plans: a search at three numbers lists its moves before it tries them, and each back line
to those numbers copies what is left of the list (an experiment, off by default: `CountdownTask(plans=True)`).

Why: the shipped model's level-2 misses are loops at the starting numbers (experiments/rs_second_round.md): after
six or seven distinct moves it tries one again, and never reaches the one that solves. A list of tried moves did
not help (experiments/tried_list_sft.md: choosing a move *not* in a list is exclusion, which the model does badly);
the list here holds the moves still to try, so every step is a copy: the next move is the head of the last list
written at these numbers, and the next list is that list without its head.

    goal 5 some 1 3 7
    plan 7-1 3+1 3*1 7+1 7*1 7-3 7+3 7*3
    try 7-1=6 vs 5 no left 3 6
    …
    back to 1 3 7 plan 3+1 3*1 7+1 7*1 7-3 7+3 7*3
    try 3+1=4 vs 5 no left 7 4

Only states of three numbers get plans (the start of levels 2-3, one move down at levels 4-5): two numbers have four
moves at most, and the four-number start is rarely backed up to. The plan is the visit's moves in the order the
search tried them, then the untried ones by closeness to the target, each leaving different numbers (as the solver
searches a state once). The rewrite works on any thinking in the base format, solver trace or own search.
"""

from __future__ import annotations

from dataclasses import replace

from ponder.tasks.base import Problem, Span
from ponder.tasks.countdown_replay import _BACK, SearchReplay, Visit
from ponder.tasks.countdown_search import _value

PLANNED = 3  # states with this many numbers get plans


def _visits(problem: Problem, lines: list[str]) -> tuple[dict[int, Visit], dict[int, tuple[Visit, set]]] | None:
    """Replay the thinking's lines: the visit each line enters (the goal line: the start) and, for each back line,
    the visit it returns to with the numbers left by the moves tried there so far; None where a line does not fit
    the search (a made-up state or move)."""
    if not lines or not lines[0].startswith("goal "):
        return None
    replay = SearchReplay(problem.meta["numbers"])
    entered: dict[int, Visit] = {0: replay.visit}
    backs: dict[int, tuple[Visit, set]] = {}
    for i, line in enumerate(lines[1:], start=1):
        depth = len(replay.path)
        replay.feed(line)
        if replay.lost:
            return None
        if line.startswith(_BACK):
            backs[i] = (replay.visit, replay.visit.searched)  # a new set: the visit's later moves stay out
        elif len(replay.path) > depth:
            entered[i] = replay.visit
    return entered, backs


def _plan(visit: Visit, target: int) -> list[tuple[str, str, str]]:
    """The moves tried, then the rest by closeness to the target; one move for each numbers left."""
    rest = sorted((m for m in visit.leaves if m not in visit.moves),
                  key=lambda m: abs(_value(int(m[0]), m[1], int(m[2])) - target))
    plan, seen = [], set()
    for m in visit.moves + rest:
        if visit.leaves[m] not in seen:
            seen.add(visit.leaves[m])
            plan.append(m)
    return plan


def _written(moves: list[tuple[str, str, str]]) -> str:
    return " ".join("".join(m) for m in moves)


def add_plans(problem: Problem, spans: list[Span]) -> list[Span] | None:
    """The thinking `spans` (base format) with plans at three-number states: a `plan …` line after the line that
    enters one (the goal line at the start), ` plan …` (what is left) on each back line to one, learned as the lines
    around them are. None if the thinking does not fit the search (its own search went off the books, or came back
    to numbers with nothing left to try)."""
    lines = "".join(s.text for s in spans).split("\n")
    replay = _visits(problem, lines)
    if replay is None:
        return None
    entered, backs = replay
    plans = {id(v): _plan(v, problem.meta["target"]) for v in entered.values() if len(v.state) == PLANNED}
    out: list[Span] = []
    line_no, at_line_start = 0, True  # the line the next span starts in; whether it starts it
    for span in spans:
        if at_line_start and line_no in backs and id(backs[line_no][0]) in plans:
            visit, done = backs[line_no]
            rest = [m for m in plans[id(visit)] if visit.leaves[m] not in done]
            if not rest or span.text != lines[line_no] + "\n":
                return None
            span = replace(span, text=f"{lines[line_no]} plan {_written(rest)}\n")
        out.append(span)
        ends = span.text.count("\n")
        for k in range(line_no, line_no + ends):
            if k in entered and id(entered[k]) in plans:
                if k != line_no + ends - 1 or not span.text.endswith("\n"):
                    return None  # a line entering a state ends inside a span: no place for the plan
                out.append(Span(f"plan {_written(plans[id(entered[k])])}\n", learn=span.learn))
        line_no += ends
        at_line_start = span.text.endswith("\n")
    return out
