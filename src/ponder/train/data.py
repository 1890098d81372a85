"""SFT examples: a chat prompt and a solver-written assistant turn, as token ids with a loss mask.

Loss is on assistant tokens only. Trace spans marked `learn=False` (deliberate slips) stay in context but get label
-100, found through the tokenizer's character offsets so the mask is exact whatever the tokenization.
Examples are packed several to a row (first-fit decreasing), each attending only to itself through a
block-diagonal causal mask and counting positions from 0, so a packed row computes exactly what separate rows would,
with almost no padding. One optimizer step takes a random run of examples (`step_groups`), so every step mixes short
and long examples and every token weighs the same in the loss (instead of short direct answers dominating the few
batches made only of them); within a step, each example goes into the narrowest row width that holds it
(`pack_by_width`), one micro-batch per width. Attention costs the square of the row width whatever the mask hides,
so short examples train faster in short rows (a step of the default widths trains 1.34x the tokens/s of the same
step in rows of 640: benchmarks/results/sft_throughput.json).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from ponder.effort_prompt import effort_messages
from ponder.recheck import RECHECK_TEXT
from ponder.tasks import Problem, Span, Task

IGNORE = -100


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]
    # (position, token id): tokens the model should not predict at that position (a trace span's `avoid`), for the
    # unlikelihood loss; position indexes input_ids like labels do
    avoid: tuple[tuple[int, int], ...] = ()


def prompt_ids(tokenizer, prompt: str, effort: str | None = None) -> list[int]:
    """Token ids of a one-question chat, ending where the assistant turn begins; `effort` adds the system line of
    `effort_messages`."""
    messages = effort_messages([{"role": "user", "content": prompt}], effort)
    return list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                              return_dict=False))


def make_example(tokenizer, task: Task, problem: Problem, rng: random.Random, direct: bool,
                 slip_rate: float, cut: bool = False, catch_rate: float = 0.0, effort: str | None = None,
                 rechecks: int = 0) -> Example:
    """`cut` ends the trace at a random word, as a thinking budget does: `</think>` is then forced (masked, so the
    model never learns to stop mid-thought) and the reference answer follows, the model's best direct guess. Without
    such examples a cut search was followed by junk and scored below answering at once. `catch_rate` inserts caught
    repeats into the trace (`Task.catch_repeats`). `effort` states a reasoning effort in the prompt and asks the
    task for that effort's trace. `rechecks` (an uncut trace only) appends that many rechecks, each after the word
    the engine forces (ponder.recheck: masked, so the model never goes on by itself)."""
    spans = [Span("<think>")]
    answer = problem.answer
    if direct:
        spans.append(Span("</think>"))
    else:
        trace = task.catch_repeats(problem, task.trace_spans(problem, rng, slip_rate, effort), rng, catch_rate)
        text = "".join(s.text for s in trace)
        breaks = [i for i, ch in enumerate(text) if ch in " \n"] if cut else []
        if breaks:
            spans += _prefix(trace, rng.choice(breaks))
            spans.append(Span("</think>", learn=False))
        else:
            spans += trace
            for _ in range(rechecks):
                more = task.recheck_spans(problem, text, rng, slip_rate)
                spans += [Span(RECHECK_TEXT, learn=False), *more]
                text += RECHECK_TEXT + "".join(s.text for s in more)
            answer = task.answer_from_trace(problem, text)
            spans.append(Span("</think>"))
    spans += [Span(answer + tokenizer.eos_token)]
    return make_spans_example(tokenizer, problem.prompt, spans, effort)


def make_spans_example(tokenizer, prompt_text: str, spans: list[Span], effort: str | None = None) -> Example:
    """The example of a one-question chat whose assistant turn is `spans`: labels on learnable spans only (the first
    token, the `<think>` the engine forces, never), avoided tokens where a span names them."""
    text = "".join(s.text for s in spans)
    masked = []  # character ranges not to learn
    avoid_at = []  # (character position, pieces to avoid there)
    pos = 0
    for s in spans:
        if not s.learn:
            masked.append((pos, pos + len(s.text)))
        elif s.avoid:
            avoid_at.append((pos, s.avoid))
        pos += len(s.text)
    # verbose=False: transformers warns of "indexing errors" past model_max_length, but an example wider than the
    # run's widest row is left out of training (max_len), so the warning only alarms
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    completion = enc["input_ids"]
    labels = [
        IGNORE if any(a < end and start < b for a, b in masked) else tid
        for tid, (start, end) in zip(completion, enc["offset_mapping"], strict=True)
    ]
    # The opening <think> is forced by the engine at inference, so it is not learned either.
    labels[0] = IGNORE
    prompt = prompt_ids(tokenizer, prompt_text, effort)
    token_at = {start: i for i, (start, _) in enumerate(enc["offset_mapping"])}
    avoid = []
    for char_pos, pieces in avoid_at:
        i = token_at.get(char_pos)
        # a space-prefixed tokenizer's token (` 13`) starts at the space before the span
        space = i is None and char_pos > 0 and text[char_pos - 1] == " "
        if space:
            i = token_at.get(char_pos - 1)
        if i is None or labels[i] == IGNORE:
            continue  # a span that does not start a learned token (a cut trace's last word)
        for piece in pieces:
            ids = tokenizer(" " * space + piece, add_special_tokens=False)["input_ids"]
            if len(ids) == 1 and ids[0] != labels[i]:
                avoid.append((len(prompt) + i, ids[0]))
    return Example(prompt + completion, [IGNORE] * len(prompt) + labels, tuple(avoid))


def _prefix(spans: list[Span], length: int) -> list[Span]:
    """The first `length` characters of a span list, flags kept."""
    out: list[Span] = []
    for s in spans:
        if length <= 0:
            break
        out.append(Span(s.text[:length], s.learn, s.avoid))
        length -= len(s.text)
    return out


def draw(rng: random.Random, items: list | tuple, k: int) -> list:
    """`k` of `items` drawn without replacement, or with it where there are fewer than `k` (a small pool still fills
    a step)."""
    return rng.sample(items, k) if len(items) >= k else rng.choices(items, k=k)


def pack(examples: list[Example], capacity: int) -> list[list[Example]]:
    """First-fit decreasing: rows of examples whose lengths add up to at most `capacity`."""
    rows: list[list[Example]] = []
    room: list[int] = []
    for ex in sorted(examples, key=lambda e: -len(e.input_ids)):
        n = len(ex.input_ids)
        if n > capacity:
            raise ValueError(f"an example of {n} tokens does not fit a row of {capacity}")
        for i, free in enumerate(room):
            if n <= free:
                rows[i].append(ex)
                room[i] -= n
                break
        else:
            rows.append([ex])
            room.append(capacity - n)
    return rows


def step_groups(examples: list[Example], budget: int) -> list[list[Example]]:
    """Consecutive runs of `examples` of at most `budget` tokens each, one optimizer step a run; the last, partial
    run is dropped so that every step trains on about the same number of tokens."""
    groups: list[list[Example]] = []
    current: list[Example] = []
    used = 0
    for ex in examples:
        n = len(ex.input_ids)
        if current and used + n > budget:
            groups.append(current)
            current, used = [], 0
        current.append(ex)
        used += n
    return groups


def pack_by_width(examples: list[Example], widths: tuple[int, ...]) -> list[list[list[Example]]]:
    """Micro-batches of one step: each example in the narrowest of `widths` that holds it, packed first-fit
    decreasing within that width; one list of rows per width used, narrowest first."""
    ascending = sorted(widths)
    by_width: dict[int, list[Example]] = {}
    for ex in examples:
        n = len(ex.input_ids)
        width = next((w for w in ascending if n <= w), None)
        if width is None:
            raise ValueError(f"an example of {n} tokens does not fit the widest row ({max(widths)})")
        by_width.setdefault(width, []).append(ex)
    return [pack(by_width[w], w) for w in sorted(by_width)]


def avoid_index(rows: list[list[Example]]) -> torch.Tensor:
    """The examples' avoided tokens as (row, position, token id) in the layout of `collate_packed`: (N, 3)."""
    out = []
    for i, row in enumerate(rows):
        start = 0
        for e in row:
            out.extend((i, start + pos, tid) for pos, tid in e.avoid)
            start += len(e.input_ids)
    return torch.tensor(out, dtype=torch.long).reshape(-1, 3)


def collate_packed(rows: list[list[Example]], pad_id: int) -> dict[str, torch.Tensor]:
    """input_ids, labels, position_ids (B, T) and a block-diagonal causal attention mask (B, 1, T, T)."""
    width = max(sum(len(e.input_ids) for e in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    doc = torch.full((len(rows), width), -1, dtype=torch.long)  # -1: padding, its own block
    for i, row in enumerate(rows):
        start = 0
        for j, e in enumerate(row):
            n = len(e.input_ids)
            ids[i, start:start + n] = torch.tensor(e.input_ids)
            labels[i, start:start + n] = torch.tensor(e.labels)
            positions[i, start:start + n] = torch.arange(n)
            doc[i, start:start + n] = j
            start += n
    causal = torch.ones((width, width), dtype=torch.bool).tril()
    mask = (doc[:, :, None] == doc[:, None, :]) & causal  # (B, T, T)
    return {"input_ids": ids, "labels": labels, "position_ids": positions, "attention_mask": mask[:, None]}
