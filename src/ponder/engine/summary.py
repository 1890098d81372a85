"""A one-line gist of hidden thinking, in the spirit of "Thought for 12 seconds".

For ponder's own traces it counts what the thinking did (moves tried, back-ups, self-corrections, the final
check); for any other model's thinking it quotes the start of the last sentence, which is usually the conclusion.
"""

from __future__ import annotations

import re


def gist(thinking: str) -> str:
    lines = [line.strip() for line in thinking.splitlines() if line.strip()]
    if not lines:
        return "answered without thinking"
    parts = []
    tries = sum(line.startswith("try ") for line in lines)
    backs = sum("back to " in line for line in lines)
    columns = len(re.findall(r"\d+[+*-]\d+[+-]\d+=\d+", thinking))
    waits = thinking.count("Wait,")
    if tries:
        parts.append(f"tried {tries} move{'s' * (tries != 1)}")
    if backs:
        parts.append(f"backed up {backs} time{'s' * (backs != 1)}")
    if columns:
        parts.append(f"worked {columns} column step{'s' * (columns != 1)}")
    if waits:
        parts.append(f"corrected {waits} slip{'s' * (waits != 1)}")
    checks = re.findall(r"check [^\n]*? (ok|bad)\b", thinking)
    if checks:
        parts.append(f"final check {checks[-1]}")
    if parts:
        return ", ".join(parts)
    last = re.split(r"(?<=[.!?])\s+", " ".join(lines))[-1]
    return last if len(last) <= 80 else last[:77] + "..."


def summary_line(thinking: str, thinking_tokens: int, seconds: float, budget_hit: bool) -> str:
    cut = " (cut by the thinking budget)" if budget_hit else ""
    return f"Thought for {thinking_tokens} tokens in {seconds:.1f} s{cut}: {gist(thinking)}"
