"""Cold-start SFT: train a tiny LlamaForCausalLM from scratch on solver traces (`ponder train sft`).

Follows the cold-start stage of DeepSeek-R1 at this machine's size: a deliberately limited set of traces in the
`<think>…</think>answer` format, some examples in direct-answer form (`<think></think>answer`) so that answering
without thinking exists, loss on assistant tokens only, slips masked. Departures: the model starts from random
weights (no pretrained base), and the data is generated on the fly from seeded problem streams (train split only).
A step is a random run of examples of at most `batch_tokens` tokens, packed into rows of the narrowest width that
holds each example (see ponder.train.data) and trained as one micro-batch per width, the loss averaged over all the
step's learned tokens; so the step's gradient is the one a single padded batch of the same examples would give.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import LlamaForCausalLM

from ponder.effort_prompt import PROMPT_EFFORTS
from ponder.model.checkpoint import PonderMeta, load_checkpoint, resolve_model, save_checkpoint
from ponder.model.config import DEFAULT_POSITIONS, model_config
from ponder.model.init import init_number_embeddings
from ponder.model.tokenizer import build_tokenizer, tokenizer_kind
from ponder.progress import progress_bar
from ponder.recheck import recheck_counts
from ponder.tasks import Task, get_task
from ponder.tasks.countdown import CountdownTask
from ponder.train.data import (
    IGNORE,
    Example,
    avoid_index,
    collate_packed,
    make_example,
    pack,
    pack_by_width,
    step_groups,
)
from ponder.train.evaluate import held_out_accuracy
from ponder.train.metrics_log import open_metrics
from ponder.train.own_repeats import own_repeat_examples
from ponder.train.own_searches import Search, search_example, verified_searches
from ponder.train.precision import precision_line, resolve_bf16
from ponder.train.sft_config import SFTConfig

__all__ = ["SFTConfig", "run_sft", "trace_tasks"]  # SFTConfig lives in sft_config.py, free of torch, for the CLI

STATE_FILE = "training_state.pt"


def trace_tasks(cfg: SFTConfig) -> dict[str, Task]:
    """The task families as this config writes their traces (countdown's trace options are the config's)."""
    out = {name: get_task(name) for name in cfg.tasks}
    if "countdown" in out:
        out["countdown"] = CountdownTask(guide=cfg.countdown_guide, plans=cfg.countdown_plans,
                                         systematic=cfg.countdown_systematic, prune=cfg.countdown_prune,
                                         flat=cfg.countdown_flat, flat_four=cfg.countdown_flat_four)
    return out


def _pool_steps(cfg: SFTConfig, tokenizer, k: int,
                searches: list[Search] | None = None) -> list[list[list[list[Example]]]]:
    """The steps of pool k, each a list of micro-batches (rows of one width): a deterministic function of (seed, k)
    and the verified `searches` (cfg.own_searches), which make up about cfg.own_share of their task's examples."""
    rng = random.Random(f"sft:{cfg.seed}:{k}")
    tasks = trace_tasks(cfg)
    own: dict[str, list[Search]] = {}
    for search in searches or ():
        own.setdefault(search.problem.task, []).append(search)
    examples: list[Example] = []
    while len(examples) < cfg.pool:
        # rng.choice when unweighted, so that the data of every earlier recipe stays as it was
        name = rng.choice(cfg.tasks) if cfg.task_weights is None else rng.choices(cfg.tasks, cfg.task_weights)[0]
        if own.get(name) and rng.random() < cfg.own_share:
            ex = search_example(tokenizer, tasks[name], rng.choice(own[name]), rng, cfg.catch_rate)
            if ex is not None and len(ex.input_ids) <= cfg.max_len:
                examples.append(ex)
            continue
        task = tasks[name]
        level = rng.choices(range(1, 6), weights=cfg.level_weights)[0]
        problem = task.sample_split(rng, level, "train")
        direct = rng.random() < cfg.direct_frac
        # None: no effort line, the prompt every earlier model saw. Drawn only when asked for, so that the data of
        # every earlier recipe stays as it was.
        effort = None
        if cfg.effort_prompts and not direct:
            efforts = (None, *PROMPT_EFFORTS)
            effort = rng.choice(efforts) if cfg.effort_weights is None else rng.choices(efforts, cfg.effort_weights)[0]
        cut = rng.random() < cfg.cut_frac
        # drawn only when asked for, so that the data of every earlier recipe stays as it was
        rechecks = 0
        if cfg.recheck_weights is not None and not direct and not cut:
            rechecks = rng.choices(range(len(cfg.recheck_weights)), cfg.recheck_weights)[0]
        ex = make_example(tokenizer, task, problem, rng, direct, cfg.slip_rate, cut=cut,
                          catch_rate=cfg.catch_rate, effort=effort, rechecks=rechecks)
        if len(ex.input_ids) <= cfg.max_len:
            examples.append(ex)
    return [pack_by_width(group, cfg.row_widths) for group in step_groups(examples, cfg.batch_tokens)]


def _train_step(model, micro_batches: list[dict[str, torch.Tensor]], bf16: bool,
                avoid: list[torch.Tensor] | None = None,
                unlikelihood: float = 0.0) -> tuple[float, list[tuple[float, int]]]:
    """Forward and backward over a step's micro-batches. Returns the step's mean next-token loss per learned token
    and, per micro-batch, the summed probability the model gave its avoided tokens and how many there were.

    `avoid` holds each micro-batch's (row, position, token) triples (`avoid_index`); with `unlikelihood` > 0 each
    adds -log(1 - p(token)) at its position to the loss, per learned token like the next-token loss."""
    # Labels are shifted inside the model: position t is scored on token t + 1.
    n_learned = sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in micro_batches)
    total, avoided = 0.0, []
    for k, batch in enumerate(micro_batches):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(**batch, num_items_in_batch=n_learned)  # loss: the sum over this batch / n_learned
        loss = out.loss
        total += loss.item()
        idx = avoid[k] if avoid is not None else None
        if idx is not None and len(idx):
            logits = out.logits[idx[:, 0], idx[:, 1] - 1].float()  # the position before predicts the token
            p = logits.log_softmax(-1).gather(1, idx[:, 2:3]).squeeze(1).exp()
            avoided.append((float(p.detach().sum()), len(idx)))
            if unlikelihood > 0:
                loss = loss + unlikelihood * -torch.log1p(-p.clamp(max=1 - 1e-6)).sum() / n_learned
        else:
            avoided.append((0.0, 0))
        loss.backward()
    return total, avoided


def _mean_p(avoided: list[tuple[float, int]]) -> float | None:
    n = sum(count for _, count in avoided)
    return round(sum(p for p, _ in avoided) / n, 4) if n else None


def _lr(cfg: SFTConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def _meta(cfg: SFTConfig, evals: dict, bf16: bool) -> PonderMeta:
    recipe = {"stage": "sft", "command": cfg.command(), "config": asdict(cfg),
              "precision": "bf16 autocast" if bf16 else "float32"}
    return PonderMeta(efforts=written_efforts(cfg), recipe=recipe, parent=cfg.init, eval=evals,
                      effort_prompt=cfg.effort_prompts, rechecks=recheck_counts(cfg.recheck_weights))


def written_efforts(cfg: SFTConfig) -> dict[str, int]:
    """The effort budgets the trained model's ponder.json gets (see SFTConfig.efforts)."""
    if cfg.efforts is not None:
        return dict(cfg.efforts)
    return dict(PonderMeta.load(resolve_model(cfg.init)).efforts if cfg.init else PonderMeta().efforts)


def _config_changes(saved: dict, cfg: SFTConfig) -> list[str]:
    """Fields where `cfg` differs from the config a run was started with; a field the run predates counts as its
    default, so runs started before a new option was added still resume."""
    defaults = asdict(SFTConfig())
    return [k for k, v in asdict(cfg).items() if saved.get(k, defaults[k]) != v]


def _fit_positions(model, max_len: int, log) -> None:
    """Let an --init model take rows of `max_len` tokens. Rotary positions have no weights to grow, so widening the
    context is the config's number plus training at the new length: the positions past the old end are learned by
    the rows that reach them (the longest countdown searches, which a 2,048-token context leaves out)."""
    if max_len > model.config.max_position_embeddings:
        log(f"context widened from {model.config.max_position_embeddings} to {max_len} tokens")
        model.config.max_position_embeddings = max_len


def run_sft(cfg: SFTConfig, resume: bool = False, log=print) -> Path:
    """Train; returns the final checkpoint folder. With `resume`, continue from `out/last` if it exists."""
    out = Path(cfg.out)
    last = out / "last"
    if resume and not last.exists() and (out / ".last.old").exists():
        last = out / ".last.old"  # interrupted between the two renames of an atomic save
    tokenizer = build_tokenizer(cfg.space_prefixed)
    torch.manual_seed(cfg.seed)
    state = None
    if resume and (last / STATE_FILE).exists():
        model = LlamaForCausalLM.from_pretrained(last, dtype=torch.float32)
        state = torch.load(last / STATE_FILE, weights_only=False)
        changed = _config_changes(state["config"], cfg)
        if changed:
            raise ValueError(f"{last} was written with another config ({', '.join(changed)} differ); resume with "
                             "the same flags or a new --out")
    elif cfg.init is not None:
        model, init_tokenizer, _, folder = load_checkpoint(cfg.init)
        if init_tokenizer.get_vocab() != tokenizer.get_vocab():
            kind = tokenizer_kind(init_tokenizer)
            if kind is None:
                hint = "--init needs a ponder checkpoint"
            else:
                hint = f"it has {'space-prefixed' if kind else 'plain'} tokens: {'add' if kind else 'drop'} " \
                       "--space-prefixed"
            raise ValueError(f"{folder} has another tokenizer than this run's; {hint}")
        model.train()
        _fit_positions(model, cfg.max_len, log)
    else:
        config = model_config(cfg.size, len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id,
                              tokenizer.pad_token_id, max_positions=max(DEFAULT_POSITIONS, cfg.max_len))
        model = LlamaForCausalLM(config)
        init_number_embeddings(model, tokenizer, seed=cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    step, pool_k, batch_i, evals = 0, 0, 0, {}
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        step, pool_k, batch_i, evals = state["step"], state["pool_k"], state["batch_i"], state["evals"]
        log(f"resuming {cfg.out} at step {step}")
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model {cfg.size}: {n_params / 1e6:.2f}M parameters; {cfg.steps} steps of {cfg.batch_tokens} tokens")
    out.mkdir(parents=True, exist_ok=True)
    bf16 = resolve_bf16(cfg.bf16)
    log(precision_line(cfg.bf16))
    metrics = open_metrics(out / "metrics.jsonl", step)
    searches = None
    if cfg.own_searches:
        searches = verified_searches(cfg.own_searches)
        log(f"{len(searches)} verified searches from {', '.join(cfg.own_searches)}, about {cfg.own_share:.0%} of "
            "their task's examples")
    steps = _pool_steps(cfg, tokenizer, pool_k, searches)
    countdown = trace_tasks(cfg).get("countdown")
    # this round's repeat examples (cfg.repeat_every), collated once for all its steps, and the round they are from
    own_batch: tuple[dict[str, torch.Tensor], torch.Tensor] | None = None
    own_round: int | None = None
    model.train()
    real_tokens, t0 = 0, time.perf_counter()
    with progress_bar() as bar:
        task_id = bar.add_task("sft", total=cfg.steps, completed=step, info="")
        while step < cfg.steps:
            if batch_i >= len(steps):
                pool_k, batch_i = pool_k + 1, 0
                steps = _pool_steps(cfg, tokenizer, pool_k, searches)
            micro_batches = [collate_packed(rows, tokenizer.pad_token_id) for rows in steps[batch_i]]
            avoid = [avoid_index(rows) for rows in steps[batch_i]]
            fresh = bool(cfg.repeat_every) and own_round != step - step % cfg.repeat_every
            if fresh:
                # seeded by the round's first step, so a run resumed mid-round finds the same problems
                own_round = step - step % cfg.repeat_every
                own = own_repeat_examples(model, tokenizer, countdown,
                                          random.Random(f"repeats:{cfg.seed}:{own_round}"), cfg.repeat_problems,
                                          cfg.level_weights, cfg.max_len)
                rows = pack(own, cfg.max_len) if own else None
                own_batch = (collate_packed(rows, tokenizer.pad_token_id), avoid_index(rows)) if rows else None
            if own_batch is not None:  # every step of the round trains them, as one more micro-batch
                micro_batches.append(own_batch[0])
                avoid.append(own_batch[1])
            batch_i += 1
            for group in opt.param_groups:
                group["lr"] = _lr(cfg, step)
            opt.zero_grad(set_to_none=True)
            loss, avoided = _train_step(model, micro_batches, bf16, avoid, cfg.unlikelihood)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            real_tokens += sum(int((b["input_ids"] != tokenizer.pad_token_id).sum()) for b in micro_batches)
            tok_s = real_tokens / (time.perf_counter() - t0)
            bar.update(task_id, completed=step, info=f"loss {loss:.3f}  {tok_s:,.0f} tok/s")
            row = {"step": step, "loss": round(loss, 4), "lr": _lr(cfg, step - 1), "tok_s": round(tok_s)}
            # mean probability of a token that would repeat a countdown move: in the solver's traces, and where the
            # model's own searches first repeated one (the last micro-batch, in a round)
            with_own = own_batch is not None
            traces_p = _mean_p(avoided[:-1] if with_own else avoided)
            own_p = _mean_p(avoided[-1:]) if with_own else None
            if traces_p is not None:
                row["avoid_p"] = traces_p
            if own_p is not None:
                row["own_avoid_p"] = own_p
            if fresh:
                row["own_repeats"] = round(len(own) / cfg.repeat_problems, 3)  # share of its searches that repeat
            if cfg.eval_every and (step % cfg.eval_every == 0 or step == cfg.steps):
                model.eval()
                acc = held_out_accuracy(model, tokenizer, cfg.tasks, n=cfg.eval_n, seed=cfg.seed)
                model.train()
                evals = {"step": step, "accuracy": acc}
                row["held_out"] = acc
                log(f"step {step}: held-out accuracy " + json.dumps(acc))
            metrics.write(json.dumps(row) + "\n")
            metrics.flush()
            if step % cfg.save_every == 0 or step == cfg.steps:
                extra = {STATE_FILE: {"optimizer": opt.state_dict(), "step": step, "pool_k": pool_k,
                                      "batch_i": batch_i, "torch_rng": torch.get_rng_state(), "evals": evals,
                                      "config": asdict(cfg)}}
                save_checkpoint(model, tokenizer, _meta(cfg, evals, bf16), out / "last", extra=extra)
    metrics.close()
    return save_checkpoint(model, tokenizer, _meta(cfg, evals, bf16), out / "final")
