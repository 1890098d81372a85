"""The `ponder` command's parser: every subcommand, its flags and the `--help` that teaches them. Building it
imports no torch, so `ponder --help` and refused flags answer at once; the training stages' flags are in
`ponder.cli_train`."""

from __future__ import annotations

import argparse

from ponder.cli_args import budgets, count, level, levels, names, port, positive_int, temperature
from ponder.cli_train import add_train_parsers

EFFORTS = ("none", "low", "medium", "high")

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
    ev.add_argument("--tasks", type=names, default="arithmetic,countdown", help="comma list (default both)")
    ev.add_argument("--levels", type=levels, default="1,2,3,4,5", help="comma list of 1..5 (default all)")
    ev.add_argument("--efforts", type=names, default="none,low,medium,high",
                    help="comma list of efforts, or '' for none (default none,low,medium,high); a model trained "
                         "to read its effort is told it (`Reasoning: low`), never a --budgets one")
    ev.add_argument("--budgets", type=budgets, default="", help="comma list of thinking budgets in tokens")
    ev.add_argument("--n", type=count, default=50, help="problems per task and level (default 50)")
    ev.add_argument("--samples", type=count, default=1,
                    help="samples per problem; above 1 adds pass@k and maj@k for k = 1, 2, 4 ... (default 1)")
    ev.add_argument("--temperature", type=temperature, default=None,
                    help="default: 0 (greedy) for one sample, 0.7 for several")
    ev.add_argument("--seed", type=int, default=1234, help="seed of the problem streams (default 1234)")
    ev.add_argument("--out", default="runs/eval", help="folder for results and plots (default runs/eval)")
    ev.add_argument("--json", action="store_true", help="print the results document on stdout")
    ev.add_argument("--guard", action="store_true",
                    help="decode with the tasks' guards: on countdown the engine keeps the search's books (no move "
                         "repeated from the same numbers, `back to` only to numbers on the path, `left` lists "
                         "copied right) while the model proposes, computes and judges every move")
    ev.add_argument("--min-thinking", type=positive_int, default=0, metavar="N",
                    help="budget forcing (s1): think at least this many tokens, capped by each budget; an earlier "
                         "</think> is replaced by 'Wait,'. Each row records the minimum it ran with (default 0)")

    sc = sub.add_parser("scale", help="the scaling sweep: accuracy and thinking tokens at each effort",
                        description="A compact sweep of the shipped model over efforts, tasks and levels; prints "
                                    "the scaling table and writes plots (a few minutes on 2 cores).")
    sc.add_argument("--model", default=DEFAULT_MODEL, help=f"model name or folder (default {DEFAULT_MODEL})")
    sc.add_argument("--n", type=count, default=12, help="problems per task and level (default 12)")
    sc.add_argument("--seed", type=int, default=1234, help="seed of the problem streams (default 1234)")
    sc.add_argument("--out", default="runs/scale", help="folder for results and plots (default runs/scale)")
    sc.add_argument("--guard", action="store_true", help="decode with the tasks' guards (see ponder eval --help)")

    srv = sub.add_parser("serve", help="an OpenAI-compatible HTTP API with reasoning effort",
                         description="Serve /v1/chat/completions (with reasoning_effort, streaming, hidden thinking), "
                                     "/v1/models and /health; concurrent requests are decoded in one batch. "
                                     "The OpenAPI document is at /openapi.json, its pages at /docs.")
    srv.add_argument("--model", default=DEFAULT_MODEL, help=f"model name or folder (default {DEFAULT_MODEL})")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    srv.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    srv.add_argument("--api-key", default=None, help="require this bearer key on every request")
    srv.add_argument("--max-batch", type=count, default=32, help="most requests decoded together (default 32)")

    tasks = sub.add_parser("tasks", help="list task families, or show problems with their solver traces")
    tsub = tasks.add_subparsers(dest="tasks_command", required=True, metavar="ACTION")
    tsub.add_parser("list", help="the task families and their levels")
    show = tsub.add_parser("show", help="print problems with their solver traces",
                           description="Example: ponder tasks show countdown --level 3 -n 3")
    show.add_argument("task", help="task family, e.g. arithmetic or countdown")
    show.add_argument("--level", type=level, default=1, help="difficulty 1..5 (default 1)")
    show.add_argument("-n", type=positive_int, default=3, help="how many problems (default 3)")
    show.add_argument("--seed", type=int, default=0, help="seed of the problem stream (default 0)")
    show.add_argument("--slip-rate", type=float, default=0.0,
                      help="rate of deliberate slips and their corrections, as in training data (default 0)")
    show.add_argument("--json", action="store_true", help="one JSON line per problem, trace included")

    add_train_parsers(sub)
    return parser


def _generation_flags(p: argparse.ArgumentParser, default_model: str) -> None:
    p.add_argument("--model", default=default_model,
                   help=f"shipped model name or checkpoint folder (default {default_model})")
    p.add_argument("--effort", choices=EFFORTS, default="high",
                   help="how much to think: none answers at once; low/medium/high are thinking budgets stored in "
                        "the model's ponder.json, and stated in the prompt (`Reasoning: high`) to a model trained "
                        "to read it (default high)")
    p.add_argument("--budget", type=positive_int, help="thinking budget in tokens; overrides --effort")
    p.add_argument("--min-thinking", type=positive_int, default=0,
                   help="think at least this many tokens: an earlier </think> is replaced by 'Wait,' (default 0)")
    p.add_argument("--temperature", type=temperature, default=0.0, help="sampling temperature; 0 is greedy (default)")
    p.add_argument("--seed", type=int, default=None, help="seed for sampling, for repeatable runs")
    p.add_argument("--show-thinking", action="store_true", help="print the whole thinking")
