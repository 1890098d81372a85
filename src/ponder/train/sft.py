"""Cold-start SFT: train a tiny LlamaForCausalLM from scratch on solver traces (`ponder train sft`).

Follows the cold-start stage of DeepSeek-R1 at this machine's size: a deliberately limited set of traces in the
`<think>…</think>answer` format, some examples in direct-answer form (`<think></think>answer`) so that answering
without thinking exists, loss on assistant tokens only, slips masked. Departures: the model starts from random
weights (no pretrained base), and the data is generated on the fly from seeded problem streams (train split only).
Examples are packed into rows of `max_len` tokens (see ponder.train.data); a batch is `batch_tokens // max_len` rows.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import LlamaForCausalLM

from ponder.model.checkpoint import PonderMeta, save_checkpoint
from ponder.model.config import MODEL_SIZES, model_config
from ponder.model.init import init_number_embeddings
from ponder.model.tokenizer import build_tokenizer
from ponder.progress import progress_bar
from ponder.tasks import TASKS, get_task
from ponder.train.data import Example, collate_packed, make_example, pack
from ponder.train.evaluate import held_out_accuracy
from ponder.train.metrics_log import open_metrics

STATE_FILE = "training_state.pt"


@dataclass
class SFTConfig:
    out: str = "runs/sft"  # run folder: last/ (resumable), final/ (the trained checkpoint), metrics.jsonl
    size: str = "tiny"  # model size, a key of ponder.model.config.MODEL_SIZES
    steps: int = 1800  # optimizer steps
    batch_tokens: int = 12288  # tokens per batch (rows of max_len packed examples)
    lr: float = 2e-3
    warmup: int = 100
    weight_decay: float = 0.01
    max_len: int = 640  # row length; longer examples are dropped (a handful of very long searches)
    tasks: tuple[str, ...] = ("arithmetic", "countdown")
    level_weights: tuple[float, ...] = (1.0, 1.0, 1.5, 2.0, 2.5)  # sampling weight of levels 1..5
    direct_frac: float = 0.15  # share of examples in direct-answer form
    slip_rate: float = 0.04  # rate of deliberate (masked) slips per trace step
    cut_frac: float = 0.05  # share of traces cut short as a thinking budget cuts them, then a direct answer
    pool: int = 1024  # examples packed together at a time
    seed: int = 0
    eval_every: int = 250  # steps between held-out accuracy checks (0: never)
    eval_n: int = 6  # held-out problems per task and level at each check
    save_every: int = 200  # steps between resumable checkpoints
    bf16: bool = True  # bf16 autocast on CPU
    efforts: dict[str, int] = field(default_factory=lambda: PonderMeta().efforts)

    def __post_init__(self) -> None:
        if self.size not in MODEL_SIZES:
            raise ValueError(f"unknown size {self.size!r}; known: {', '.join(MODEL_SIZES)}")
        for name in self.tasks:
            get_task(name)
        if self.steps < 1 or self.batch_tokens < self.max_len or self.max_len < 32:
            raise ValueError("need steps >= 1, max_len >= 32 and batch_tokens >= max_len")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if len(self.level_weights) != 5 or min(self.level_weights) < 0 or sum(self.level_weights) <= 0:
            raise ValueError("level_weights needs five non-negative weights, not all zero")
        if not 0 <= self.direct_frac <= 1 or not 0 <= self.slip_rate < 1 or not 0 <= self.cut_frac <= 1:
            raise ValueError("direct_frac and cut_frac must be in [0, 1] and slip_rate in [0, 1)")


def _pool_batches(cfg: SFTConfig, tokenizer, k: int) -> list[list[list[Example]]]:
    """The batches of pool k: a deterministic function of (seed, k)."""
    rng = random.Random(f"sft:{cfg.seed}:{k}")
    examples: list[Example] = []
    while len(examples) < cfg.pool:
        task = TASKS[rng.choice(cfg.tasks)]
        level = rng.choices(range(1, 6), weights=cfg.level_weights)[0]
        problem = task.sample_split(rng, level, "train")
        direct = rng.random() < cfg.direct_frac
        ex = make_example(tokenizer, task, problem, rng, direct, cfg.slip_rate, cut=rng.random() < cfg.cut_frac)
        if len(ex.input_ids) <= cfg.max_len:
            examples.append(ex)
    rows = pack(examples, cfg.max_len)
    rng.shuffle(rows)
    per_batch = max(1, cfg.batch_tokens // cfg.max_len)
    return [rows[i:i + per_batch] for i in range(0, len(rows), per_batch)]


def _lr(cfg: SFTConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def _meta(cfg: SFTConfig, evals: dict) -> PonderMeta:
    recipe = {"stage": "sft", "command": f"ponder train sft --out {cfg.out} --steps {cfg.steps} --seed {cfg.seed}",
              "config": asdict(cfg)}
    return PonderMeta(efforts=dict(cfg.efforts), recipe=recipe, parent=None, eval=evals)


def run_sft(cfg: SFTConfig, resume: bool = False, log=print) -> Path:
    """Train; returns the final checkpoint folder. With `resume`, continue from `out/last` if it exists."""
    out = Path(cfg.out)
    last = out / "last"
    if resume and not last.exists() and (out / ".last.old").exists():
        last = out / ".last.old"  # interrupted between the two renames of an atomic save
    tokenizer = build_tokenizer()
    torch.manual_seed(cfg.seed)
    state = None
    if resume and (last / STATE_FILE).exists():
        model = LlamaForCausalLM.from_pretrained(last, dtype=torch.float32)
        state = torch.load(last / STATE_FILE, weights_only=False)
        if state["config"] != asdict(cfg):
            raise ValueError(f"{last} was written with another config; resume with the same flags or a new --out")
    else:
        config = model_config(cfg.size, len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id,
                              tokenizer.pad_token_id)
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
    metrics = open_metrics(out / "metrics.jsonl", step)
    batches = _pool_batches(cfg, tokenizer, pool_k)
    model.train()
    real_tokens, t0 = 0, time.perf_counter()
    with progress_bar() as bar:
        task_id = bar.add_task("sft", total=cfg.steps, completed=step, info="")
        while step < cfg.steps:
            if batch_i >= len(batches):
                pool_k, batch_i = pool_k + 1, 0
                batches = _pool_batches(cfg, tokenizer, pool_k)
            batch = collate_packed(batches[batch_i], tokenizer.pad_token_id)
            batch_i += 1
            for group in opt.param_groups:
                group["lr"] = _lr(cfg, step)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                loss = model(**batch).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            real_tokens += int((batch["input_ids"] != tokenizer.pad_token_id).sum())
            tok_s = real_tokens / (time.perf_counter() - t0)
            bar.update(task_id, completed=step, info=f"loss {loss.item():.3f}  {tok_s:,.0f} tok/s")
            row = {"step": step, "loss": round(loss.item(), 4), "lr": _lr(cfg, step - 1), "tok_s": round(tok_s)}
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
                save_checkpoint(model, tokenizer, _meta(cfg, evals), out / "last", extra=extra)
    metrics.close()
    return save_checkpoint(model, tokenizer, _meta(cfg, evals), out / "final")
