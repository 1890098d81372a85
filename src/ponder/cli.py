"""The `ponder` command: ask the shipped model, look at tasks and traces, train.

Every subcommand validates its input here, at the boundary, and turns a bad value into one line on stderr and
exit status 2; the library code below raises ValueError with a message meant for people.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command modules are imported where a command runs, so that --help stays quick
    from ponder.train.grpo_config import GRPOConfig

EFFORTS = ("none", "low", "medium", "high")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _count(text: str) -> int:
    value = _positive_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _number_in(low: float, high: float):
    """An argparse type: a number between low and high."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {value}")
        return value
    return parse


_unit_float = _number_in(0, 1)
_temperature = _number_in(0, 5)


def _port(text: str) -> int:
    value = _positive_int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"ports are 1..65535, got {value}")
    return value


def _names(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _levels(text: str) -> tuple[int, ...]:
    return tuple(_level(t) for t in _names(text))


def _budgets(text: str) -> tuple[int, ...]:
    return tuple(_positive_int(t) for t in _names(text))


def _counts(text: str) -> tuple[int, ...]:
    return tuple(_count(t) for t in _names(text))


def _level(text: str) -> int:
    value = _positive_int(text)
    if not 1 <= value <= 5:
        raise argparse.ArgumentTypeError(f"levels are 1..5, got {value}")
    return value


def _bf16_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                        help="bf16 autocast on or off (default: on only where the hardware computes bf16 natively; "
                             "emulated bf16 on an AVX2 CPU measured 24x slower than float32)")


def build_parser() -> argparse.ArgumentParser:
    from ponder.model.checkpoint import DEFAULT_MODEL

    parser = argparse.ArgumentParser(
        prog="ponder",
        description="ponder: a reasoning model that thinks before it answers. The shipped tiny model was trained "
                    "by ponder on this kind of machine; any local Hugging Face checkpoint folder works too.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer one question, thinking first",
                         description="Answer a question. The thinking is hidden; a summary line says how long the "
                                     "model thought. A question in a task's canonical words (as `ponder tasks "
                                     "show` prints them) is also judged by the task's verifier. Example: ponder "
                                     "ask \"What is 37 * 46?\"")
    ask.add_argument("question", help='e.g. "What is 482 * 317?" or "Using the numbers 3, 5, 8, 13, make 24. '
                                      'Use every number exactly once, with + - * / and parentheses."')
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    ask.add_argument("--guard", action="store_true",
                     help="decode a countdown question under the task's guard: the engine keeps the search's books "
                          "(no move tried twice from the same numbers), the model still proposes, computes and "
                          "judges every move; needs the canonical words of `ponder tasks show countdown`")
    _generation_flags(ask, DEFAULT_MODEL)

    chat = sub.add_parser("chat", help="an interactive conversation, answers streamed",
                          description="Chat with a model; the thinking is hidden behind a status line. "
                                      "Type /effort high, /budget 64, /thinking on, /reset or /exit.")
    _generation_flags(chat, DEFAULT_MODEL)

    ev = sub.add_parser("eval", help="accuracy over a grid of tasks x levels x efforts/budgets, with plots",
                        description="Evaluate a model on held-out problems (a fifth of the problem space that "
                                    "training never samples, so every seed is fair). Writes results.json, "
                                    "results.jsonl, report.md and PNG plots to --out. Example: ponder eval --tasks "
                                    "arithmetic,countdown --levels 5 --efforts none,high --n 40 --json")
    ev.add_argument("--model", default=DEFAULT_MODEL, help=f"model name or folder (default {DEFAULT_MODEL})")
    ev.add_argument("--tasks", type=_names, default="arithmetic,countdown", help="comma list (default both)")
    ev.add_argument("--levels", type=_levels, default="1,2,3,4,5", help="comma list of 1..5 (default all)")
    ev.add_argument("--efforts", type=_names, default="none,low,medium,high",
                    help="comma list of efforts, or '' for none (default none,low,medium,high)")
    ev.add_argument("--budgets", type=_budgets, default="", help="comma list of thinking budgets in tokens")
    ev.add_argument("--n", type=_count, default=50, help="problems per task and level (default 50)")
    ev.add_argument("--samples", type=_count, default=1,
                    help="samples per problem; above 1 adds pass@k and maj@k for k = 1, 2, 4 ... (default 1)")
    ev.add_argument("--temperature", type=_temperature, default=None,
                    help="default: 0 (greedy) for one sample, 0.7 for several")
    ev.add_argument("--seed", type=int, default=1234, help="seed of the problem streams (default 1234)")
    ev.add_argument("--out", default="runs/eval", help="folder for results and plots (default runs/eval)")
    ev.add_argument("--json", action="store_true", help="print the results document on stdout")
    ev.add_argument("--guard", action="store_true",
                    help="decode with the tasks' guards: on countdown the engine keeps the search's books (no move "
                         "repeated from the same numbers, `back to` only to numbers on the path, `left` lists "
                         "copied right) while the model proposes, computes and judges every move")

    sc = sub.add_parser("scale", help="the scaling sweep: accuracy and thinking tokens at each effort",
                        description="A compact sweep of the shipped model over efforts, tasks and levels; prints "
                                    "the scaling table and writes plots (a few minutes on 2 cores).")
    sc.add_argument("--model", default=DEFAULT_MODEL, help=f"model name or folder (default {DEFAULT_MODEL})")
    sc.add_argument("--n", type=_count, default=12, help="problems per task and level (default 12)")
    sc.add_argument("--seed", type=int, default=1234, help="seed of the problem streams (default 1234)")
    sc.add_argument("--out", default="runs/scale", help="folder for results and plots (default runs/scale)")
    sc.add_argument("--guard", action="store_true", help="decode with the tasks' guards (see ponder eval --help)")

    srv = sub.add_parser("serve", help="an OpenAI-compatible HTTP API with reasoning effort",
                         description="Serve /v1/chat/completions (with reasoning_effort, streaming, hidden thinking), "
                                     "/v1/models and /health; concurrent requests are decoded in one batch. "
                                     "The OpenAPI document is at /openapi.json, its pages at /docs.")
    srv.add_argument("--model", default=DEFAULT_MODEL, help=f"model name or folder (default {DEFAULT_MODEL})")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    srv.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    srv.add_argument("--api-key", default=None, help="require this bearer key on every request")
    srv.add_argument("--max-batch", type=_count, default=32, help="most requests decoded together (default 32)")

    tasks = sub.add_parser("tasks", help="list task families, or show problems with their solver traces")
    tsub = tasks.add_subparsers(dest="tasks_command", required=True, metavar="ACTION")
    tsub.add_parser("list", help="the task families and their levels")
    show = tsub.add_parser("show", help="print problems with their solver traces",
                           description="Example: ponder tasks show countdown --level 3 -n 3")
    show.add_argument("task", help="task family, e.g. arithmetic or countdown")
    show.add_argument("--level", type=_level, default=1, help="difficulty 1..5 (default 1)")
    show.add_argument("-n", type=_positive_int, default=3, help="how many problems (default 3)")
    show.add_argument("--seed", type=int, default=0, help="seed of the problem stream (default 0)")
    show.add_argument("--slip-rate", type=float, default=0.0,
                      help="rate of deliberate slips and their corrections, as in training data (default 0)")
    show.add_argument("--json", action="store_true", help="one JSON line per problem, trace included")

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
    sft.add_argument("--steps", type=_positive_int, default=defaults.steps,
                     help=f"optimizer steps (default {defaults.steps})")
    sft.add_argument("--batch-tokens", type=_positive_int, default=defaults.batch_tokens,
                     help=f"padded tokens per batch (default {defaults.batch_tokens})")
    sft.add_argument("--lr", type=float, default=defaults.lr, help=f"peak learning rate (default {defaults.lr})")
    sft.add_argument("--warmup", type=_positive_int, default=defaults.warmup,
                     help=f"steps of linear warm-up before the cosine decay (default {defaults.warmup})")
    sft.add_argument("--max-len", type=_count, default=defaults.max_len,
                     help=f"widest row in tokens; longer examples are left out (default {defaults.max_len})")
    sft.add_argument("--short-rows", type=_budgets, default=defaults.short_rows,
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
    sft.add_argument("--repeat-every", type=_positive_int, default=defaults.repeat_every,
                     help="every N steps, decode countdown training problems with the current weights and add the "
                          "token where each search first repeats a move as an unlikelihood target (needs "
                          f"--unlikelihood; 0: never; default {defaults.repeat_every})")
    sft.add_argument("--own-searches", type=_names, default=(),
                     help="JSONL files (comma-separated) of a model's own searches (`ponder train searches`): "
                          "fine-tune on the verified ones alongside the solver traces, rejection-sampling "
                          "fine-tuning (default none)")
    sft.add_argument("--own-share", type=float, default=defaults.own_share,
                     help="with --own-searches, the share of their task's examples drawn from them, the rest solver "
                          "traces; other tasks keep their share (default "
                          f"{defaults.own_share})")
    sft.add_argument("--catch-rate", type=_unit_float, default=defaults.catch_rate,
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
    sft.add_argument("--seed", type=int, default=defaults.seed, help="data and init seed (default 0)")
    sft.add_argument("--eval-every", type=_positive_int, default=defaults.eval_every,
                     help=f"steps between held-out checks, 0 for none (default {defaults.eval_every})")
    sft.add_argument("--save-every", type=_positive_int, default=defaults.save_every,
                     help=f"steps between resumable checkpoints (default {defaults.save_every})")
    sft.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    _bf16_flag(sft)

    rs = trsub.add_parser("searches", help="decode training problems and keep the verified searches, for SFT",
                          description="Rejection sampling (DeepSeek-R1's third stage): decode a model greedily on "
                                      "training problems, optionally under the task's decoding guard, verify each "
                                      "answer and write every search to a JSONL file. `ponder train sft --init "
                                      "MODEL --own-searches FILE` then fine-tunes on the verified ones, the lines "
                                      "with a wrong step masked. Interrupted? Run the same command with --resume.")
    rs.add_argument("--model", default="ponder-tiny-sft", help="model to decode (default ponder-tiny-sft)")
    rs.add_argument("--task", default="countdown", help="task family (default countdown)")
    rs.add_argument("--levels", type=_levels, default=(2, 3, 4, 5), help="levels, comma-separated (default 2,3,4,5)")
    rs.add_argument("--n", type=_counts, default=(400,),
                    help="training problems per level: one count, or one per level (default 400)")
    rs.add_argument("--max-thinking", type=_count, default=None,
                    help="thinking budget in tokens (default: the model's `high` effort budget, its ponder.json)")
    rs.add_argument("--guard", action=argparse.BooleanOptionalAction, default=True,
                    help="decode under the task's guard, which keeps a search's books (default on)")
    rs.add_argument("--slack", type=_positive_int, default=0,
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
    fx.add_argument("--models", type=_names, required=True,
                    help="RL checkpoints, comma-separated, in the order they decode")
    fx.add_argument("--searches", required=True,
                    help="the parent's searches (`ponder train searches --no-guard`): its failures are decoded, its "
                         "solved ones are drawn to pair with the fixes")
    fx.add_argument("--max-thinking", type=_count, default=None,
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
    grpo.add_argument("--steps", type=_count, default=g.steps, help=f"steps (default {g.steps})")
    grpo.add_argument("--prompts", type=_count, default=g.prompts, help=f"problems per step (default {g.prompts})")
    grpo.add_argument("--group", type=int, default=g.group, help=f"G, samples per problem (default {g.group})")
    grpo.add_argument("--updates", type=_count, default=g.updates, help=f"updates per batch (default {g.updates})")
    grpo.add_argument("--lr", type=float, default=g.lr, help=f"learning rate (default {g.lr})")
    grpo.add_argument("--beta", type=float, default=g.beta, help=f"KL weight to the initial model (default {g.beta})")
    grpo.add_argument("--scale-std", action="store_true", help="divide advantages by the group std (GRPO; "
                                                                "default off, as Dr. GRPO)")
    grpo.add_argument("--negative-weight", type=float, default=g.negative_weight,
                      help="multiply negative advantages by this: 1 is GRPO, 0 reinforces only right samples "
                           "(RAFT, rejection-sampling fine-tuning); ponder's engine only "
                           f"(default {g.negative_weight})")
    grpo.add_argument("--max-thinking", type=_count, default=None,
                      help="thinking budget while sampling (default: the --init model's `high` effort budget, "
                           "from its ponder.json: 1,900 tokens for ponder-tiny-sft)")
    grpo.add_argument("--tasks", type=_some_names, default=g.tasks,
                      help=f"task families to train on, comma-separated (default {','.join(g.tasks)})")
    grpo.add_argument("--curriculum", type=_curriculum, default=g.curriculum,
                      help="levels by step: 'STEP:LEVELS;STEP:LEVELS', e.g. '0:3,4;40:4,5', or just '4,5' "
                           f"(default {_curriculum_text(g.curriculum)})")
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
    grpo.add_argument("--anchor-rows", type=_count, default=g.anchor_rows,
                      help=f"anchor searches per update (default {g.anchor_rows})")
    grpo.add_argument("--temperature", type=_temperature, default=g.temperature,
                      help=f"sampling temperature of the G samples (default {g.temperature})")
    grpo.add_argument("--format-weight", type=float, default=g.format_weight,
                      help=f"weight of the format reward (default {g.format_weight})")
    grpo.add_argument("--process-weight", type=float, default=g.process_weight,
                      help="weight of the process reward, the share of correct steps (default "
                           f"{g.process_weight}: shaping made the tiny model think less, see README)")
    grpo.add_argument("--overlong-weight", type=float, default=g.overlong_weight,
                      help=f"weight of DAPO's overlong penalty (default {g.overlong_weight})")
    grpo.add_argument("--micro-batch-tokens", type=_count, default=g.micro_batch_tokens,
                      help="padded tokens per forward/backward pass; lower it to use less memory, the gradient is "
                           f"the same (default {g.micro_batch_tokens}; the default run peaked at 5.0 GiB RSS)")
    grpo.add_argument("--seed", type=int, default=g.seed, help=f"seed (default {g.seed})")
    grpo.add_argument("--eval-every", type=_positive_int, default=g.eval_every,
                      help=f"steps between held-out checks, 0 for none (default {g.eval_every})")
    grpo.add_argument("--engine", choices=("ponder", "trl"), default="ponder",
                      help="ponder: the built-in loop, sampling with ponder's engine (budget forcing, forced tokens "
                           "masked), what the README's RL run used; trl: TRL's GRPOTrainer with the same "
                           "rewards, to scale out with accelerate/DeepSpeed and vLLM (needs the [trl] extra; "
                           "default ponder)")
    grpo.add_argument("--vllm", action="store_true",
                      help="with --engine trl: generate with vLLM (the [vllm] extra, a GPU)")
    grpo.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    _bf16_flag(grpo)
    return parser


def _generation_flags(p: argparse.ArgumentParser, default_model: str) -> None:
    p.add_argument("--model", default=default_model,
                   help=f"shipped model name or checkpoint folder (default {default_model})")
    p.add_argument("--effort", choices=EFFORTS, default="high",
                   help="how much to think: none answers at once; low/medium/high are thinking budgets stored in "
                        "the model's ponder.json (default high)")
    p.add_argument("--budget", type=_positive_int, help="thinking budget in tokens; overrides --effort")
    p.add_argument("--min-thinking", type=_positive_int, default=0,
                   help="think at least this many tokens: an earlier </think> is replaced by 'Wait,' (default 0)")
    p.add_argument("--temperature", type=_temperature, default=0.0, help="sampling temperature; 0 is greedy (default)")
    p.add_argument("--seed", type=int, default=None, help="seed for sampling, for repeatable runs")
    p.add_argument("--show-thinking", action="store_true", help="print the whole thinking")


def _some_names(text: str) -> tuple[str, ...]:
    names = _names(text)
    if not names:
        raise argparse.ArgumentTypeError("give at least one name")
    return names


def _curriculum(text: str) -> tuple[tuple[int, tuple[int, ...]], ...]:
    stages = []
    for part in text.split(";"):
        start, _, levels = part.rpartition(":")
        try:
            stage = (int(start) if start.strip() else 0, tuple(int(x) for x in levels.split(",")))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad stage {part!r}: expected STEP:LEVELS such as 40:4,5") from None
        stages.append(stage)
    if stages[0][0] != 0 or any(b[0] <= a[0] for a, b in zip(stages, stages[1:], strict=False)):
        raise argparse.ArgumentTypeError("stages start at step 0 and their steps increase")
    return tuple(stages)


def _curriculum_text(stages: tuple[tuple[int, tuple[int, ...]], ...]) -> str:
    return ";".join(f"{start}:{','.join(map(str, levels))}" for start, levels in stages)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "ask":
            return _ask(args)
        if args.command == "chat":
            from ponder.chat import run_chat

            return run_chat(args.model, args.effort, args.budget, args.min_thinking, args.temperature, args.seed,
                            args.show_thinking)
        if args.command == "tasks":
            return _tasks(args)
        if args.command in ("eval", "scale"):
            return _eval(args, argv)
        if args.command == "serve":
            import uvicorn

            from ponder.serve.app import create_app

            app = create_app(args.model, api_key=args.api_key, max_batch=args.max_batch)
            uvicorn.run(app, host=args.host, port=args.port, log_level="info")
            return 0
        if args.command == "train":
            if argv is None:  # the `ponder` command itself, not a caller's main([...]): its process may be replaced
                from ponder.allocator import reexec_under_jemalloc

                reexec_under_jemalloc()
            return _train(args)
    except (ValueError, OSError, ImportError) as e:  # ImportError: an optional extra is missing
        print(f"ponder: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ponder: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _ask(args: argparse.Namespace) -> int:
    from ponder.ask import ask

    if not args.question.strip():
        raise ValueError("the question is empty")
    if args.budget is not None and args.min_thinking > args.budget:
        raise ValueError(f"--min-thinking {args.min_thinking} exceeds --budget {args.budget}")
    result = ask(args.question, model=args.model, effort=args.effort, budget=args.budget,
                 min_thinking=args.min_thinking, temperature=args.temperature, seed=args.seed, guard=args.guard)
    if args.json:
        doc = result.to_dict()
        if not args.show_thinking:
            doc.pop("thinking")
        print(json.dumps(doc))
        return 0
    if args.show_thinking:
        print(f"<think>\n{result.thinking}\n</think>")
    print(f"[{result.summary}]", file=sys.stderr)
    if result.verified is not None:
        print(f"[{result.verified['task']} verifier: {result.verified['reason']}]", file=sys.stderr)
    print(result.answer)
    return 0


def _eval(args: argparse.Namespace, argv: list[str] | None) -> int:
    from ponder.eval.run import EvalConfig, print_table, run_eval

    command = "ponder " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.command == "scale":
        cfg = EvalConfig(model=args.model, n=args.n, seed=args.seed, out=args.out, guard=args.guard, command=command)
    else:
        cfg = EvalConfig(model=args.model, tasks=args.tasks, levels=args.levels, efforts=args.efforts,
                         budgets=args.budgets, n=args.n, samples=args.samples, temperature=args.temperature,
                         seed=args.seed, out=args.out, guard=args.guard, command=command)
    doc = run_eval(cfg)
    if getattr(args, "json", False):
        print(json.dumps(doc))
    else:
        print_table(doc)
        print(f"\nresults, report and plots in {cfg.out}/", file=sys.stderr)
    return 0


def _tasks(args: argparse.Namespace) -> int:
    from ponder.tasks import TASKS, get_task

    if args.tasks_command == "list":
        for name, task in TASKS.items():
            print(f"{name}: levels 1..5  e.g. {task.sample(random.Random(0), 3).prompt}")
        return 0
    task = get_task(args.task)
    if not 0 <= args.slip_rate < 1:
        raise ValueError(f"--slip-rate must be in [0, 1), got {args.slip_rate}")
    for i, problem in enumerate(task.sample_many(args.seed, args.level, args.n, split="train")):
        trace = task.trace(problem, random.Random(f"{args.seed}:{i}"), args.slip_rate)
        if args.json:
            print(json.dumps({**json.loads(problem.to_json()), "trace": trace}))
            continue
        # The answer a training example ends with: the one this trace verified (see Task.answer_from_trace).
        print(f"# {task.name}, level {problem.level}\n{problem.prompt}\n<think>\n{trace.rstrip()}\n</think>"
              f"\n{task.answer_from_trace(problem, trace)}\n")
    return 0


def _train(args: argparse.Namespace) -> int:
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
                    seed=args.seed,
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
    counts = args.n * len(args.levels) if len(args.n) == 1 else args.n
    problems = training_problems(task, dict(zip(args.levels, counts, strict=True)), args.seed)
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


if __name__ == "__main__":
    sys.exit(main())
