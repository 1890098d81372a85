"""An anchor loss for GRPO: next-token loss on the parent's own verified searches, mixed into each update.

Why: GRPO on the problems a model fails teaches it something that carries over to unseen hard problems, but each
update also moves the greedy path of problems it already solved, and nothing in the RL batch defends them (a problem
solved in all G samples gives its group no signal; benchmarks/results/experiments/grpo_hard_l2.md: 54% of unseen
failures fixed, 6.7% of solved problems broken). InstructGPT's PPO-ptx answers the same regression by mixing a
supervised term into the RL loss; here the supervised data is the parent's own greedy searches that the verifier
accepted (`ponder train searches`), so the term holds the policy on the paths it already walks right, not on solver
traces it has drifted from.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

from ponder.tasks import get_task
from ponder.tasks.base import is_test_problem
from ponder.train.data import Example, collate_packed, draw
from ponder.train.grpo_config import DEFAULT_ANCHOR_WEIGHT
from ponder.train.own_searches import Search, read_searches, search_example

# `--anchor` without `--anchor-weight`: the one weight measured (grpo_anchor_l2.md); its loss, about 0.01 nats per
# token on the model's own greedy searches, then weighs a few percent of the policy loss's gradient
DEFAULT_WEIGHT = DEFAULT_ANCHOR_WEIGHT  # defined with GRPOConfig, which the CLI reads without torch


def anchor_searches(path: str) -> list[Search]:
    """The verified searches of a `ponder train searches` file; a ValueError if it has none or holds a problem of
    the test split (evaluation problems are never trained on)."""
    searches = [s for s in read_searches(Path(path)) if s.correct]
    if not searches:
        raise ValueError(f"{path}: no verified searches to anchor on")
    for s in searches:
        if is_test_problem(s.problem):
            raise ValueError(f"{path}: a held-out test problem ({s.problem.prompt!r}); RL never trains on them")
    return searches


def anchor_examples(tokenizer, searches: list[Search]) -> list[Example]:
    """The searches as SFT examples (lines `check_steps` finds wrong masked out), those that fit the trace format."""
    out = [search_example(tokenizer, get_task(s.problem.task), s) for s in searches]
    return [e for e in out if e is not None]


def step_anchors(examples: list[Example], rows: int, seed: int, step: int) -> list[Example]:
    """The anchor examples of one step, drawn from (seed, step) alone so that a resumed run draws the same."""
    return draw(random.Random(f"grpo-anchor:{seed}:{step}"), examples, rows)


def anchor_loss(model, examples: list[Example], pad_id: int, bf16: bool) -> torch.Tensor:
    """The mean next-token loss over the examples' learned tokens, at temperature 1 (what greedy decoding follows)."""
    batch = collate_packed([[e] for e in examples], pad_id)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return model(**batch).loss


def anchor_backward(model, examples: list[Example], weight: float, pad_id: int, bf16: bool) -> float:
    """Backpropagate `weight` times `anchor_loss`; returns the loss."""
    loss = anchor_loss(model, examples, pad_id, bf16)
    (weight * loss).backward()
    return float(loss.detach())
