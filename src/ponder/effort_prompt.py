"""Stating the reasoning effort in the prompt, for models trained to read it (gpt-oss's `Reasoning: high`).

A model whose ponder.json has `effort_prompt` learned one scratchpad per effort (ponder.tasks.arithmetic_pad): told
`low` it leaves out zero carries, told `high` it checks a product by casting out nines. ponder states the effort it
asks such a model for; `none` (thinking is forced empty), an explicit token budget (no effort was asked for) and models
without the flag keep the plain prompt, so outside checkpoints see exactly the chat their own template makes.
"""

from __future__ import annotations

PROMPT_EFFORTS = ("low", "medium", "high")


def effort_messages(messages: list[dict], effort: str | None) -> list[dict]:
    """`messages` with `Reasoning: {effort}` as a system line; unchanged for None. A leading system message gets
    the line as its first line (one system turn, as chat templates expect)."""
    if effort is None:
        return messages
    line = f"Reasoning: {effort}"
    if messages and messages[0].get("role") == "system":
        first = messages[0]
        return [{**first, "content": f"{line}\n{first['content']}"}, *messages[1:]]
    return [{"role": "system", "content": line}, *messages]


def stated_effort(effort_prompt: bool, effort: str | None, budget: int | None = None) -> str | None:
    """The effort to state in the prompt: the asked-for effort where the model reads one and no explicit budget
    replaces it, else None."""
    if not effort_prompt or budget is not None or effort not in PROMPT_EFFORTS:
        return None
    return effort
