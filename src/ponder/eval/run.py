"""`ponder eval` and `ponder scale`: run a grid on a model, write the results and plots, print the table."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ponder.ask import load
from ponder.eval.grid import Row, run_grid
from ponder.eval.plots import plot_all
from ponder.eval.report import document, write_results
from ponder.model.checkpoint import DEFAULT_MODEL
from ponder.progress import progress_bar
from ponder.tasks import LEVELS, get_task


@dataclass
class EvalConfig:
    model: str = DEFAULT_MODEL
    tasks: tuple[str, ...] = ("arithmetic", "countdown")
    levels: tuple[int, ...] = LEVELS
    efforts: tuple[str, ...] = ("none", "low", "medium", "high")
    budgets: tuple[int, ...] = ()  # explicit thinking budgets, evaluated beside the efforts
    n: int = 50  # problems per task and level
    samples: int = 1  # samples per problem (pass@k and maj@k for k up to this)
    temperature: float | None = None  # default: greedy for one sample, 0.7 for several
    seed: int = 1234
    out: str = "runs/eval"
    plots: bool = True
    guard: bool = False  # decode with the tasks' decoding guards (Task.guard)
    min_thinking: int = 0  # budget forcing: think at least this many tokens (capped by each budget)
    command: str = field(default="ponder eval")

    def __post_init__(self) -> None:
        for name in self.tasks:
            get_task(name)
        bad = [lvl for lvl in self.levels if lvl not in LEVELS]
        if bad or not self.levels:
            raise ValueError(f"levels must be among 1..5, got {list(self.levels)}")
        if not self.tasks or not (self.efforts or self.budgets):
            raise ValueError("need at least one task and one effort or budget")
        if self.n < 1 or self.samples < 1:
            raise ValueError(f"n and samples must be >= 1, got n={self.n} samples={self.samples}")
        if any(b < 0 for b in self.budgets):
            raise ValueError(f"budgets must be >= 0, got {list(self.budgets)}")
        if self.min_thinking < 0:
            raise ValueError(f"minimum thinking must be >= 0, got {self.min_thinking}")
        if self.temperature is not None and self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")


def settings_for(meta, efforts: tuple[str, ...], budgets: tuple[int, ...]) -> dict[str, int]:
    unknown = [e for e in efforts if e not in meta.efforts]
    if unknown:
        raise ValueError(f"unknown effort {unknown[0]!r}; this model has {', '.join(meta.efforts)}")
    settings = {e: meta.efforts[e] for e in efforts}
    settings.update({f"budget={b}": b for b in budgets})
    return settings


def check_context(settings: dict[str, int], answer_budget: int, context: int | None) -> None:
    """Refuse a budget whose thinking and answer alone pass the model's context: past its last position a model
    writes noise, and a grid of it would read as a real measurement."""
    if context is None:
        return
    for name, budget in settings.items():
        if budget + answer_budget >= context:
            raise ValueError(f"{name} is {budget} thinking tokens; with the answer's {answer_budget} it does not fit "
                             f"the model's context of {context} tokens (use budgets below "
                             f"{context - answer_budget}, less the prompt)")


def run_eval(cfg: EvalConfig) -> dict:
    model, tokenizer, meta, _ = load(cfg.model)
    settings = settings_for(meta, cfg.efforts, cfg.budgets)
    check_context(settings, meta.answer_budget, getattr(model.config, "max_position_embeddings", None))
    total = len(cfg.tasks) * len(cfg.levels) * len(settings)
    rows: list[Row] = []
    with progress_bar(transient=True) as bar:
        task_id = bar.add_task("eval", total=total, info="")

        def on_cell(row: Row) -> None:
            rows.append(row)
            bar.update(task_id, advance=1, info=f"{row.task} L{row.level} {row.effort}: {row.accuracy:.0%}")

        run_grid(model, tokenizer, cfg.tasks, cfg.levels, settings, cfg.n, cfg.seed, cfg.samples, cfg.temperature,
                 meta.answer_budget, on_cell=on_cell, guard=cfg.guard, min_thinking=cfg.min_thinking,
                 effort_prompt=meta.effort_prompt, rechecks=meta.rechecks,
                 vote=meta.recheck_vote)
    doc = document(cfg.model, cfg.seed, [r.to_dict() for r in rows])
    out = Path(cfg.out)
    write_results(doc, out, cfg.command)
    if cfg.plots:
        plot_all(doc["results"], out, cfg.model)
    return doc


BANDS = {"L1-2": (1, 2), "L3-4": (3, 4), "L5": (5,)}


def scaling_table(doc: dict) -> str:
    """Rows: effort; columns: accuracy and mean thinking tokens per task and level band."""
    rows = doc["results"]
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    efforts = list(dict.fromkeys(r["effort"] for r in sorted(rows, key=lambda r: r["budget"])))
    head = ["effort"] + [f"{t} {b}" for t in tasks for b in BANDS]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for effort in efforts:
        cells = [effort]
        for task in tasks:
            for levels in BANDS.values():
                sel = [r for r in rows if r["task"] == task and r["effort"] == effort and r["level"] in levels]
                if not sel:
                    cells.append("–")
                    continue
                acc = sum(r["accuracy"] for r in sel) / len(sel)
                think = sum(r["mean_thinking_tokens"] for r in sel) / len(sel)
                cells.append(f"{acc:4.0%} ({think:.0f} tok)")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def print_table(doc: dict, file=sys.stdout) -> None:
    print(scaling_table(doc), file=file)
