"""Rejection-sampled searches: the model's own verified thinking on training problems, as SFT examples.

The SFT model learns clean solver traces, then loses its books in its own searches (a move tried again from the
same numbers, a `back to` line naming numbers the search never had; benchmarks/results/countdown_failures.md):
exposure bias, since it never trained in contexts its own slips make. DeepSeek-R1's third stage answers this kind of
gap with rejection sampling: decode the model on training problems, keep what the verifier accepts, fine-tune on it.
Here the decoding may run under the task's guard (`Task.guard`, ponder.engine.guard), which keeps the search's
books while the model searches; fine-tuning on the guarded searches that reached a verified answer teaches the
unguarded model the bookkeeping in its own contexts. Nothing is taken on trust: a search is kept only if the
verifier accepts its answer, and each of its lines with a step that `check_steps` finds wrong (a miscomputed move, a
false check) stays in context but is masked out of the loss, as the solver's deliberate slips are.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from ponder.engine import GenerationParams, generate
from ponder.files import write_atomic
from ponder.tasks import Problem, Span, Task
from ponder.train.data import Example, make_spans_example, prompt_ids


@dataclass(frozen=True)
class Search:
    """One decoded problem: the thinking and answer the model wrote, and whether the verifier accepted it."""

    problem: Problem
    thinking: str
    answer: str
    correct: bool
    guard_overrides: int = 0  # thinking steps where the guard did not allow the model's most likely token

    def to_json(self) -> str:
        return json.dumps({"problem": json.loads(self.problem.to_json()), "thinking": self.thinking,
                           "answer": self.answer, "correct": self.correct, "guard_overrides": self.guard_overrides})

    @classmethod
    def from_json(cls, line: str) -> Search:
        row = json.loads(line)
        return cls(Problem(**row["problem"]), row["thinking"], row["answer"], bool(row["correct"]),
                   int(row.get("guard_overrides", 0)))


def training_problems(task: Task, counts: dict[int, int], seed: int) -> list[Problem]:
    """`counts[level]` problems of each level from the training side of the split, one seeded stream per level."""
    out = []
    for level, n in sorted(counts.items()):
        rng = random.Random(f"own-searches:{task.name}:{level}:{seed}")
        out += [task.sample_split(rng, level, "train") for _ in range(n)]
    return out


def decode_searches(model, tokenizer, task: Task, problems: list[Problem], max_thinking: int, guard: bool,
                    chunk: int = 64, on_chunk: Callable[[int], None] | None = None,
                    slack: int = 0) -> Iterable[Search]:
    """Greedy searches of `problems`, `chunk` at a time (so a caller can save as it goes), each verified; under
    the guard, `slack` repeats of the model's own are let through before it keeps the books."""
    params = GenerationParams(max_thinking=max_thinking)
    model.eval()
    for i in range(0, len(problems), chunk):
        part = problems[i:i + chunk]
        guards = [task.guard(p, slack) for p in part] if guard else None
        with torch.no_grad():
            outs = generate(model, tokenizer, [prompt_ids(tokenizer, p.prompt) for p in part],
                            [params] * len(part), guards=guards)
        for p, o in zip(part, outs, strict=True):
            yield Search(p, o.thinking, o.answer, task.verify(p, o.answer).correct, o.guard_overrides)
        if on_chunk is not None:
            on_chunk(len(part))


def partial_path(out: Path) -> Path:
    """Where `ponder train searches` keeps the searches decoded so far, until all are in and it renames it to out."""
    return out.with_name(out.name + ".partial")


def settings_path(out: Path) -> Path:
    """Where `ponder train searches` notes how it decodes (model, budget, guard) beside OUT.partial, so that a resumed
    run cannot mix searches of another model or guard into one file."""
    return out.with_name(out.name + ".partial.json")


def check_settings(out: Path, settings: dict) -> None:
    """Note `settings` for the run writing `out`, or, where a run was interrupted, check they are the ones it used
    (a ValueError naming the difference if not; a partial file from before settings were noted is taken as is)."""
    path = settings_path(out)
    if path.exists():
        try:
            noted = json.loads(path.read_text())
        except ValueError:
            raise ValueError(f"{path} is not a settings file; delete it and {partial_path(out)} to start "
                             "over") from None
        changed = [f"{k} {noted.get(k)!r} (now {v!r})" for k, v in settings.items() if noted.get(k) != v]
        if changed:
            raise ValueError(f"{partial_path(out)} was decoded with {', '.join(changed)}; resume with the same flags "
                             "or delete it")
        return
    write_atomic(path, json.dumps(settings, indent=1) + "\n")


def kept_searches(partial: Path, problems: list[Problem]) -> list[Search]:
    """The searches a killed run kept in `partial`, which must be of the first of `problems` in order (a line torn
    by the kill is dropped); a ValueError if they are of other problems (another --levels, --n, --seed or task)."""
    if not partial.exists():
        return []
    lines = partial.read_text().splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines.pop()  # the kill came while this line was written
    kept = _parse(partial, lines, hint="; delete the file to start over")
    if [s.problem.to_json() for s in kept] != [p.to_json() for p in problems[:len(kept)]]:
        raise ValueError(f"{partial} holds searches of other problems; resume with the same flags or delete it")
    return kept


def append_searches(path: Path, kept: list[Search], searches: Iterable[Search]) -> int:
    """Rewrite `path` with `kept` (through a temp file), then append `searches` to it, each flushed as it comes,
    so a kill loses only the chunk being decoded; returns how many it holds."""
    write_atomic(path, "".join(s.to_json() + "\n" for s in kept))
    n = len(kept)
    with path.open("a") as f:
        for s in searches:
            f.write(s.to_json() + "\n")
            f.flush()
            n += 1
    return n


def read_searches(path: Path) -> list[Search]:
    """The searches of a file `ponder train searches` wrote; a missing file or a line that is not one is a
    ValueError."""
    if not path.is_file():
        raise ValueError(f"no searches file at {path} (write one with `ponder train searches`)")
    return _parse(path, path.read_text().splitlines())


def _parse(path: Path, lines: list[str], hint: str = "") -> list[Search]:
    """The searches of a file's lines (blank ones skipped); a line that is not one is a ValueError naming it."""
    out = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(Search.from_json(line))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{i} is not a search ({e}){hint}") from None
    return out


def verified_searches(paths: Iterable[str]) -> list[Search]:
    """The searches of all `paths` whose answers the verifier accepted, in file order."""
    return [s for p in paths for s in read_searches(Path(p)) if s.correct]


def search_spans(task: Task, problem: Problem, thinking: str) -> list[Span]:
    """The thinking as one span a line; lines with a step `check_steps` finds wrong, and lines that repeat work
    already done (`Task.repeated_lines`: a guard's slack let them through), are marked not to learn."""
    repeated = task.repeated_lines(problem, thinking)
    return [Span(line, learn=i not in repeated and all(task.check_steps(problem, line)))
            for i, line in enumerate(thinking.splitlines(keepends=True))]


def search_example(tokenizer, task: Task, search: Search, rng: random.Random | None = None,
                   catch_rate: float = 0.0) -> Example | None:
    """An SFT example of a verified search: `<think>`, its lines (wrong ones masked), `</think>`, the answer, in the
    task's trace format (`Task.reformat`; None if the search does not fit it); with `catch_rate` (and `rng`), caught
    repeats inserted (`Task.catch_repeats`)."""
    lines = task.reformat(search.problem, search_spans(task, search.problem, search.thinking))
    if lines is None:
        return None
    if catch_rate and rng is not None:
        lines = task.catch_repeats(search.problem, lines, rng, catch_rate)
    spans = [Span("<think>"), *lines, Span("</think>"),
             Span(search.answer + tokenizer.eos_token)]
    return make_spans_example(tokenizer, search.problem.prompt, spans)
