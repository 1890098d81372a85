"""Two or more SFT runs side by side from their metrics logs: loss per window of steps and held-out accuracy.

Compares what a change to the training pipeline does to learning at equal steps (the logs need the same schedule,
i.e. the same --steps, for the comparison to mean anything). Prints a Markdown table and writes it, with a plot
(loss and mean held-out accuracy against step), to --out. Example (the row-width check of this folder's results):
    python benchmarks/sft_curves.py \\
        "640 rows, bf16=benchmarks/results/experiments/sft_2200_steps_training_metrics.jsonl" \\
        "six widths, float32=benchmarks/results/experiments/row_widths_sft_training_metrics.jsonl" \\
        --out experiments/row_widths_sft_curves
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ponder.train.curves import plot_sft_runs
from results_io import RESULTS, write_results


def _load(spec: str) -> tuple[str, list[dict]]:
    label, sep, path = spec.rpartition("=")
    if not sep or not label:
        raise SystemExit(f"expected LABEL=PATH, got {spec!r}")
    try:
        rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as err:
        raise SystemExit(f"cannot read the metrics log {path}: {err}") from None
    if not rows or "loss" not in rows[0]:
        raise SystemExit(f"{path} holds no SFT metrics (step, loss) rows")
    return label, rows


def _table(runs: dict[str, list[dict]], window: int) -> str:
    last = min(rows[-1]["step"] for rows in runs.values())  # compare only the steps every run reached
    head = "| steps | " + " | ".join(f"loss: {name}" for name in runs) + " |"
    lines = [head, "|" + "---|" * (len(runs) + 1)]
    for end in range(window, last + 1, window):
        means = []
        for rows in runs.values():
            part = [r["loss"] for r in rows if end - window < r["step"] <= end]
            means.append(f"{sum(part) / len(part):.4f}")
        lines.append(f"| {end - window + 1}-{end} | " + " | ".join(means) + " |")
    evals = sorted({r["step"] for rows in runs.values() for r in rows if "held_out" in r and r["step"] <= last})
    if evals:
        lines += ["", "| step | " + " | ".join(f"held-out mean: {name}" for name in runs) + " |",
                  "|" + "---|" * (len(runs) + 1)]
        for step in evals:
            cells = []
            for rows in runs.values():
                acc = next((r["held_out"] for r in rows if r["step"] == step and "held_out" in r), None)
                cells.append("-" if acc is None else f"{100 * sum(acc.values()) / len(acc):.1f}%")
            lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="LABEL=PATH of a metrics.jsonl written by ponder train sft")
    parser.add_argument("--window", type=int, default=100, help="steps per loss window (default 100)")
    parser.add_argument("--out", default="sft_curves", help="result stem under benchmarks/results/")
    args = parser.parse_args()
    if len(args.runs) < 2 or args.window < 1:
        parser.error("give at least two runs and a window >= 1")
    runs = dict(_load(spec) for spec in args.runs)
    table = _table(runs, args.window)
    stem = RESULTS / args.out
    plot = plot_sft_runs(runs, stem.with_suffix(".png"), title="SFT runs at equal steps")
    doc = {"command": "python benchmarks/sft_curves.py " + " ".join(f'"{s}"' for s in args.runs)
                      + f" --window {args.window} --out {args.out}",
           "runs": {name: {"steps": rows[-1]["step"], "last_loss": rows[-1]["loss"]} for name, rows in runs.items()}}
    write_results(stem, doc, table)
    print(table)
    print(f"wrote {stem.with_suffix('.md')} and {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
