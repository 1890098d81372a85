"""SFT examples: a chat prompt and a solver-written assistant turn, as token ids with a loss mask.

Loss is on assistant tokens only. Trace spans marked `learn=False` (deliberate slips) stay in context but get label
-100, found through the tokenizer's character offsets so the mask is exact whatever the tokenization.
Batches are deterministic functions of (seed, step), so a resumed run sees exactly the batches it would have seen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from ponder.tasks import Problem, Span, Task

IGNORE = -100


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def prompt_ids(tokenizer, prompt: str) -> list[int]:
    """Token ids of a one-question chat, ending where the assistant turn begins."""
    return list(tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                              tokenize=True, return_dict=False))


def make_example(tokenizer, task: Task, problem: Problem, rng: random.Random, direct: bool,
                 slip_rate: float) -> Example:
    spans = [Span("<think>")]
    if not direct:
        spans += task.trace_spans(problem, rng, slip_rate)
    spans += [Span("</think>" + problem.answer + tokenizer.eos_token)]
    text = "".join(s.text for s in spans)
    masked = []  # character ranges not to learn
    pos = 0
    for s in spans:
        if not s.learn:
            masked.append((pos, pos + len(s.text)))
        pos += len(s.text)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    completion = enc["input_ids"]
    labels = [
        IGNORE if any(a < end and start < b for a, b in masked) else tid
        for tid, (start, end) in zip(completion, enc["offset_mapping"], strict=True)
    ]
    # The opening <think> is forced by the engine at inference, so it is not learned either.
    labels[0] = IGNORE
    prompt = prompt_ids(tokenizer, problem.prompt)
    return Example(prompt + completion, [IGNORE] * len(prompt) + labels)


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch: input_ids, attention_mask and labels, each (B, T)."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    attn = torch.zeros((len(examples), width), dtype=torch.long)
    for i, e in enumerate(examples):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        labels[i, :n] = torch.tensor(e.labels)
        attn[i, :n] = 1
    return {"input_ids": ids, "attention_mask": attn, "labels": labels}
