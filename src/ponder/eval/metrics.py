"""Metrics over several samples per problem: unbiased pass@k, and maj@k (self-consistency by voting).

pass@k follows Chen et al. (2021): 1 - C(n-c, k) / C(n, k) for n samples of which c are correct.
maj@k votes among k samples on answers grouped by the task's `answer_key` (answers the verifier cannot tell apart
share a key); a tie goes to the group whose first member came first. With n samples, maj@k is the mean over the
n // k disjoint groups of k consecutive samples, so one run of n samples gives the whole curve.
"""

from __future__ import annotations

from collections import Counter
from math import comb


def pass_at_k(n: int, c: int, k: int) -> float:
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def majority(keys: list[str]) -> int:
    """Index of a representative of the winning group (ties: the group seen first)."""
    counts = Counter(keys)
    best = max(counts.values())
    return next(i for i, key in enumerate(keys) if counts[key] == best)


def maj_at_k(keys: list[str], correct: list[bool], k: int) -> float:
    if len(keys) != len(correct) or not 1 <= k <= len(keys):
        raise ValueError(f"need 1 <= k <= {len(keys)} samples with a verdict each")
    groups = [range(s, s + k) for s in range(0, len(keys) - k + 1, k)]
    wins = [correct[g[majority([keys[i] for i in g])]] for g in groups]
    return sum(wins) / len(wins)


def ks_up_to(n: int) -> list[int]:
    """1, 2, 4, ... up to n (n included)."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return ks + [n]
