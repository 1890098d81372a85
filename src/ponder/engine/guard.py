"""Decoding guards: per-row rules that mask next-token choices during the thinking, from the text written so far.

A guard is text-level (a task writes it, e.g. `ponder.tasks.countdown_guard`): `feed(text)` takes each thinking
token's text as it is appended; `continuations()` names texts the thinking must go on with, one of them (None:
any), so the next token must be a non-empty prefix of one. `TokenGuard` maps them to token ids with a table built
once per tokenizer, so a guard works with any tokenizer. Like a logits processor in transformers or vLLM, but
stateful per row.
"""

from __future__ import annotations

import weakref
from typing import Protocol

import torch


class Guard(Protocol):
    def feed(self, text: str) -> None: ...

    def continuations(self) -> list[str] | None: ...


class _Table:
    """id -> text and text -> ids of one tokenizer (built once: decoding a token per step would cost more)."""

    def __init__(self, tokenizer):
        self.text = [tokenizer.decode([i]) for i in range(len(tokenizer))]
        self.ids: dict[str, list[int]] = {}
        for i, t in enumerate(self.text):
            self.ids.setdefault(t, []).append(i)


_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _table(tokenizer) -> _Table:
    if tokenizer not in _TABLES:
        _TABLES[tokenizer] = _Table(tokenizer)
    return _TABLES[tokenizer]


class TokenGuard:
    """A text guard on one tokenizer's ids."""

    def __init__(self, guard: Guard, tokenizer):
        self.guard, self.table = guard, _table(tokenizer)
        self.overrides = 0  # steps where the model's most likely token was not allowed: the guard stepped in

    def feed(self, token: int) -> None:
        self.guard.feed(self.table.text[token])

    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        """logits (V,) with the tokens the guard does not allow at -inf (the same tensor when it allows any)."""
        rests = self.guard.continuations() or []
        ids = sorted({i for r in rests for k in range(1, len(r) + 1) for i in self.table.ids.get(r[:k], ())})
        if not ids:
            return logits
        out = torch.full_like(logits, float("-inf"))
        out[ids] = logits[ids]
        self.overrides += int(out.argmax()) != int(logits.argmax())
        return out
