"""Written results of an eval run: the JSON document of DESIGN.md, the JSONL rows, and a Markdown report.

Every file is written to a temporary name and renamed, so an interrupted run leaves no half-written result.
"""

from __future__ import annotations

import json
from pathlib import Path

from ponder.files import write_atomic


def document(model: str, seed: int, rows: list[dict]) -> dict:
    return {"model": model, "seed": seed, "results": rows}


def markdown(doc: dict, command: str) -> str:
    rows = doc["results"]
    efforts = [e for e in dict.fromkeys(r["effort"] for r in sorted(rows, key=lambda r: r["budget"]))]
    lines = [f"# Eval of `{doc['model']}` (seed {doc['seed']})", "", f"Command: `{command}`", "",
             "Accuracy, with mean thinking tokens in brackets.", "",
             "| task | level | " + " | ".join(efforts) + " |", "|---|---|" + "---|" * len(efforts)]
    cells = {(r["task"], r["level"], r["effort"]): r for r in rows}
    for task in dict.fromkeys(r["task"] for r in rows):
        for level in sorted({r["level"] for r in rows if r["task"] == task}):
            vals = [cells.get((task, level, e)) for e in efforts]
            lines.append(f"| {task} | {level} | " + " | ".join(
                "–" if v is None else f"{v['accuracy']:.0%} ({v['mean_thinking_tokens']:.0f})" for v in vals) + " |")
    stated = [e for e in efforts if any(r.get("stated_effort") for r in rows if r["effort"] == e)]
    if stated:
        lines += ["", f"The model reads its effort from the prompt: {', '.join(stated)} stated as "
                      "`Reasoning: <effort>`."]
    sampled = [r for r in rows if r.get("samples", 1) > 1]
    if sampled:
        lines += ["", "With several samples per problem:", "", "| task | level | effort | pass@k | maj@k |",
                  "|---|---|---|---|---|"]
        for r in sampled:
            fmt = lambda d: ", ".join(f"{k}: {v:.0%}" for k, v in d.items())  # noqa: E731
            lines.append(f"| {r['task']} | {r['level']} | {r['effort']} | {fmt(r['pass_at'])} | {fmt(r['maj_at'])} |")
    lines += ["", "![accuracy against thinking tokens](scaling.png)", "", "![accuracy against effort](effort.png)",
              "", "![thinking tokens against level](adaptive.png)", ""]
    return "\n".join(lines)


def write_results(doc: dict, folder: Path, command: str) -> dict[str, Path]:
    folder = Path(folder)
    return {
        "json": write_atomic(folder / "results.json", json.dumps(doc, indent=1) + "\n"),
        "jsonl": write_atomic(folder / "results.jsonl", "".join(json.dumps(r) + "\n" for r in doc["results"])),
        "report": write_atomic(folder / "report.md", markdown(doc, command)),
    }
