"""`ponder train grpo`: GRPO with verifiable rewards on top of a cold-start SFT checkpoint (DeepSeek-R1's recipe).

One step: sample a batch of train-split problems (levels from a curriculum, or drawn from a file of problems, e.g.
the ones a model failed), draw G completions each with ponder's engine, score them with the reward functions of
ponder.train.rewards, turn rewards into group-normalised advantages, drop groups whose rewards are all equal
(dynamic sampling), and take `updates` clipped policy-gradient steps on the sampled tokens; tokens the engine forced
carry no gradient. Everything random is derived from (seed, step), so a run killed at any point resumes from its
last checkpoint and continues exactly as it would have.
Departures from the paper: a tiny model, a few prompts per step, no separate value of the format reward for
language consistency (there is one language here).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from ponder.engine import GenerationParams, generate
from ponder.model.checkpoint import PonderMeta, load_checkpoint, save_checkpoint
from ponder.progress import progress_bar
from ponder.tasks import Problem, get_task
from ponder.train.anchor import anchor_backward, anchor_examples, anchor_searches, step_anchors
from ponder.train.curves import plot_grpo
from ponder.train.data import draw, prompt_ids
from ponder.train.evaluate import held_out_accuracy
from ponder.train.grpo_config import GRPOConfig, load_problem_pool
from ponder.train.grpo_loss import (
    LossStats,
    group_advantages,
    informative_groups,
    policy_loss,
    sequence_logprobs,
    weight_negatives,
)
from ponder.train.metrics_log import open_metrics
from ponder.train.precision import precision_line, resolve_bf16
from ponder.train.rewards import format_reward, outcome_parts, overlong_penalty, process_reward

STATE_FILE = "grpo_state.pt"


def step_problems(cfg: GRPOConfig, step: int, pool: tuple[Problem, ...] | None = None) -> list[Problem]:
    """The problems of one step, derived from (seed, step) alone: from the curriculum's levels of the train split,
    or drawn without replacement from `problems_file` (with replacement if it holds fewer than a step needs;
    `pool`: the file's problems, loaded once by the caller)."""
    rng = random.Random(f"grpo:{cfg.seed}:{step}")
    if cfg.problems_file:
        pool = pool if pool is not None else load_problem_pool(cfg.problems_file)
        return draw(rng, pool, cfg.prompts)
    levels = cfg.levels_at(step)
    return [get_task(rng.choice(cfg.tasks)).sample_split(rng, rng.choice(levels), "train")
            for _ in range(cfg.prompts)]


def completion_text(tokenizer, ids: list[int]) -> str:
    """The completion as the reward functions see it: `<think>…</think>answer`, without end-of-turn or padding
    (an `<|end|>` left in would make every answer fail the verifier)."""
    drop = {tokenizer.eos_token_id, tokenizer.pad_token_id}
    return tokenizer.decode([t for t in ids if t not in drop], skip_special_tokens=False)


def _resumable(config: dict) -> dict:
    """The settings a resumed run must share with the run it continues (the micro-batch size only trades memory
    for passes: the gradient is the same up to rounding)."""
    return {k: v for k, v in config.items() if k != "micro_batch_tokens"}


def _rewards(cfg: GRPOConfig, problems: list[Problem], completions, tokenizer) -> tuple[torch.Tensor, dict]:
    texts = [completion_text(tokenizer, c.token_ids) for c in completions]
    columns = {"problem": [p for p in problems for _ in range(cfg.group)]}
    outcome = outcome_parts([], texts, **columns)
    fmt = format_reward([], texts, **columns)
    process = process_reward([], texts, **columns)
    overlong = overlong_penalty([c.thinking_tokens for c in completions], cfg.max_thinking,
                                min(cfg.overlong_buffer, cfg.max_thinking))
    total = [o["reward"] + cfg.format_weight * f + cfg.process_weight * p + cfg.overlong_weight * ov
             for o, f, p, ov in zip(outcome, fmt, process, overlong, strict=True)]
    parts = {"accuracy": sum(o["correct"] for o in outcome) / len(outcome), "format": sum(fmt) / len(fmt),
             "process": sum(process) / len(process), "overlong": sum(overlong) / len(overlong)}
    return torch.tensor(total).view(len(problems), cfg.group), parts


def _chunks(lengths: list[int], max_tokens: int) -> list[list[int]]:
    """Row indices grouped by length into micro-batches of at most max_tokens padded tokens each (one row at
    least), so that short completions are not padded to the longest one of the whole step."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    chunks: list[list[int]] = []
    for i in order:
        if chunks and lengths[i] * (len(chunks[-1]) + 1) <= max_tokens:
            chunks[-1].append(i)
        else:
            chunks.append([i])
    return chunks


def _batch(prompts: list[list[int]], completions, pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded prompt+completion ids (B, T), attention mask, and the loss mask of completion tokens the
    model chose itself (B, T-1), aligned with the log-probabilities of tokens 1..T-1."""
    seqs = [p + c.token_ids for p, c in zip(prompts, completions, strict=True)]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    loss_mask = torch.zeros((len(seqs), width - 1))
    for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
        s = seqs[i]
        ids[i, :len(s)] = torch.tensor(s)
        attn[i, :len(s)] = 1
        loss_mask[i, len(p) - 1:len(s) - 1] = torch.tensor(c.mask, dtype=torch.float)
    return {"input_ids": ids, "attention_mask": attn, "loss_mask": loss_mask}


def run_grpo(cfg: GRPOConfig, resume: bool = False, log=print) -> Path:
    out = Path(cfg.out)
    last = out / "last"
    state = None
    if resume and (last / STATE_FILE).exists():
        model, tokenizer, meta, _ = load_checkpoint(last)
        state = torch.load(last / STATE_FILE, weights_only=False)
        if _resumable(state["config"]) != _resumable(asdict(cfg)):
            raise ValueError(f"{last} was written with another config; resume with the same flags or a new --out")
    else:
        model, tokenizer, meta, _ = load_checkpoint(cfg.init)
    reference = None
    if cfg.beta > 0:
        reference, _, _, _ = load_checkpoint(cfg.init)
        reference.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
    step, history = 0, []
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
        log(f"resuming {cfg.out} at step {step}")
    log(precision_line(cfg.bf16))
    out.mkdir(parents=True, exist_ok=True)
    metrics = open_metrics(out / "metrics.jsonl", step)
    pool = load_problem_pool(cfg.problems_file) if cfg.problems_file else None
    anchors = (anchor_examples(tokenizer, anchor_searches(cfg.anchor_file))
               if cfg.anchor_file and cfg.anchor_weight > 0 else [])
    gen_params = GenerationParams(max_thinking=cfg.max_thinking, answer_budget=cfg.answer_budget,
                                  temperature=cfg.temperature,
                                  max_new_tokens=cfg.max_thinking + cfg.answer_budget + 8)
    with progress_bar() as bar:
        task_id = bar.add_task("grpo", total=cfg.steps, completed=step, info="")
        while step < cfg.steps:
            t0 = time.perf_counter()
            problems = step_problems(cfg, step, pool)
            prompts = [prompt_ids(tokenizer, p.prompt) for p in problems for _ in range(cfg.group)]
            # one seed per completion, derived from (seed, step): a resumed run samples what it would have
            params = [replace(gen_params, seed=cfg.seed * 1_000_003 + step * 4099 + i) for i in range(len(prompts))]
            model.eval()
            completions = generate(model, tokenizer, prompts, params)
            rewards, parts = _rewards(cfg, problems, completions, tokenizer)
            adv = weight_negatives(group_advantages(rewards, scale_std=cfg.scale_std), cfg.negative_weight)
            keep = (informative_groups(rewards) if cfg.dynamic_sampling
                    else torch.ones(len(problems), dtype=torch.bool))
            rows = [i for i in range(len(prompts)) if keep[i // cfg.group]]
            stats = None
            if rows:
                model.train()
                stats = _update(cfg, model, reference, opt, [prompts[i] for i in rows],
                                [completions[i] for i in rows], adv.view(-1)[rows], tokenizer.pad_token_id,
                                step_anchors(anchors, cfg.anchor_rows, cfg.seed, step) if anchors else [])
            step += 1
            seconds = time.perf_counter() - t0
            tokens = sum(len(c.token_ids) for c in completions)
            thinking = sum(c.thinking_tokens for c in completions) / len(completions)
            row = {"step": step, "reward": round(float(rewards.mean()), 4),
                   **{k: round(v, 4) for k, v in parts.items()},
                   "thinking_tokens": round(thinking, 1),
                   "groups_used": len(rows) // cfg.group, "kl": round(stats.kl, 5) if stats else 0.0,
                   "clip_fraction": round(stats.clip_fraction, 4) if stats else 0.0,
                   **({"anchor_loss": round(stats.anchor, 4) if stats else None} if anchors else {}),
                   "tokens_per_s": round(tokens / seconds, 1), "levels": sorted({p.level for p in problems})}
            if cfg.eval_every and (step % cfg.eval_every == 0 or step == cfg.steps):
                model.eval()
                row["held_out"] = held_out_accuracy(model, tokenizer, cfg.tasks, n=cfg.eval_n, seed=cfg.seed,
                                                    max_thinking=cfg.max_thinking)
            history.append(row)
            metrics.write(json.dumps(row) + "\n")
            metrics.flush()
            bar.update(task_id, completed=step, info=f"reward {row['reward']:.2f} acc {row['accuracy']:.0%} "
                                                     f"think {row['thinking_tokens']:.0f} kl {row['kl']:.4f} "
                                                     f"{row['tokens_per_s']:.0f} tok/s")
            if step % cfg.save_every == 0 or step == cfg.steps:
                extra = {STATE_FILE: {"optimizer": opt.state_dict(), "step": step, "history": history,
                                      "config": asdict(cfg)}}
                save_checkpoint(model, tokenizer, _meta(cfg, meta, history), last, extra=extra)
    metrics.close()
    plot_grpo(history, out / "curves.png", f"GRPO from {cfg.init}")
    return save_checkpoint(model, tokenizer, _meta(cfg, meta, history), out / "final")


def _update(cfg: GRPOConfig, model, reference, opt, prompts: list[list[int]], completions,
            advantages: torch.Tensor, pad_id: int, anchors: list | None = None) -> LossStats:
    """`cfg.updates` optimiser steps on one batch of samples, accumulating gradients over length-sorted
    micro-batches. Each micro-batch's loss is weighted by its share of the batch's tokens (or rows, for sequence
    normalisation), so the sum is exactly the loss of the whole batch at once. With `anchors` (examples), each
    step adds `cfg.anchor_weight` times their next-token loss (ponder.train.anchor)."""
    lengths = [len(p) + len(c.token_ids) for p, c in zip(prompts, completions, strict=True)]
    chunks = [(idx, _batch([prompts[i] for i in idx], [completions[i] for i in idx], pad_id))
              for idx in _chunks(lengths, cfg.micro_batch_tokens)]
    total = sum(float(b["loss_mask"].sum()) for _, b in chunks) if cfg.norm == "token" else len(prompts)
    bf16 = resolve_bf16(cfg.bf16)

    def logprobs(m, batch):
        return sequence_logprobs(m, batch["input_ids"], batch["attention_mask"], bf16, cfg.temperature)

    with torch.no_grad():
        # with one update the sampling policy is the current one: its log-probabilities are logp.detach()
        old = [logprobs(model, b) for _, b in chunks] if cfg.updates > 1 else None
        ref = [logprobs(reference, b) for _, b in chunks] if reference is not None else None
    stats = LossStats(0.0, 0.0, 0.0)
    for _ in range(cfg.updates):
        opt.zero_grad(set_to_none=True)
        sums = [0.0, 0.0, 0.0]
        for k, (idx, batch) in enumerate(chunks):
            logp = logprobs(model, batch)
            loss, part = policy_loss(logp, logp.detach() if old is None else old[k], advantages[idx],
                                     batch["loss_mask"], cfg.clip_low, cfg.clip_high, cfg.beta,
                                     None if ref is None else ref[k], cfg.norm)
            weight = (float(batch["loss_mask"].sum()) if cfg.norm == "token" else len(idx)) / total
            (loss * weight).backward()
            sums = [sums[0] + part.loss * weight, sums[1] + part.kl * weight, sums[2] + part.clip_fraction * weight]
        anchor = anchor_backward(model, anchors, cfg.anchor_weight, pad_id, bf16) if anchors else 0.0
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        stats = LossStats(*sums, anchor=anchor)
    return stats


def _meta(cfg: GRPOConfig, parent_meta: PonderMeta, history: list) -> PonderMeta:
    evals = next((r["held_out"] for r in reversed(history) if "held_out" in r), {})
    return PonderMeta(efforts=dict(parent_meta.efforts), answer_budget=parent_meta.answer_budget,
                      recipe={"stage": "grpo", "config": asdict(cfg)}, parent=cfg.init, eval=evals,
                      effort_prompt=parent_meta.effort_prompt)
