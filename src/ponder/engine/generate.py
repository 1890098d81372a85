"""Batched generation with a KV cache, thinking budgets, forced tokens, and a mask of what the model chose.

Works on token ids with any Hugging Face causal LM whose chat format writes `<think>…</think>` before the answer.
Each row runs a small state machine: thinking (after a forced `<think>`), then answer, then done. Forced tokens
(the opening `<think>`, `</think>` at the budget with an optional handover text, a continuation that replaces an early
`</think>` below the minimum) go through a per-row queue and carry mask 0, so that training never learns from them
(as nanochat's engine returns to its RL loop).
Rows may each have their own settings and seed (a seeded row samples the same tokens whatever batch it is in).
Not covered here: continuous batching across calls (rows join only at the start of a call).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache, PreTrainedModel


@dataclass
class GenerationParams:
    """Per-call generation settings. Budgets count tokens; `max_thinking=0` answers at once."""

    max_thinking: int | None = 768  # thinking tokens before `</think>` is forced (None: no limit but max_new)
    min_thinking: int = 0  # an earlier `</think>` is replaced by `continuation`
    answer_budget: int = 48  # tokens reserved for the answer after the thinking
    max_new_tokens: int = 4096  # hard cap on everything generated
    temperature: float = 0.0  # 0 is greedy
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    handover: str = ""  # text forced before `</think>` when the budget ends the thinking
    continuation: str = "\nWait,"  # text forced in place of an early `</think>`

    def __post_init__(self) -> None:
        if self.max_thinking is not None and self.max_thinking < 0:
            raise ValueError(f"thinking budget must be >= 0, got {self.max_thinking}")
        if self.min_thinking < 0:
            raise ValueError(f"minimum thinking must be >= 0, got {self.min_thinking}")
        if self.max_thinking is not None and self.min_thinking > self.max_thinking:
            raise ValueError(f"minimum thinking {self.min_thinking} exceeds the budget {self.max_thinking}")
        if self.answer_budget < 1:
            raise ValueError(f"answer budget must be >= 1, got {self.answer_budget}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")


@dataclass
class Completion:
    token_ids: list[int]
    mask: list[int]  # 1 where the model chose the token, 0 where the engine forced it
    thinking: str
    answer: str
    thinking_tokens: int
    answer_tokens: int
    finish_reason: str  # "stop", "length" or "thinking_budget" (or "cancelled")
    seconds: float


@dataclass
class _Row:
    phase: str = "think"
    queue: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    thinking: int = 0
    answer: int = 0
    budget_hit: bool = False
    finish: str | None = None


class _Vocab:
    def __init__(self, tokenizer, params: GenerationParams):
        self.think = _single_id(tokenizer, "<think>")
        self.end_think = _single_id(tokenizer, "</think>")
        self.eos = tokenizer.eos_token_id
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos
        self.handover = tokenizer.encode(params.handover, add_special_tokens=False) if params.handover else []
        self.continuation = tokenizer.encode(params.continuation, add_special_tokens=False)


def _single_id(tokenizer, text: str) -> int:
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != 1:
        raise ValueError(f"the tokenizer has no single token for {text}; its chat format must write <think>…</think>")
    return ids[0]


def _sample(logits: torch.Tensor, params: GenerationParams, gen: torch.Generator | None) -> int:
    """logits (V,) -> one token id."""
    if params.temperature == 0:
        return int(logits.argmax(-1))
    logits = logits.float() / params.temperature
    if params.top_k:
        kth = torch.topk(logits, min(params.top_k, logits.shape[-1])).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if params.top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True)
        probs = sorted_logits.softmax(-1)
        drop = probs.cumsum(-1) - probs > params.top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return int(torch.multinomial(logits.softmax(-1), 1, generator=gen))


def _step(row: _Row, token: int, forced: bool, v: _Vocab, p: GenerationParams) -> None:
    """Append one token to a row and advance its state machine (may queue forced tokens)."""
    row.ids.append(token)
    row.mask.append(0 if forced else 1)
    if row.phase == "think":
        if token == v.think and len(row.ids) == 1:
            pass
        elif token == v.end_think:
            row.phase = "answer"
            return
        else:
            row.thinking += 1
        if row.queue:
            return
        limit = p.max_thinking
        handover = v.handover if len(v.handover) < (limit or 0) else []
        if limit is not None and row.thinking + len(handover) >= limit:
            row.budget_hit = True
            row.queue = handover + [v.end_think]
    elif row.phase == "answer":
        if token == v.eos:
            row.phase, row.finish = "done", ("thinking_budget" if row.budget_hit else "stop")
            return
        row.answer += 1
        if row.answer >= p.answer_budget:
            row.phase, row.finish = "done", "length"


def _choose(row: _Row, sampled: int | None, v: _Vocab, p: GenerationParams) -> tuple[int, bool]:
    """The token to append for a row: a queued forced token, or the model's, possibly replaced."""
    if row.queue:
        return row.queue.pop(0), True
    if row.phase == "think" and sampled in (v.end_think, v.eos):
        if row.thinking < p.min_thinking:
            row.queue = v.continuation[1:]
            return v.continuation[0], True
        if sampled == v.eos:  # the model stopped inside its thinking: close it so that it still answers
            return v.end_think, True
    return sampled, False


@torch.inference_mode()
def generate(model: PreTrainedModel, tokenizer, prompts: list[list[int]],
             params: GenerationParams | list[GenerationParams],
             on_token: Callable[[int, int, bool], None] | None = None,
             cancelled: Callable[[int], bool] | None = None) -> list[Completion]:
    """Complete each prompt (token ids ending where the assistant turn begins) in one left-padded batch.

    `params` is one setting for all rows or one per row (so requests with different budgets share a batch).
    `on_token(row, token_id, forced)` is called for every token as it is appended, for streaming;
    `cancelled(row)` is polled every step, and a cancelled row stops (finish reason "cancelled").
    Finished rows leave the batch (their KV cache rows are dropped), so the batch shrinks as rows end."""
    if not prompts:
        return []
    per_row = params if isinstance(params, list) else [params] * len(prompts)
    if len(per_row) != len(prompts):
        raise ValueError(f"{len(per_row)} settings for {len(prompts)} prompts")
    start = time.perf_counter()
    vocabs = {id(p): _Vocab(tokenizer, p) for p in per_row}
    gens = [torch.Generator().manual_seed(p.seed) if p.seed is not None else None for p in per_row]
    rows = [_Row() for _ in prompts]
    for row, p in zip(rows, per_row, strict=True):
        v = vocabs[id(p)]
        row.queue = [v.think] + ([v.end_think] if p.max_thinking == 0 else [])
    pad = vocabs[id(per_row[0])].pad
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)  # (B, T)
    attn = torch.zeros((len(prompts), width), dtype=torch.long)  # (B, T)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p)
        attn[i, width - len(p):] = 1
    positions = (attn.cumsum(-1) - 1).clamp(min=0)
    cache = {_cache_argument(model): DynamicCache()}
    out = model(input_ids=ids, attention_mask=attn, position_ids=positions, use_cache=True, **cache)
    logits = out.logits[:, -1]  # (b, V) for the active rows
    next_pos = positions[:, -1:] + 1  # (b, 1)
    active = list(range(len(rows)))  # batch position -> row index
    limit = max(p.max_new_tokens for p in per_row)
    for _ in range(limit):
        tokens = []
        for b, i in enumerate(active):
            row, p = rows[i], per_row[i]
            v = vocabs[id(p)]
            if cancelled is not None and cancelled(i):
                row.phase, row.finish = "done", "cancelled"
                tokens.append(v.pad)
                continue
            token, forced = _choose(row, None if row.queue else _sample(logits[b], p, gens[i]), v, p)
            _step(row, token, forced, v, p)
            if len(row.ids) >= p.max_new_tokens and row.phase != "done":
                row.phase, row.finish = "done", "length"
            tokens.append(token)
            if on_token is not None:
                on_token(i, token, forced)
        keep = [b for b, i in enumerate(active) if rows[i].phase != "done"]
        if not keep:
            break
        if len(keep) < len(active):
            index = torch.tensor(keep)
            next(iter(cache.values())).batch_select_indices(index)
            attn, next_pos = attn[index], next_pos[index]
            tokens = [tokens[b] for b in keep]
            active = [active[b] for b in keep]
        attn = torch.cat([attn, torch.ones((len(active), 1), dtype=torch.long)], dim=-1)
        out = model(input_ids=torch.tensor(tokens).unsqueeze(-1), attention_mask=attn, position_ids=next_pos,
                    use_cache=True, **cache)
        logits = out.logits[:, -1]
        next_pos = next_pos + 1
    seconds = time.perf_counter() - start
    return [_finish(row, tokenizer, vocabs[id(p)], seconds) for row, p in zip(rows, per_row, strict=True)]


def _cache_argument(model) -> str:
    """transformers 5 names the KV cache argument `cache`; earlier releases `past_key_values`."""
    params = inspect.signature(model.forward).parameters
    if "cache" in params:
        return "cache"
    inner = getattr(model, "model", None)  # a wrapper that takes **kwargs: ask the model it wraps
    if "past_key_values" in params or inner is None:
        return "past_key_values"
    return _cache_argument(inner)


def _finish(row: _Row, tokenizer, v: _Vocab, seconds: float) -> Completion:
    ids = row.ids
    cut = ids.index(v.end_think) if v.end_think in ids else len(ids)
    thinking_ids = [t for t in ids[:cut] if t != v.think]
    answer_ids = [t for t in ids[cut + 1:] if t != v.eos]
    return Completion(
        token_ids=ids, mask=row.mask,
        thinking=tokenizer.decode(thinking_ids, skip_special_tokens=True),
        answer=tokenizer.decode(answer_ids, skip_special_tokens=True).strip(),
        thinking_tokens=row.thinking, answer_tokens=row.answer,
        finish_reason=row.finish or "length", seconds=seconds,
    )
