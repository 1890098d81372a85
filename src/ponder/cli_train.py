"""`ponder train`: the flags of its stages (sft, searches, fixes, grpo) and what runs them. The settings are checked
by the torch-free config dataclasses before any training module (and so torch) is imported."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import TYPE_CHECKING

from ponder.cli_args import (
    bf16_flag,
    budgets,
    count,
    counts,
    curriculum,
    curriculum_text,
    levels,
    names,
    positive_int,
    some_names,
    temperature,
    unit_float,
    weights,
)

if TYPE_CHECKING:
    from ponder.train.grpo_config import GRPOConfig


def add_train_parsers(sub: argparse._SubParsersAction) -> None:
    """The `train` subcommand and its stages, added to the `ponder` parser's subcommands."""
    train = sub.add_parser("train", help="train a model")
    trsub = train.add_subparsers(dest="train_command", required=True, metavar="STAGE")
    sft = trsub.add_parser("sft", help="cold-start SFT from scratch on solver traces",
                           description="Train a tiny reasoning model from scratch on solver traces. The defaults "
                                       "are the cold-start stage of the shipped ponder-tiny-sft (2,000 steps: 68 "
                                       "minutes on 2 cores that compute bf16 natively, about two hours in float32 "
                                       "on a 2-core AVX2 CPU); with --init it fine-tunes a model, e.g. on "
                                       "fixed-order countdown traces (--countdown-systematic, the recipe's second "
                                       "stage) or on its own verified searches (--own-searches; "
                                       "scripts/sft_recipe.sh runs the whole recipe). "
                                       "Interrupted? Run the same command with --resume.")
    from ponder.train.sft_config import SFTConfig

    defaults = SFTConfig()
    sft.add_argument("--out", default=defaults.out, help=f"run folder (default {defaults.out})")
    sft.add_argument("--size", default=defaults.size, help=f"model size (default {defaults.size})")
    sft.add_argument("--init", default=None,
                     help="continue training this checkpoint (a shipped model name or a folder) instead of "
                          "starting from random weights; --size is then ignored")
    sft.add_argument("--steps", type=positive_int, default=defaults.steps,
                     help=f"optimizer steps (default {defaults.steps})")
    sft.add_argument("--batch-tokens", type=positive_int, default=defaults.batch_tokens,
                     help=f"padded tokens per batch (default {defaults.batch_tokens})")
    sft.add_argument("--lr", type=float, default=defaults.lr, help=f"peak learning rate (default {defaults.lr})")
    sft.add_argument("--warmup", type=positive_int, default=defaults.warmup,
                     help=f"steps of linear warm-up before the cosine decay (default {defaults.warmup})")
    sft.add_argument("--max-len", type=count, default=defaults.max_len,
                     help=f"widest row in tokens; longer examples are left out (default {defaults.max_len})")
    sft.add_argument("--short-rows", type=budgets, default=defaults.short_rows,
                     help="narrower row widths, comma-separated, each below --max-len "
                          f"(default {','.join(map(str, defaults.short_rows))})")
    sft.add_argument("--countdown-guide", type=float, default=defaults.countdown_guide,
                     help="share of countdown search states whose trace tries the moves that can still reach the "
                          f"target first, an oracle's intuition; 0 gives plain closeness order (default "
                          f"{defaults.countdown_guide})")
    sft.add_argument("--unlikelihood", type=float, default=defaults.unlikelihood,
                     help="weight of the unlikelihood loss on tokens that would repeat a countdown move already "
                          "tried from the same numbers (the loops of countdown_failures.md); 0 turns it off "
                          f"(default {defaults.unlikelihood})")
    sft.add_argument("--repeat-every", type=positive_int, default=defaults.repeat_every,
                     help="every N steps, decode countdown training problems with the current weights and add the "
                          "token where each search first repeats a move as an unlikelihood target (needs "
                          f"--unlikelihood; 0: never; default {defaults.repeat_every})")
    sft.add_argument("--own-searches", type=names, default=(),
                     help="JSONL files (comma-separated) of a model's own searches (`ponder train searches`): "
                          "fine-tune on the verified ones alongside the solver traces, rejection-sampling "
                          "fine-tuning (default none)")
    sft.add_argument("--own-share", type=float, default=defaults.own_share,
                     help="with --own-searches, the share of their task's examples drawn from them, the rest solver "
                          "traces; other tasks keep their share (default "
                          f"{defaults.own_share})")
    sft.add_argument("--catch-rate", type=unit_float, default=defaults.catch_rate,
                     help="share of the places in a countdown search where a move already tried from the same "
                          "numbers gets written (masked) and caught, `try 9+4 Wait, no`, so the model learns to "
                          f"notice its own loops; 0 turns it off (default {defaults.catch_rate})")
    sft.add_argument("--countdown-plans", action="store_true",
                     help="countdown traces list the moves to try at three numbers (`plan 7-1 3+1 …`) and each back "
                          "line there copies what is left of the list, so the next move is a copy (experimental)")
    sft.add_argument("--countdown-systematic", action="store_true",
                     help="countdown traces try the moves at three numbers or fewer in a fixed order (pairs as the "
                          "numbers are written, then + * - /) and every move at two numbers, so the next move "
                          "follows from the last one tried (experimental)")
    sft.add_argument("--countdown-prune", action="store_true",
                     help="as --countdown-systematic, and four numbers in the fixed order too, with a dead state "
                          "of three numbers given up at once: the line after `left x y z` is the model's live/dead "
                          "call, the next move or `back to` (experimental)")
    sft.add_argument("--countdown-flat", action="store_true",
                     help="as --countdown-systematic, and four numbers in the fixed order too, every state searched "
                          "to its end (no oracle), and a move that leaves two numbers finished on its own line: "
                          "`try 40+10=50 left 50 9 = 59 450 41 vs 60 no` (experimental)")
    sft.add_argument("--countdown-flat-four", action="store_true",
                     help="--countdown-flat traces for problems of four numbers, --countdown-systematic ones for "
                          "fewer (experimental)")
    sft.add_argument("--space-prefixed", action="store_true",
                     help="a new model whose tokenizer has each number and word with its leading space as one "
                          "token (` 40`, ` vs`): examples cost 25-37%% fewer tokens (experimental; with --init, "
                          "give it again for a checkpoint trained with it)")
    sft.add_argument("--task-weights", type=weights, default=None, metavar="W,W",
                     help="sampling weights of arithmetic and countdown examples (default equal), e.g. 4,1 for a "
                          "stage that teaches arithmetic something new while countdown keeps what it knows")
    sft.add_argument("--level-weights", type=weights, default=defaults.level_weights, metavar="W,W,W,W,W",
                     help="sampling weights of levels 1-5 for both tasks (default "
                          f"{','.join(f'{w:g}' for w in defaults.level_weights)}), e.g. 1,2,1.5,2,2.5 for a stage "
                          "that gives level 2 more practice")
    sft.add_argument("--effort-prompts", action="store_true",
                     help="state a reasoning effort in the prompt (`Reasoning: low|medium|high`, a system line, or "
                          "none) with the task's trace for it: the model learns to think as long as asked; ponder "
                          "then states the effort in every prompt to it (experimental)")
    sft.add_argument("--effort-weights", type=weights, default=None, metavar="W,W,W,W",
                     help="with --effort-prompts, sampling weights of no line, low, medium and high (default "
                          "equal), e.g. 1,2,1,2 for a stage that teaches new low and high scratchpads while no line "
                          "and medium keep the one the model knows")
    sft.add_argument("--recheck-weights", type=weights, default=None, metavar="W0,W1,...",
                     help="sampling weights of 0, 1, 2, ... rechecks after a finished trace (the word `check` "
                          "forced where the model ends its thinking, masked, then a second look it learns to "
                          "write), e.g. 2,1,1; the model's `medium` then takes one recheck fewer than `high`, which "
                          "takes the most (default: none)")
    sft.add_argument("--seed", type=int, default=defaults.seed, help="data and init seed (default 0)")
    sft.add_argument("--eval-every", type=positive_int, default=defaults.eval_every,
                     help=f"steps between held-out checks, 0 for none (default {defaults.eval_every})")
    sft.add_argument("--save-every", type=positive_int, default=defaults.save_every,
                     help=f"steps between resumable checkpoints (default {defaults.save_every})")
    sft.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    bf16_flag(sft)

    rs = trsub.add_parser("searches", help="decode training problems and keep the verified searches, for SFT",
                          description="Rejection sampling (DeepSeek-R1's third stage): decode a model greedily on "
                                      "training problems, optionally under the task's decoding guard, verify each "
                                      "answer and write every search to a JSONL file. `ponder train sft --init "
                                      "MODEL --own-searches FILE` then fine-tunes on the verified ones, the lines "
                                      "with a wrong step masked. Interrupted? Run the same command with --resume.")
    rs.add_argument("--model", default="ponder-tiny-sft", help="model to decode (default ponder-tiny-sft)")
    rs.add_argument("--task", default="countdown", help="task family (default countdown)")
    rs.add_argument("--levels", type=levels, default=(2, 3, 4, 5), help="levels, comma-separated (default 2,3,4,5)")
    rs.add_argument("--n", type=counts, default=(400,),
                    help="training problems per level: one count, or one per level (default 400)")
    rs.add_argument("--max-thinking", type=count, default=None,
                    help="thinking budget in tokens (default: the model's `high` effort budget, its ponder.json)")
    rs.add_argument("--guard", action=argparse.BooleanOptionalAction, default=True,
                    help="decode under the task's guard, which keeps a search's books (default on)")
    rs.add_argument("--slack", type=positive_int, default=0,
                    help="repeated moves the guard lets through before it keeps the books (default 0): the searches "
                         "then show the model recovering from its own repeat; repeated lines are not learned")
    rs.add_argument("--seed", type=int, default=0, help="problem seed (default 0)")
    rs.add_argument("--resume", action="store_true",
                    help="carry on an interrupted run from OUT.partial (same flags), decoding only what it lacks")
    rs.add_argument("--out", required=True,
                    help="JSONL file to write; searches collect in OUT.partial, renamed to OUT when all are in")

    fx = trsub.add_parser("fixes", help="decode a model's failures with RL models and keep the verified fixes, for SFT",
                          description="DeepSeek-R1's third stage from RL checkpoints: the problems a parent got wrong "
                                      "in a `ponder train searches --no-guard` file are decoded greedily by each "
                                      "RL model in turn (each only where the ones before failed); the verified "
                                      "searches, with as many of the parent's own solved ones, go to OUT. "
                                      "`ponder train sft --init PARENT --own-searches ...,OUT` then keeps the fixes "
                                      "without the RL models' breaks (benchmarks/results/experiments/"
                                      "rl_fixes_sft.md).")
    fx.add_argument("--models", type=names, required=True,
                    help="RL checkpoints, comma-separated, in the order they decode")
    fx.add_argument("--searches", required=True,
                    help="the parent's searches (`ponder train searches --no-guard`): its failures are decoded, its "
                         "solved ones are drawn to pair with the fixes")
    fx.add_argument("--max-thinking", type=count, default=None,
                    help="thinking budget in tokens (default: the first model's `high` effort budget)")
    fx.add_argument("--seed", type=int, default=0, help="seed of the draw of solved searches (default 0)")
    fx.add_argument("--out", required=True, help="JSONL file to write (written whole, through a temp file)")

    from ponder.train.grpo_config import DEFAULT_ANCHOR_WEIGHT as ANCHOR_WEIGHT
    from ponder.train.grpo_config import GRPOConfig

    # the dataclass's field defaults, not an instance: building one resolves max_thinking from the init model's
    # ponder.json, work that every `ponder` command would then do at start-up
    g = argparse.Namespace(**{f.name: f.default for f in dataclasses.fields(GRPOConfig)})
    grpo = trsub.add_parser("grpo", help="GRPO with verifiable rewards from an SFT checkpoint",
                            description="Reinforcement learning on verifiable problems (DeepSeek-R1's recipe): G "
                                        "samples per problem, group-normalised advantages, clipped updates. "
                                        "Killed? Run the same command with --resume.")
    grpo.add_argument("--init", default=g.init, help=f"starting checkpoint (default {g.init})")
    grpo.add_argument("--out", default=g.out, help=f"run folder (default {g.out})")
    grpo.add_argument("--steps", type=count, default=g.steps, help=f"steps (default {g.steps})")
    grpo.add_argument("--prompts", type=count, default=g.prompts, help=f"problems per step (default {g.prompts})")
    grpo.add_argument("--group", type=int, default=g.group, help=f"G, samples per problem (default {g.group})")
    grpo.add_argument("--updates", type=count, default=g.updates, help=f"updates per batch (default {g.updates})")
    grpo.add_argument("--lr", type=float, default=g.lr, help=f"learning rate (default {g.lr})")
    grpo.add_argument("--beta", type=float, default=g.beta, help=f"KL weight to the initial model (default {g.beta})")
    grpo.add_argument("--scale-std", action="store_true", help="divide advantages by the group std (GRPO; "
                                                                "default off, as Dr. GRPO)")
    grpo.add_argument("--negative-weight", type=float, default=g.negative_weight,
                      help="multiply negative advantages by this: 1 is GRPO, 0 reinforces only right samples "
                           "(RAFT, rejection-sampling fine-tuning); ponder's engine only "
                           f"(default {g.negative_weight})")
    grpo.add_argument("--max-thinking", type=count, default=None,
                      help="thinking budget while sampling (default: the --init model's `high` effort budget, "
                           "from its ponder.json: 3,900 tokens for ponder-tiny-sft)")
    grpo.add_argument("--tasks", type=some_names, default=g.tasks,
                      help=f"task families to train on, comma-separated (default {','.join(g.tasks)})")
    grpo.add_argument("--curriculum", type=curriculum, default=g.curriculum,
                      help="levels by step: 'STEP:LEVELS;STEP:LEVELS', e.g. '0:3,4;40:4,5', or just '4,5' "
                           f"(default {curriculum_text(g.curriculum)})")
    grpo.add_argument("--problems", default="", metavar="FILE",
                      help="draw each step's problems from this JSONL file instead of --tasks and --curriculum: "
                           "Problem lines, or the searches of `ponder train searches`, of which the ones its model "
                           "got wrong (RL where the model still fails); train-split problems only")
    grpo.add_argument("--anchor", default="", metavar="FILE",
                      help="a `ponder train searches` file of the --init model: each update adds the next-token "
                           "loss on its verified searches (PPO-ptx), holding the problems the model already solves; "
                           "the same file as --problems gives RL the failures and the anchor the successes; "
                           "ponder's engine only")
    grpo.add_argument("--anchor-weight", type=float, default=g.anchor_weight,
                      help=f"weight of the anchor loss (default {ANCHOR_WEIGHT} with --anchor, else 0: off)")
    grpo.add_argument("--anchor-rows", type=count, default=g.anchor_rows,
                      help=f"anchor searches per update (default {g.anchor_rows})")
    grpo.add_argument("--temperature", type=temperature, default=g.temperature,
                      help=f"sampling temperature of the G samples (default {g.temperature})")
    grpo.add_argument("--format-weight", type=float, default=g.format_weight,
                      help=f"weight of the format reward (default {g.format_weight})")
    grpo.add_argument("--process-weight", type=float, default=g.process_weight,
                      help="weight of the process reward, the share of correct steps (default "
                           f"{g.process_weight}: shaping made the tiny model think less, see README)")
    grpo.add_argument("--overlong-weight", type=float, default=g.overlong_weight,
                      help=f"weight of DAPO's overlong penalty (default {g.overlong_weight})")
    grpo.add_argument("--micro-batch-tokens", type=count, default=g.micro_batch_tokens,
                      help="padded tokens per forward/backward pass; lower it to use less memory, the gradient is "
                           f"the same (default {g.micro_batch_tokens}; the default run peaked at 5.0 GiB RSS)")
    grpo.add_argument("--seed", type=int, default=g.seed, help=f"seed (default {g.seed})")
    grpo.add_argument("--eval-every", type=positive_int, default=g.eval_every,
                      help=f"steps between held-out checks, 0 for none (default {g.eval_every})")
    grpo.add_argument("--engine", choices=("ponder", "trl"), default="ponder",
                      help="ponder: the built-in loop, sampling with ponder's engine (budget forcing, forced tokens "
                           "masked), what the README's RL run used; trl: TRL's GRPOTrainer with the same "
                           "rewards, to scale out with accelerate/DeepSpeed and vLLM (needs the [trl] extra; "
                           "default ponder)")
    grpo.add_argument("--vllm", action="store_true",
                      help="with --engine trl: generate with vLLM (the [vllm] extra, a GPU)")
    grpo.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    bf16_flag(grpo)


def run_train(args: argparse.Namespace) -> int:
    if args.train_command == "searches":
        return _searches(args)
    if args.train_command == "fixes":
        return _fixes(args)
    if args.train_command == "grpo":
        cfg = grpo_config(args)  # refused before torch's import
        from ponder.train.grpo import run_grpo

        log = lambda m: print(m, file=sys.stderr)  # noqa: E731
        if args.engine == "trl":
            from ponder.train.trl_grpo import run_trl_grpo

            print(run_trl_grpo(cfg, resume=args.resume, use_vllm=args.vllm, log=log))
        elif args.vllm:
            raise ValueError("--vllm needs --engine trl (ponder's own loop samples with its own engine)")
        else:
            print(run_grpo(cfg, resume=args.resume, log=log))
        return 0
    from ponder.train.sft_config import SFTConfig

    cfg = SFTConfig(out=args.out, size=args.size, init=args.init, steps=args.steps, batch_tokens=args.batch_tokens,
                    lr=args.lr, warmup=args.warmup, max_len=args.max_len, short_rows=args.short_rows,
                    countdown_guide=args.countdown_guide, unlikelihood=args.unlikelihood,
                    repeat_every=args.repeat_every, own_searches=args.own_searches, own_share=args.own_share,
                    catch_rate=args.catch_rate, countdown_plans=args.countdown_plans,
                    countdown_systematic=args.countdown_systematic,
                    countdown_prune=args.countdown_prune, countdown_flat=args.countdown_flat,
                    countdown_flat_four=args.countdown_flat_four, space_prefixed=args.space_prefixed,
                    task_weights=args.task_weights,
                    level_weights=args.level_weights, effort_prompts=args.effort_prompts,
                    effort_weights=args.effort_weights, recheck_weights=args.recheck_weights, seed=args.seed,
                    eval_every=args.eval_every, save_every=max(1, args.save_every), bf16=args.bf16)
    from ponder.train.sft import run_sft  # torch: after the settings are checked

    final = run_sft(cfg, resume=args.resume, log=lambda m: print(m, file=sys.stderr))
    print(final)
    return 0


def grpo_config(args: argparse.Namespace) -> GRPOConfig:
    """The GRPOConfig of parsed `ponder train grpo` arguments; the config validates them (ValueError)."""
    from ponder.train.grpo_config import GRPOConfig

    return GRPOConfig(init=args.init, out=args.out, steps=args.steps, prompts=args.prompts, group=args.group,
                      updates=args.updates, lr=args.lr, beta=args.beta, scale_std=args.scale_std,
                      negative_weight=args.negative_weight,
                      max_thinking=args.max_thinking, seed=args.seed, eval_every=args.eval_every,
                      tasks=args.tasks, curriculum=args.curriculum, problems_file=args.problems,
                      anchor_file=args.anchor, anchor_weight=args.anchor_weight, anchor_rows=args.anchor_rows,
                      temperature=args.temperature,
                      micro_batch_tokens=args.micro_batch_tokens, format_weight=args.format_weight,
                      process_weight=args.process_weight, overlong_weight=args.overlong_weight, bf16=args.bf16)


def _fixes(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ponder.files import write_atomic
    from ponder.model.checkpoint import load_checkpoint
    from ponder.progress import progress_bar
    from ponder.tasks import get_task
    from ponder.train.grpo_config import load_problem_pool
    from ponder.train.own_searches import read_searches
    from ponder.train.rl_fixes import first_fixes, paired_with_solved

    out = Path(args.out)
    if not out.parent.is_dir():
        raise ValueError(f"no folder {out.parent} to write {out.name} in")
    searches = read_searches(Path(args.searches))
    problems = list(load_problem_pool(args.searches))  # its failures, checked line by line (none: refused)
    tasks = {p.task for p in problems}
    if len(tasks) > 1:
        raise ValueError(f"{args.searches} mixes task families ({', '.join(sorted(tasks))}); give one file per task")
    task = get_task(tasks.pop())
    loaded = [load_checkpoint(m) for m in args.models]  # every model loads before the long decode starts
    models = [(model, tok) for model, tok, _, _ in loaded]
    max_thinking = args.max_thinking or loaded[0][2].efforts["high"]
    with progress_bar() as bar:
        bar_id = bar.add_task("fixes", total=len(problems), info="")

        def next_model(todo: int, fixed: int) -> None:
            bar.reset(bar_id, total=todo, info=f"{fixed} fixed before this model")

        fixes = first_fixes(models, task, problems, max_thinking, on_model=next_model,
                            on_chunk=lambda n: bar.update(bar_id, advance=n))
    rows = paired_with_solved(fixes, searches, args.seed)
    write_atomic(out, "".join(s.to_json() + "\n" for s in rows))
    print(f"{len(fixes)} of {len(problems)} failures fixed; wrote them and {len(rows) - len(fixes)} solved searches "
          f"to {out}", file=sys.stderr)
    print(out)
    return 0


def _searches(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ponder.model.checkpoint import high_budget, load_checkpoint, resolve_model
    from ponder.progress import progress_bar
    from ponder.tasks import get_task
    from ponder.train.own_searches import (
        append_searches,
        check_settings,
        decode_searches,
        kept_searches,
        partial_path,
        settings_path,
        training_problems,
    )

    task = get_task(args.task)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ValueError(f"no folder {out.parent} to write {out.name} in")
    if args.slack and not args.guard:
        raise ValueError("--slack loosens the guard; it needs --guard")
    if len(args.n) not in (1, len(args.levels)):
        raise ValueError(f"--n needs one count or one per level ({len(args.levels)}), got {len(args.n)}")
    per_level = args.n * len(args.levels) if len(args.n) == 1 else args.n
    problems = training_problems(task, dict(zip(args.levels, per_level, strict=True)), args.seed)
    partial = partial_path(out)
    if partial.exists() and not args.resume:
        raise ValueError(f"{partial} holds the searches of an interrupted run: add --resume to carry on, or delete it")
    kept = kept_searches(partial, problems)
    max_thinking = args.max_thinking or high_budget(args.model)
    settings = {"model": str(resolve_model(args.model).resolve()), "max_thinking": max_thinking,
                "guard": args.guard, "slack": args.slack}
    if not partial.exists():
        settings_path(out).unlink(missing_ok=True)  # the note of a run whose searches are gone
    check_settings(out, settings)
    model, tokenizer, _, _ = load_checkpoint(args.model)
    verified = {"n": sum(s.correct for s in kept)}
    with progress_bar() as bar:
        bar_id = bar.add_task("searches", total=len(problems), completed=len(kept), info="")

        def tick(n: int) -> None:
            bar.update(bar_id, advance=n, info=f"{verified['n']} verified")

        def counted():
            for s in decode_searches(model, tokenizer, task, problems[len(kept):], max_thinking, args.guard,
                                     on_chunk=tick, slack=args.slack):
                verified["n"] += s.correct
                yield s

        n = append_searches(partial, kept, counted())
    os.replace(partial, out)
    settings_path(out).unlink(missing_ok=True)
    resumed = f" ({len(kept)} kept from the interrupted run)" if kept else ""
    print(f"{verified['n']} of {n} searches verified{resumed}; wrote {out}", file=sys.stderr)
    print(out)
    return 0
