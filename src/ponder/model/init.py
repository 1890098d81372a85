"""Initialisation of ponder's own models: number tokens start from place-value embeddings.

Each of the 1,000 number tokens `0`..`999` is its own token (see ponder.model.tokenizer), and the arithmetic traces
need the digits of a number token (`482` -> `4 8 2`) and the reverse (`1 4 7` -> `147`). Learned from random
embeddings, that is a thousand unrelated facts, and the first SFT run here still got most of them wrong after 400
steps. Starting each number's embedding as the sum of a vector for its length and one vector per (place, digit)
makes both directions linear from the first step; training is free to move them afterwards.
"""

from __future__ import annotations

import math

import torch


@torch.no_grad()
def init_number_embeddings(model, tokenizer, seed: int = 0, largest: int = 999) -> int:
    """Overwrite the input (and, if tied, output) embeddings of number tokens; returns how many were set."""
    emb = model.get_input_embeddings().weight  # (V, d)
    dim = emb.shape[1]
    std = float(emb.std())
    gen = torch.Generator().manual_seed(seed)
    places = len(str(largest))
    place = torch.randn(places, 10, dim, generator=gen) * std  # (place, digit, d); place 0 = units
    length = torch.randn(places, dim, generator=gen) * std  # (number of digits, d)
    space = torch.randn(dim, generator=gen) * std  # a leading space (build_tokenizer(space_prefixed=True)'s ` 40`)
    vocab = tokenizer.get_vocab()
    count = 0
    for n in range(largest + 1):
        text = str(n)
        vec = length[len(text) - 1] + sum(place[k, int(ch)] for k, ch in enumerate(reversed(text)))
        for piece, parts in ((text, vec), (" " + text, vec + space)):
            token = vocab.get(piece)
            if token is None:
                continue
            # keep the norm of an ordinary embedding
            emb[token] = parts / math.sqrt(len(text) + 1 + piece.startswith(" "))
            count += 1
    return count
