"""Batched generation with a KV cache, thinking budgets, forced tokens, and a mask of what the model chose.

Works on token ids with any Hugging Face causal LM whose chat format writes `<think>…</think>` before the answer.
Each row runs a small state machine: thinking (after a forced `<think>`), then answer, then done. Forced tokens
(the opening `<think>`, `</think>` at the budget with an optional handover text, a continuation that replaces an early
`</think>` below the minimum) go through a per-row queue and carry mask 0, so that training never learns from them
(as nanochat's engine returns to its RL loop).
Rows may each have their own settings and seed (a seeded row samples the same tokens whatever batch it is in).
`Decoder` is the running batch (rows join and leave between steps: continuous batching, as the server uses it);
`generate` runs one set of prompts through it to the end.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache, PreTrainedModel

from ponder.engine.guard import Guard, TokenGuard
from ponder.engine.kv_cache import growing_cache
from ponder.recheck import RECHECK_TEXT


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
    rechecks: int = 0  # the first this many ends of thinking are replaced by `recheck` (ponder.recheck)
    recheck: str = RECHECK_TEXT  # the word a model trained with rechecks goes on after
    vote: bool = False  # with rechecks: answer what most passes would answer (ponder.recheck)

    def __post_init__(self) -> None:
        if self.max_thinking is not None and self.max_thinking < 0:
            raise ValueError(f"thinking budget must be >= 0, got {self.max_thinking}")
        if self.min_thinking < 0:
            raise ValueError(f"minimum thinking must be >= 0, got {self.min_thinking}")
        if self.rechecks < 0:
            raise ValueError(f"rechecks must be >= 0, got {self.rechecks}")
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
    seconds: float  # from joining the batch to finishing
    guard_overrides: int = 0  # thinking steps where a guard did not allow the model's most likely token
    pass_answers: list[str] = field(default_factory=list)  # with a vote: each pass's answer, in order


@dataclass
class _Row:
    phase: str = "think"
    queue: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    thinking: int = 0
    answer: int = 0
    budget_hit: bool = False
    rechecks: int = 0  # ends of thinking replaced by the recheck word so far
    first_pass: int | None = None  # thinking tokens at the first end of thinking: what a look costs
    ballot: list[int] | None = None  # an open ballot: `</think>` and the answer this pass gives, kept out of `ids`
    last_ballot: bool = False  # the open ballot is the last pass's: the vote follows it
    ballots: list[list[int]] = field(default_factory=list)  # the closed ballots' answer tokens
    hide: int = 0  # cache columns to hide from this row before the next forward (a closed ballot's)
    finish: str | None = None
    guard: TokenGuard | None = None  # masks the model's thinking tokens (ponder.engine.guard)


class _Vocab:
    def __init__(self, tokenizer, params: GenerationParams):
        self.think = _single_id(tokenizer, "<think>")
        self.end_think = _single_id(tokenizer, "</think>")
        self.eos = tokenizer.eos_token_id
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos
        self.handover = tokenizer.encode(params.handover, add_special_tokens=False) if params.handover else []
        self.continuation = tokenizer.encode(params.continuation, add_special_tokens=False)
        self.recheck = tokenizer.encode(params.recheck, add_special_tokens=False) if params.rechecks else []
        self.decode = lambda ids: tokenizer.decode(ids, skip_special_tokens=True).strip()


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
    if row.ballot is not None:
        row.ballot.append(token)
        return
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
    if row.ballot is not None:
        if sampled != v.eos and len(row.ballot) <= p.answer_budget:
            return sampled, False
        _close_ballot(row, v)
    if row.queue:
        token = row.queue.pop(0)
        if token == v.end_think and row.budget_hit and p.vote and row.ballots and not row.last_ballot:
            row.ballot, row.last_ballot = [], True  # the budget ended a look: its answer votes too
        return token, True
    if row.phase == "think" and sampled in (v.end_think, v.eos):
        if row.thinking < p.min_thinking:
            row.queue = v.continuation[1:]
            return v.continuation[0], True
        # A look redoes the work (ponder.recheck), so one is started only where the budget left holds the first
        # pass again: a look the budget cuts leaves the answer to be copied from half-written work.
        if row.first_pass is None:
            row.first_pass = row.thinking
        cost = row.first_pass + len(v.recheck)
        fits = p.max_thinking is None or row.thinking + cost < p.max_thinking
        due = row.rechecks < p.rechecks and fits
        if p.vote and (due or row.ballots):  # this pass's answer is written out of sight, as a ballot
            row.ballot, row.last_ballot = [], not due
            return v.end_think, True
        if due:
            row.rechecks += 1
            row.queue = v.recheck[1:]
            return v.recheck[0], True
        if sampled == v.eos:  # the model stopped inside its thinking: close it so that it still answers
            return v.end_think, True
    return sampled, False


def _close_ballot(row: _Row, v: _Vocab) -> None:
    """Hide a finished ballot and queue what follows it: the next look, or after the last pass the answer most
    passes gave (a tie goes to the earliest pass: the misses rechecks.md lists are look-ups among the copies
    of the work above, and each look has more copies above it than the pass before)."""
    row.hide = len(row.ballot)  # its `</think>` and answer tokens each took a cache column
    row.ballots.append(row.ballot[1:])
    row.ballot = None
    if not row.last_ballot:
        row.rechecks += 1
        row.queue = list(v.recheck)
        return
    answers = [v.decode(b) for b in row.ballots]
    counts = Counter(answers)
    most = max(counts.values())
    winner = next(b for b, a in zip(row.ballots, answers, strict=True) if counts[a] == most)
    row.queue = [v.end_think, *winner, v.eos]


class Decoder:
    """A running batch that rows join and leave between steps: continuous batching.

    `add` prefills new prompts (together, left-padded) and merges their KV cache into the running batch, padding
    whichever side is shorter on the left, so a request that arrives mid-generation starts at the next step instead
    of waiting for the whole batch to end. `step` appends one token to every active row and returns the rows that
    finished; finished rows leave the batch (their cache rows are dropped), and cache columns that no remaining row
    attends to are trimmed. Row ids count up from 0 over the decoder's life.
    `on_token(row, token_id, forced)` is called for every token as it is appended, for streaming;
    `cancelled(row)` is polled every step, and a cancelled row stops (finish reason "cancelled")."""

    def __init__(self, model: PreTrainedModel, tokenizer,
                 on_token: Callable[[int, int, bool], None] | None = None,
                 cancelled: Callable[[int], bool] | None = None):
        self.model, self.tokenizer = model, tokenizer
        self.on_token, self.cancelled = on_token, cancelled
        self._cache_arg = _cache_argument(model)
        self.cache: DynamicCache | None = None
        self.attn = torch.zeros((0, 0), dtype=torch.long)  # (b, T) for the active rows
        self.next_pos = torch.zeros((0, 1), dtype=torch.long)  # (b, 1)
        self.logits: torch.Tensor | None = None  # (b, V): next-token logits of the active rows
        self.active: list[int] = []  # batch position -> row id
        self.rows: dict[int, tuple[_Row, GenerationParams, _Vocab, torch.Generator | None, float]] = {}
        self._next_id = 0

    def __len__(self) -> int:
        return len(self.active)

    @torch.inference_mode()
    def add(self, prompts: list[list[int]], params: list[GenerationParams],
            guards: list[Guard | None] | None = None) -> list[int]:
        """Join the batch; returns the new rows' ids. Prompts are token ids ending where the assistant turn begins;
        `guards` (one per prompt, or None) mask the model's choices while it thinks (ponder.engine.guard)."""
        if len(params) != len(prompts):
            raise ValueError(f"{len(params)} settings for {len(prompts)} prompts")
        if guards is not None and len(guards) != len(prompts):
            raise ValueError(f"{len(guards)} guards for {len(prompts)} prompts")
        if not prompts:
            return []
        vocabs = {id(p): _Vocab(self.tokenizer, p) for p in params}
        pad = vocabs[id(params[0])].pad
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)  # (n, P)
        attn = torch.zeros((len(prompts), width), dtype=torch.long)  # (n, P)
        for i, p in enumerate(prompts):
            ids[i, width - len(p):] = torch.tensor(p)
            attn[i, width - len(p):] = 1
        positions = (attn.cumsum(-1) - 1).clamp(min=0)
        cache = growing_cache()
        out = self.model(input_ids=ids, attention_mask=attn, position_ids=positions, use_cache=True,
                         **{self._cache_arg: cache})
        logits = out.logits[:, -1]
        if self.cache is None or not self.active:
            self.cache, self.attn, self.logits = cache, attn, logits
            self.next_pos = positions[:, -1:] + 1
        else:
            self.attn = _merge_caches(self.cache, self.attn, cache, attn)
            self.logits = torch.cat([self.logits, logits])
            self.next_pos = torch.cat([self.next_pos, positions[:, -1:] + 1])
        now = time.perf_counter()
        new_ids = []
        for k, p in enumerate(params):
            v = vocabs[id(p)]
            row = _Row(queue=[v.think] + ([v.end_think] if p.max_thinking == 0 else []))
            if guards is not None and guards[k] is not None:
                row.guard = TokenGuard(guards[k], self.tokenizer)
            gen = torch.Generator().manual_seed(p.seed) if p.seed is not None else None
            self.rows[self._next_id] = (row, p, v, gen, now)
            self.active.append(self._next_id)
            new_ids.append(self._next_id)
            self._next_id += 1
        return new_ids

    @torch.inference_mode()
    def step(self) -> list[tuple[int, Completion]]:
        """One token for every active row; returns (row id, Completion) for the rows that finished."""
        if not self.active:
            return []
        tokens = []
        for b, rid in enumerate(self.active):
            row, p, v, gen, _ = self.rows[rid]
            if self.cancelled is not None and self.cancelled(rid):
                row.phase, row.finish = "done", "cancelled"
                tokens.append(v.pad)
                continue
            was_ballot = row.ballot is not None
            thinking = row.phase == "think" and not was_ballot and bool(row.ids)  # past the opening <think>
            guard = row.guard if thinking else None
            logits = None if row.queue else self.logits[b] if guard is None else guard.mask(self.logits[b])
            token, forced = _choose(row, None if logits is None else _sample(logits, p, gen), v, p)
            _step(row, token, forced, v, p)
            if row.hide:  # a closed ballot: no later token attends to it, and its positions are reused
                self.attn[b, -row.hide:] = 0
                self.next_pos[b] -= row.hide
                row.hide = 0
            if row.ballot is not None:  # out of sight: not streamed, not seen by the guard
                tokens.append(token)
                continue
            if row.guard is not None and row.phase == "think" and (guard is not None or was_ballot):
                row.guard.feed(token)
            if len(row.ids) >= p.max_new_tokens and row.phase != "done":
                row.phase, row.finish = "done", "length"
            tokens.append(token)
            if self.on_token is not None:
                self.on_token(rid, token, forced)
        finished = []
        keep = []
        for b, rid in enumerate(self.active):
            row, p, v, _, started = self.rows[rid]
            if row.phase == "done":
                finished.append((rid, _finish(row, self.tokenizer, v, time.perf_counter() - started)))
                del self.rows[rid]
            else:
                keep.append(b)
        if len(keep) < len(self.active):
            index = torch.tensor(keep, dtype=torch.long)
            self.cache.batch_select_indices(index)
            self.attn, self.next_pos = self.attn[index], self.next_pos[index]
            tokens = [tokens[b] for b in keep]
            self.active = [self.active[b] for b in keep]
            if not self.active:
                self.cache, self.logits = None, None
                self.attn = torch.zeros((0, 0), dtype=torch.long)
                return finished
            self.attn = _trim_unused_columns(self.cache, self.attn)
        self.attn = torch.cat([self.attn, torch.ones((len(self.active), 1), dtype=torch.long)], dim=-1)
        out = self.model(input_ids=torch.tensor(tokens).unsqueeze(-1), attention_mask=self.attn,
                         position_ids=self.next_pos, use_cache=True, **{self._cache_arg: self.cache})
        self.logits = out.logits[:, -1]
        self.next_pos = self.next_pos + 1
        return finished


def generate(model: PreTrainedModel, tokenizer, prompts: list[list[int]],
             params: GenerationParams | list[GenerationParams],
             on_token: Callable[[int, int, bool], None] | None = None,
             cancelled: Callable[[int], bool] | None = None, max_batch: int | None = None,
             guards: list[Guard | None] | None = None) -> list[Completion]:
    """Complete each prompt (token ids ending where the assistant turn begins); returns them in prompt order.

    `params` is one setting for all rows or one per row (so requests with different budgets share a batch).
    `on_token(row, token_id, forced)` and `cancelled(row)` take the prompt's index (see Decoder).
    At most `max_batch` rows decode at once (all of them when None); as rows finish, waiting prompts take their
    places, so one long completion does not hold back the rest. `guards` (one per prompt) see Decoder.add."""
    if not prompts:
        return []
    per_row = params if isinstance(params, list) else [params] * len(prompts)
    if len(per_row) != len(prompts):
        raise ValueError(f"{len(per_row)} settings for {len(prompts)} prompts")
    if guards is not None and len(guards) != len(prompts):
        raise ValueError(f"{len(guards)} guards for {len(prompts)} prompts")
    if max_batch is not None and max_batch < 1:
        raise ValueError(f"max_batch must be >= 1, got {max_batch}")
    limit = max_batch or len(prompts)
    decoder = Decoder(model, tokenizer, on_token, cancelled)
    done: dict[int, Completion] = {}
    queued = 0  # a fresh decoder numbers rows in the order they are added: row id == prompt index
    while queued < len(prompts) or len(decoder):
        if queued < len(prompts) and len(decoder) < limit:
            take = min(limit - len(decoder), len(prompts) - queued)
            decoder.add(prompts[queued:queued + take], per_row[queued:queued + take],
                        None if guards is None else guards[queued:queued + take])
            queued += take
        done.update(decoder.step())
    return [done[i] for i in range(len(prompts))]


def _layers(cache: DynamicCache) -> list:
    """The cache's per-layer objects holding `keys` and `values` (B, H, T, D)."""
    layers = getattr(cache, "layers", None)
    if layers is None:
        raise ValueError("continuous batching needs transformers >= 4.56 (a DynamicCache with per-layer keys)")
    return layers


def _merge_caches(cache: DynamicCache, attn: torch.Tensor, new: DynamicCache, new_attn: torch.Tensor
                  ) -> torch.Tensor:
    """Append the rows of `new` to `cache` in place, left-padding the shorter of the two so the columns line up
    (padded columns are masked out); returns the merged attention mask (b + n, T)."""
    width = max(attn.shape[1], new_attn.shape[1])

    def left_pad(t: torch.Tensor, to: int) -> torch.Tensor:  # (B, H, T, D) or (B, T), padded on T
        extra = to - t.shape[-2 if t.ndim == 4 else -1]
        if extra == 0:
            return t
        shape = list(t.shape)
        shape[-2 if t.ndim == 4 else -1] = extra
        return torch.cat([t.new_zeros(shape), t], dim=-2 if t.ndim == 4 else -1)

    for layer, add in zip(_layers(cache), _layers(new), strict=True):
        layer.keys = torch.cat([left_pad(layer.keys, width), left_pad(add.keys, width)])
        layer.values = torch.cat([left_pad(layer.values, width), left_pad(add.values, width)])
    return torch.cat([left_pad(attn, width), left_pad(new_attn, width)])


def _trim_unused_columns(cache: DynamicCache, attn: torch.Tensor) -> torch.Tensor:
    """Drop leading cache columns that no row attends to (left padding of rows that have left the batch)."""
    used = attn.any(dim=0).nonzero()
    first = int(used[0]) if len(used) else 0
    if first == 0:
        return attn
    for layer in _layers(cache):
        layer.keys, layer.values = layer.keys[..., first:, :], layer.values[..., first:, :]
    return attn[:, first:]


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
        guard_overrides=row.guard.overrides if row.guard is not None else 0,
        pass_answers=[v.decode(b) for b in row.ballots],
    )
