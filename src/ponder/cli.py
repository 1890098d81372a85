"""The `ponder` command: ask the shipped model, look at tasks and traces, train.

Every subcommand validates its input here, at the boundary, and turns a bad value into one line on stderr and
exit status 2; the library code below raises ValueError with a message meant for people.
"""

from __future__ import annotations

import argparse
import json
import random
import sys

from ponder.cli_parser import build_parser
from ponder.cli_train import grpo_config, run_train

__all__ = ["build_parser", "grpo_config", "main"]


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
            return run_train(args)
    except (ValueError, OSError, ImportError) as e:  # ImportError: an optional extra is missing
        print(f"ponder: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ponder: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _ask(args: argparse.Namespace) -> int:
    from ponder.ask import ask, passes_line

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
    if result.pass_answers:
        print(passes_line(result.pass_answers), file=sys.stderr)
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
                         seed=args.seed, out=args.out, guard=args.guard, min_thinking=args.min_thinking,
                         command=command)
    doc = run_eval(cfg)
    if getattr(args, "json", False):
        print(json.dumps(doc))
    else:
        print_table(doc)
        print(f"\nresults, report and plots in {cfg.out}/", file=sys.stderr)
    return 0


def _tasks(args: argparse.Namespace) -> int:
    from ponder.tasks import LEVELS, TASKS, get_task

    if args.tasks_command == "list":
        for name, task in TASKS.items():
            print(f"{name}: levels {LEVELS[0]}..{LEVELS[-1]}")
            for level in LEVELS:
                example = task.sample(random.Random(0), level).prompt
                print(f"  {level}  {task.describe_level(level)}\n     e.g. {example}")
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


if __name__ == "__main__":
    sys.exit(main())
