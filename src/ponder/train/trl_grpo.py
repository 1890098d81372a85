"""`ponder train grpo --engine trl`: the same GRPO run through TRL's `GRPOTrainer`, the scale-out path.

ponder's own loop (ponder.train.grpo) is what trains the shipped model on 2 CPU cores: it samples with ponder's
engine, so budget forcing and the forced-token mask are part of RL. TRL is how a user with GPUs scales the same
recipe out: accelerate/DeepSpeed for the update, vLLM for generation (`--vllm`, with the `[vllm]` extra), the same
reward functions (they already have TRL's signature), the same problems and the same checkpoint format at the end.
Options map one to one: G -> num_generations, clip_low/high -> epsilon/epsilon_high, scale_std -> scale_rewards,
norm "token"/"sequence" -> loss_type "dapo"/"grpo", updates -> num_iterations. TRL has no thinking budget: the
completion is capped at max_thinking + answer_budget tokens instead.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

from ponder.model.checkpoint import PonderMeta, load_checkpoint, save_checkpoint
from ponder.train.grpo import GRPOConfig, load_problem_pool, step_problems
from ponder.train.precision import resolve_bf16
from ponder.train.rewards import format_reward, outcome_reward, process_reward


def _require_trl():
    try:
        import trl
    except ImportError:
        raise ModuleNotFoundError("--engine trl needs TRL: pip install 'ponder[trl]'") from None
    return trl


def problem_rows(cfg: GRPOConfig) -> list[dict]:
    """One dataset row per problem, in training order: `prompt` in TRL's conversational form, `problem` (the
    Problem's JSON line the reward functions verify against) and `task`: the problems of ponder's own loop,
    step by step (`step_problems`: the curriculum, or the problems file)."""
    pool = load_problem_pool(cfg.problems_file) if cfg.problems_file else None
    return [{"prompt": [{"role": "user", "content": p.prompt}], "problem": p.to_json(), "task": p.task}
            for step in range(cfg.steps) for p in step_problems(cfg, step, pool)]


def trl_config(cfg: GRPOConfig, use_vllm: bool = False):
    """TRL's GRPOConfig for ponder's settings (one process; accelerate launch spreads it over devices)."""
    trl = _require_trl()
    import torch

    # transformers 5 renamed `gradient_checkpointing` (on by default in TRL, slower on CPU for no memory need here)
    # to `activation_checkpointing` and warns on the old name: set whichever name this version has
    known = {f.name for f in fields(trl.GRPOConfig)}
    no_checkpointing = {"activation_checkpointing" if "activation_checkpointing" in known
                        else "gradient_checkpointing": False}
    return trl.GRPOConfig(
        output_dir=cfg.out, max_steps=cfg.steps, learning_rate=cfg.lr, lr_scheduler_type="constant",
        per_device_train_batch_size=cfg.prompts * cfg.group, num_generations=cfg.group,
        max_completion_length=cfg.max_thinking + cfg.answer_budget, temperature=cfg.temperature,
        beta=cfg.beta, epsilon=cfg.clip_low, epsilon_high=cfg.clip_high, num_iterations=cfg.updates,
        scale_rewards="group" if cfg.scale_std else "none", loss_type="dapo" if cfg.norm == "token" else "grpo",
        reward_weights=[1.0, cfg.format_weight, cfg.process_weight],
        shuffle_dataset=False,  # keep the curriculum's order
        chat_template_kwargs={"enable_thinking": True},
        use_cpu=not torch.cuda.is_available(), bf16=resolve_bf16(cfg.bf16), **no_checkpointing,
        use_vllm=use_vllm, save_steps=cfg.save_every, logging_steps=1, report_to="none", seed=cfg.seed,
        adam_beta2=0.99, weight_decay=0.0, max_grad_norm=1.0, disable_tqdm=False,
    )


def run_trl_grpo(cfg: GRPOConfig, resume: bool = False, use_vllm: bool = False, log=print) -> Path:
    """Train with TRL's GRPOTrainer; returns the final checkpoint folder (ponder's format, loadable by every
    ponder command). `resume` continues from the newest checkpoint-N folder TRL wrote in cfg.out."""
    if cfg.negative_weight != 1.0:
        raise ValueError("--negative-weight is ponder's own loop only: TRL's GRPOTrainer has no such option")
    if cfg.anchor_weight > 0:
        raise ValueError("--anchor is ponder's own loop only: TRL's GRPOTrainer has no supervised term")
    trl = _require_trl()
    from datasets import Dataset

    model, tokenizer, meta, _ = load_checkpoint(cfg.init)
    out = Path(cfg.out)
    has_checkpoint = any(out.glob("checkpoint-*"))
    if resume and not has_checkpoint:
        log(f"no TRL checkpoint in {out}: starting from {cfg.init}")
    trainer = trl.GRPOTrainer(
        model=model, processing_class=tokenizer, args=trl_config(cfg, use_vllm),
        reward_funcs=[outcome_reward, format_reward, process_reward],
        train_dataset=Dataset.from_list(problem_rows(cfg)),
    )
    trainer.train(resume_from_checkpoint=resume and has_checkpoint)
    history = [row for row in trainer.state.log_history if "loss" in row or "reward" in row]
    new_meta = PonderMeta(efforts=dict(meta.efforts), answer_budget=meta.answer_budget,
                          recipe={"stage": "grpo", "engine": "trl", "trl": trl.__version__, "config": asdict(cfg),
                                  "log": history[-1] if history else {}},
                          parent=cfg.init, eval={}, effort_prompt=meta.effort_prompt)
    return save_checkpoint(trainer.model, tokenizer, new_meta, out / "final")
