"""The pictures of an eval run (matplotlib, written as PNG, atomically):

- scaling.png: accuracy against mean thinking tokens (symlog x, so no-thinking sits at 0), a line per level,
  a panel per task;
- effort.png: accuracy against effort, a line per level, a panel per task;
- adaptive.png: mean thinking tokens against level, a line per effort (does the model think longer when harder?).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402

from ponder.files import write_with  # noqa: E402


def _panels(rows: list[dict]):
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 4.2), squeeze=False)
    return tasks, fig, axes[0]


def _shared_legend(fig, axes, labels: list[str]) -> None:
    """One legend under the panels, its entries in `labels` order: every panel draws the same lines (colours fixed
    per label), and a legend inside a panel covers the points at its corners, where the best cells sit."""
    handles = {}
    for ax in axes:
        handles.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    shown = [label for label in labels if label in handles]
    fig.legend([handles[label] for label in shown], shown, loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=len(shown), fontsize=9, frameon=False)


def save_figure(fig, path: Path) -> Path:
    try:
        return write_with(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight"))
    finally:
        plt.close(fig)


def _order(rows: list[dict]) -> list[str]:
    return [e for e in dict.fromkeys(r["effort"] for r in sorted(rows, key=lambda r: r["budget"]))]


def _token_ticks(top: float) -> tuple[list[int], list[str]]:
    """0 and the powers of ten up to the data, written out: symlog's own ticks put `10^0` on top of the 0."""
    ticks = [0, 10]
    while ticks[-1] * 10 <= top:
        ticks.append(ticks[-1] * 10)
    return ticks, [f"{t:,}" for t in ticks]


def plot_scaling(rows: list[dict], path: Path, title: str) -> Path:
    tasks, fig, axes = _panels(rows)
    levels = sorted({r["level"] for r in rows})
    for ax, task in zip(axes, tasks, strict=True):
        for level in sorted({r["level"] for r in rows if r["task"] == task}):
            cells = sorted((r for r in rows if r["task"] == task and r["level"] == level), key=lambda r: r["budget"])
            ax.plot([c["mean_thinking_tokens"] for c in cells], [100 * c["accuracy"] for c in cells], marker="o",
                    label=f"level {level}", color=f"C{levels.index(level)}")
        ax.set_xscale("symlog", linthresh=8)
        ax.set_xticks(*_token_ticks(max((r["mean_thinking_tokens"] for r in rows if r["task"] == task), default=0)))
        ax.set(title=task, xlabel="mean thinking tokens (symlog)", ylabel="accuracy (%)", ylim=(-3, 103))
        ax.grid(alpha=0.3)
    _shared_legend(fig, axes, [f"level {level}" for level in levels])
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_effort(rows: list[dict], path: Path, title: str) -> Path:
    tasks, fig, axes = _panels(rows)
    efforts = _order(rows)
    levels = sorted({r["level"] for r in rows})
    for ax, task in zip(axes, tasks, strict=True):
        for level in sorted({r["level"] for r in rows if r["task"] == task}):
            cells = {r["effort"]: r for r in rows if r["task"] == task and r["level"] == level}
            ax.plot(efforts, [100 * cells[e]["accuracy"] if e in cells else float("nan") for e in efforts],
                    marker="o", label=f"level {level}", color=f"C{levels.index(level)}")
        ax.set(title=task, xlabel="reasoning effort", ylabel="accuracy (%)", ylim=(-3, 103))
        ax.grid(alpha=0.3)
    _shared_legend(fig, axes, [f"level {level}" for level in levels])
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_adaptive(rows: list[dict], path: Path, title: str) -> Path:
    tasks, fig, axes = _panels(rows)
    for ax, task in zip(axes, tasks, strict=True):
        for i, effort in enumerate(_order(rows)):
            cells = sorted((r for r in rows if r["task"] == task and r["effort"] == effort), key=lambda r: r["level"])
            if cells:
                ax.plot([c["level"] for c in cells], [c["mean_thinking_tokens"] for c in cells], marker="o",
                        label=effort, color=f"C{i}")
        ax.set(title=task, xlabel="level", ylabel="mean thinking tokens")
        ax.grid(alpha=0.3)
    _shared_legend(fig, axes, _order(rows))
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_all(rows: list[dict], folder: Path, model: str) -> list[Path]:
    return [plot_scaling(rows, folder / "scaling.png", f"{model}: accuracy against thinking"),
            plot_effort(rows, folder / "effort.png", f"{model}: accuracy against effort"),
            plot_adaptive(rows, folder / "adaptive.png", f"{model}: thinking tokens against level")]
