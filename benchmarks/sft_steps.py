"""SFT steps timed one by one, taken the way ponder.train.sft takes them: shared by the benchmarks that compare row
layouts (sft_throughput.py) and memory allocators (sft_allocator.py)."""

from __future__ import annotations

import time

import torch

from ponder.train.data import collate_packed
from ponder.train.sft import _train_step


def timed_steps(model: torch.nn.Module, opt: torch.optim.Optimizer, steps: list, pad_id: int, bf16: bool,
                clip: float | None = None) -> tuple[list[int], list[float]]:
    """Train one optimizer step per entry of `steps` (micro-batch rows by width, as sft._pool_steps gives them);
    return the real (unpadded) tokens and the seconds of each step after the first, which is a warm-up."""
    tokens, seconds = [], []
    for i, rows_by_width in enumerate(steps):
        start = time.perf_counter()
        micro = [collate_packed(rows, pad_id) for rows in rows_by_width]
        opt.zero_grad(set_to_none=True)
        _train_step(model, micro, bf16)
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if i:
            seconds.append(time.perf_counter() - start)
            tokens.append(sum(int((b["input_ids"] != pad_id).sum()) for b in micro))
    return tokens, seconds
