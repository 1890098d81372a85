"""`ponder chat`: an interactive conversation that keeps its history and streams each answer as it is written.

While the model thinks, a status line counts its thinking tokens (the thinking itself stays hidden unless
`/thinking on`); the answer streams to stdout. Earlier turns are kept without their thinking, as the chat
template does; the oldest turns are dropped when the conversation outgrows the model's context.
"""

from __future__ import annotations

import sys

from rich.console import Console

from ponder.ask import ask, context_overflow, load, passes_line, thinking_budget
from ponder.effort_prompt import effort_messages, stated_effort
from ponder.engine.stream import IncrementalDecoder

HELP = "commands: /effort none|low|medium|high, /budget N, /thinking on|off, /reset, /exit"


def run_chat(model: str, effort: str, budget: int | None, min_thinking: int, temperature: float,
             seed: int | None, show_thinking: bool, stdin=sys.stdin) -> int:
    console = Console(stderr=True)
    lm, tokenizer, meta, folder = load(model)
    console.print(f"ponder chat with {model} ({folder}). {HELP}", style="dim")
    messages: list[dict] = []
    end_think = tokenizer.convert_tokens_to_ids("</think>")
    while True:
        console.print("> ", end="", style="bold")
        line = stdin.readline()
        if not line:
            return 0
        text = line.strip()
        if not text:
            continue
        if text.startswith("/"):
            words = text.split()
            cmd, arg = words[0], (words[1] if len(words) > 1 else "")
            if cmd in ("/exit", "/quit"):
                return 0
            if cmd == "/reset":
                messages.clear()
            elif cmd == "/effort" and arg in meta.efforts:
                effort, budget = arg, None
            elif cmd == "/budget" and arg.isdigit():
                budget = int(arg)
            elif cmd == "/thinking" and arg in ("on", "off"):
                show_thinking = arg == "on"
            else:
                console.print(HELP, style="yellow")
            continue
        messages.append({"role": "user", "content": text})
        limit = thinking_budget(meta, effort, budget)
        stated = stated_effort(meta.effort_prompt, effort, budget)
        while len(messages) > 1 and _too_long(tokenizer, lm, effort_messages(messages, stated),
                                              limit + meta.answer_budget + 8):
            messages = messages[2:]  # drop the oldest exchange
        decoder, state = IncrementalDecoder(tokenizer, skip_special_tokens=True), {"answer": False, "n": 0}

        status = console.status("thinking…", spinner="dots")

        def on_token(token: int, forced: bool, decoder=decoder, state=state, status=status,
                     show_thinking=show_thinking) -> None:
            if token == end_think:
                state["answer"] = True
                status.stop()
                if show_thinking:
                    sys.stdout.write("\n</think>\n")
                return
            delta = decoder.push(token)
            if state["answer"] or show_thinking:
                sys.stdout.write(delta)
                sys.stdout.flush()
            else:
                state["n"] += 1

        if show_thinking:
            sys.stdout.write("<think>\n")
        if not show_thinking:
            status.start()
        try:
            result = ask(messages, model=model, effort=effort, budget=budget, min_thinking=min_thinking,
                         temperature=temperature, seed=seed, on_token=on_token)
        except ValueError as e:
            console.print(f"error: {e}", style="red")
            messages.pop()
            continue
        finally:
            status.stop()
        sys.stdout.write("\n")
        console.print(f"[{result.summary}]", style="dim")
        if result.pass_answers:
            console.print(passes_line(result.pass_answers), style="dim", markup=False)
        if result.verified is not None:
            verdict = f"[{result.verified['task']} verifier: {result.verified['reason']}]"
            console.print(verdict, style="dim", markup=False)  # the brackets are text, not rich markup
        messages.append({"role": "assistant", "content": result.answer})


def _too_long(tokenizer, lm, messages: list[dict], new_tokens: int) -> bool:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    return context_overflow(lm, len(ids), new_tokens) is not None
