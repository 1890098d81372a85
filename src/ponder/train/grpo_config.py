"""The settings of `ponder train grpo` (ponder.train.grpo) and the problems files it trains on, in a module
without torch: the command line reads its defaults from here, so `ponder --help` and a refused flag answer at once
instead of after torch's import."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ponder.model.checkpoint import high_budget
from ponder.tasks import Problem, get_task
from ponder.tasks.base import is_test_problem

DEFAULT_ANCHOR_WEIGHT = 0.5  # the anchor loss's weight (ponder.train.anchor) when a run names an anchor file


@dataclass
class GRPOConfig:
    init: str = "ponder-tiny-sft"  # the checkpoint RL starts from (and the KL reference)
    out: str = "runs/grpo-tiny"
    steps: int = 200
    prompts: int = 8  # problems per step
    group: int = 8  # G: completions per problem
    updates: int = 1  # policy updates per batch of samples (ratio clipping matters when > 1)
    lr: float = 3e-5
    beta: float = 0.0  # KL to the frozen initial model (0: none, as DAPO)
    clip_low: float = 0.2
    clip_high: float = 0.28
    scale_std: bool = False  # Dr. GRPO: no division by the group's std
    negative_weight: float = 1.0  # scales negative advantages (0: reinforce right samples only)
    norm: str = "token"  # DAPO: normalise over all tokens; "sequence" for the original GRPO
    dynamic_sampling: bool = True  # skip groups whose rewards are all equal
    temperature: float = 0.7  # below 1 so that a 3M model slips less in long searches (not tuned)
    # None: the init model's `high` effort budget (its ponder.json), the length its searches were trained to; a
    # shorter one cuts them (the shipped model's level 4-5 searches run to ~1,300 tokens), a longer one leaves the
    # lengths it was trained on
    max_thinking: int | None = None
    answer_budget: int = 48
    # arithmetic is left out: the SFT model already solves its levels 3-5 (all G samples right: no signal)
    tasks: tuple[str, ...] = ("countdown",)
    curriculum: tuple[tuple[int, tuple[int, ...]], ...] = ((0, (3, 4, 5)), (80, (4, 5)))
    problems_file: str = ""  # a JSONL file to draw each step's problems from instead (load_problem_pool)
    # PPO-ptx-style anchor (ponder.train.anchor): next-token loss on the parent's own verified searches of this
    # `ponder train searches` file, `anchor_rows` of them per update, weighted by `anchor_weight` (0: off; None:
    # DEFAULT_ANCHOR_WEIGHT with a file, else 0)
    anchor_file: str = ""
    anchor_weight: float | None = None
    anchor_rows: int = 16
    # Shaping terms are off by default. Measured (runs/grpo-tiny-attempt1, weights 0.1/0.1/0.2): with right answers
    # rare, they were the only difference between wrong samples, and they favour short thinking (a false hit has
    # fewer steps to get wrong and never runs into the length limit): in 60 steps greedy countdown accuracy at
    # levels 3/4/5 fell from 70/8/10% to 48/3/5% and mean thinking from ~440 to ~190 tokens on levels 4-5.
    format_weight: float = 0.0
    process_weight: float = 0.0
    overlong_buffer: int = 64  # soft penalty over the last this many tokens of the thinking budget (DAPO)
    overlong_weight: float = 0.0
    seed: int = 0
    save_every: int = 10
    eval_every: int = 50
    eval_n: int = 8
    bf16: bool | None = None  # bf16 autocast; None: where the hardware has bf16 (see ponder.train.precision)
    micro_batch_tokens: int = 4096  # padded tokens per forward/backward pass: bounds memory, same gradient

    def __post_init__(self) -> None:
        if self.group < 2:
            raise ValueError(f"GRPO needs a group of at least 2 completions per problem, got {self.group}")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if self.steps < 1 or self.prompts < 1 or self.updates < 1:
            raise ValueError("steps, prompts and updates must be >= 1")
        if self.beta < 0 or self.clip_low < 0 or self.clip_high < 0 or self.temperature <= 0:
            raise ValueError("beta and clip ranges must be >= 0, temperature > 0")
        if min(self.format_weight, self.process_weight, self.overlong_weight, self.negative_weight) < 0:
            raise ValueError("reward weights and the negative weight must be >= 0")
        if self.norm not in ("token", "sequence"):
            raise ValueError(f"norm must be 'token' or 'sequence', got {self.norm!r}")
        for name in self.tasks:
            get_task(name)
        for start, levels in self.curriculum:
            if start < 0 or not levels or any(lvl not in (1, 2, 3, 4, 5) for lvl in levels):
                raise ValueError(f"bad curriculum stage {(start, levels)}: levels are 1..5")
        if self.problems_file:
            load_problem_pool(self.problems_file)  # refused here, before any model is loaded
        if self.anchor_weight is None:
            self.anchor_weight = DEFAULT_ANCHOR_WEIGHT if self.anchor_file else 0.0
        if self.anchor_weight < 0 or self.anchor_rows < 1:
            raise ValueError("the anchor weight must be >= 0 and anchor rows >= 1")
        if self.anchor_weight > 0 and not self.anchor_file:
            raise ValueError("an anchor weight needs an anchor file (the parent's searches, `ponder train searches`)")
        if self.anchor_file:
            from ponder.train.anchor import anchor_searches  # torch: only with an anchor file to read

            anchor_searches(self.anchor_file)
        if self.max_thinking is None:
            self.max_thinking = high_budget(self.init)
        if self.max_thinking < 1:
            raise ValueError(f"the thinking budget must be >= 1 token, got {self.max_thinking}")

    def levels_at(self, step: int) -> tuple[int, ...]:
        current = self.curriculum[0][1]
        for start, levels in self.curriculum:
            if step >= start:
                current = levels
        return current


def load_problem_pool(path: str) -> tuple[Problem, ...]:
    """The problems of a JSONL file to train on: lines of `Problem.to_json`, or the searches `ponder train searches`
    writes, of which the problems the model got wrong (RL where the model still fails: a model that solves a
    problem in all G samples gives its group no signal). Refused with the line number: a line that is neither,
    an unknown task, a prompt that states other numbers or another answer than the line's meta and answer, or a
    problem of the test split (evaluation problems are never trained on)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise ValueError(f"cannot read problems file {path}: {e.strerror}") from None
    pool = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if "problem" in row:  # a search: kept only if the model failed it
                if row["correct"]:
                    continue
                row = row["problem"]
            problem = Problem(**row)
            stated = get_task(problem.task).read_prompt(problem.prompt)  # what its prompt says
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise ValueError(f"{path}:{n}: not a problem or a search ({type(e).__name__}: {e})") from None
        if stated is not None and (stated.meta != problem.meta or stated.answer not in ("", problem.answer)):
            # the reward would judge against numbers or a reference answer the prompt does not state
            raise ValueError(f"{path}:{n}: its meta or answer do not match its prompt {problem.prompt!r}")
        if is_test_problem(problem):
            raise ValueError(f"{path}:{n}: a held-out test problem ({problem.prompt!r}); RL never trains on them")
        pool.append(problem)
    if not pool:
        raise ValueError(f"{path}: no problems to train on (a searches file contributes only the failed ones)")
    return tuple(pool)
