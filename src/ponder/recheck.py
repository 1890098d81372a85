"""Rechecks: a reasoning effort that buys more looks at a finished answer (s1's budget forcing, by count).

A model trained with rechecks (`ponder train sft --recheck-weights`) saw, after some of its finished traces, the word
`check` forced where it ended its thinking, and learned what to write after it (`Task.recheck_spans`: arithmetic
writes its whole scratchpad again, a countdown search its last check line). The forced word itself is masked, so
the model never learns to go on by itself: how many looks it takes is the caller's choice. The engine forces
`RECHECK_TEXT` in place of the first `n` ends of thinking (`GenerationParams.rechecks`), and the checkpoint's
ponder.json says how many each effort takes (`PonderMeta.rechecks`, e.g. `{"medium": 1, "high": 2}`).
A look is started only where the thinking budget left holds the first pass again (a look redoes the work, and one
the budget cuts leaves the answer to be copied from half-written work).
With `GenerationParams.vote` (`PonderMeta.recheck_vote`) the engine also takes each pass's answer, out of sight: at
each end of thinking it lets the model close its thinking and answer, keeps that answer as a ballot and hides it
from what follows (cache columns masked, positions reused); the reply is the answer most passes gave, a tie going
to the earliest pass. The model answers what its last pass says and does not weigh its passes
(rechecks.md §5); the vote weighs them for it.

Where s1 forces `Wait,` (which ponder's traces use for a slip's correction, so forcing it after finished work made
the model "correct" right lines: benchmarks/results/experiments/budget_forcing.md), this forces a word whose
continuation the model was trained on. And where a model told its effort in the prompt must decide, hundreds of
tokens later, whether to go on, which this 3M-parameter model read unreliably (countdown_trace_redesigns.md §15,
§19-22), here the engine decides and the model only writes the check. The shipped ponder-tiny-sft is trained
with rechecks (`medium` 1, `high` 2, with the vote): its arithmetic thinking rises with the effort on every level,
and at `high` a look that misreads the work above it is mostly outvoted by the passes that did not (on a few
level-2 products two misreading looks outvote a right first pass; benchmarks/results/experiments/rechecks.md §6).
"""

from __future__ import annotations

RECHECK_TEXT = "\ncheck"


def rechecks_for(rechecks: dict[str, int], effort: str | None, budget: int | None = None) -> int:
    """How many rechecks a request takes: its effort's (the checkpoint's table), none for an explicit budget (the
    caller asked for tokens, not an effort) or an effort the table does not name."""
    if budget is not None or effort is None:
        return 0
    return rechecks.get(effort, 0)


def recheck_counts(weights: tuple[float, ...] | None) -> dict[str, int]:
    """The efforts' recheck counts for a model trained with `weights` (of 0, 1, ... rechecks): `high` takes the most
    it was trained on and `medium` one fewer, so that each effort thinks more than the one below it."""
    if not weights or len(weights) < 2:
        return {}
    most = len(weights) - 1
    return {"medium": most - 1, "high": most} if most > 1 else {"high": most}
