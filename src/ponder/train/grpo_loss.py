"""GRPO as small pure functions: group-normalised advantages and the clipped policy loss.

Follows DeepSeekMath's GRPO with the later fixes as options: Dr. GRPO drops the division by the group's std
(`scale_std=False`); DAPO normalises the loss over all tokens of the batch (`norm="token"`) instead of per sequence,
and clips the ratio asymmetrically (`clip_high` > `clip_low`). The KL to a frozen reference uses the k3 estimator
(Schulman), as GRPO does. Masked tokens (forced by the engine, or padding) carry no gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def group_advantages(rewards: torch.Tensor, scale_std: bool = True, eps: float = 1e-6) -> torch.Tensor:
    """rewards (N, G) for N prompts of G samples -> advantages (N, G): reward minus its group's mean, optionally
    divided by the group's std."""
    if rewards.ndim != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must be (prompts, G) with G >= 2, got {tuple(rewards.shape)}")
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if scale_std:
        centred = centred / (rewards.std(dim=1, keepdim=True) + eps)
    return centred


def weight_negatives(advantages: torch.Tensor, weight: float) -> torch.Tensor:
    """Advantages with the negative ones multiplied by `weight` (1: GRPO; 0: only right samples are reinforced, as
    RAFT / rejection-sampling fine-tuning). The idea: with token-level normalisation a wrong sample that loops to
    the budget carries more tokens than a right one, so most of the gradient pushes down long wrong searches, whose
    steps are mostly correct. Measured on the tiny model, 0 made it worse (it learned to stop searching early):
    benchmarks/results/experiments/grpo_budget1024.md."""
    if weight < 0:
        raise ValueError(f"negative weight must be >= 0, got {weight}")
    return torch.where(advantages < 0, advantages * weight, advantages)


def informative_groups(rewards: torch.Tensor) -> torch.Tensor:
    """(N,) bool: groups whose rewards are not all equal (the others carry no signal: DAPO's dynamic sampling)."""
    return (rewards.max(dim=1).values - rewards.min(dim=1).values) > 0


@dataclass
class LossStats:
    loss: float
    kl: float
    clip_fraction: float
    anchor: float = 0.0  # the anchor's next-token loss, where the update had one (ponder.train.anchor)


def policy_loss(logp: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor,
                clip_low: float = 0.2, clip_high: float = 0.28, beta: float = 0.0,
                logp_ref: torch.Tensor | None = None, norm: str = "token") -> tuple[torch.Tensor, LossStats]:
    """Clipped surrogate loss (to minimise).

    logp, logp_old, logp_ref, mask: (B, T) log-probabilities of the sampled tokens and a 0/1 mask;
    advantages: (B,), one per sequence. norm: "token" (DAPO) or "sequence" (GRPO: mean per sequence, then mean)."""
    if norm not in ("token", "sequence"):
        raise ValueError(f"norm must be 'token' or 'sequence', got {norm!r}")
    if beta > 0 and logp_ref is None:
        raise ValueError("beta > 0 needs the reference log-probabilities")
    mask = mask.to(logp.dtype)
    ratio = torch.exp(logp - logp_old)  # (B, T)
    adv = advantages[:, None]  # (B, 1)
    surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - clip_low, 1 + clip_high) * adv)
    per_token = -surrogate
    kl = torch.zeros_like(logp)
    if beta > 0:
        diff = logp_ref - logp
        kl = torch.exp(diff) - diff - 1  # k3: unbiased, always >= 0
        per_token = per_token + beta * kl
    if norm == "token":
        loss = (per_token * mask).sum() / mask.sum().clamp(min=1)
    else:
        loss = ((per_token * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()
    with torch.no_grad():
        n = mask.sum().clamp(min=1)
        clipped = ((ratio < 1 - clip_low) | (ratio > 1 + clip_high)).to(logp.dtype)
        stats = LossStats(float(loss), float((kl * mask).sum() / n), float((clipped * mask).sum() / n))
    return loss, stats


def sequence_logprobs(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, bf16: bool = False,
                      temperature: float = 1.0) -> torch.Tensor:
    """Log-probability of each token given the ones before: ids (B, T) -> (B, T-1), for tokens 1..T-1.

    `temperature` is the one the tokens were sampled at: the policy being trained is softmax(logits / T), so the
    gradient is on-policy (as TRL's GRPOTrainer scales its logits)."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1]  # (B, T-1, V)
    logits = logits.float() / temperature
    return torch.log_softmax(logits, dim=-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
