"""Training curves: of a GRPO run (reward and accuracy, held-out accuracy, and mean thinking length against step;
DeepSeek-R1 reported that response length grows during RL, this plot shows what happens here), and of SFT runs side
by side (loss and mean held-out accuracy against step)."""

from __future__ import annotations

from pathlib import Path

from ponder.eval.plots import plt, save_figure


def plot_grpo(history: list[dict], path: Path, title: str = "GRPO") -> Path:
    steps = [r["step"] for r in history]
    anchored = [(r["step"], r["anchor_loss"]) for r in history if r.get("anchor_loss") is not None]
    fig, axes = plt.subplots(1, 4 if anchored else 3, figsize=(20 if anchored else 15, 4))
    a, b, c = axes[:3]
    a.plot(steps, [r["reward"] for r in history], label="reward", alpha=0.8)
    a.plot(steps, [r["accuracy"] for r in history], label="sample accuracy", alpha=0.8)
    a.set(xlabel="step", ylabel="mean per completion", title="reward")
    evals = [(r["step"], r["held_out"]) for r in history if "held_out" in r]
    for key in sorted({k for _, acc in evals for k in acc}):
        b.plot([s for s, _ in evals], [100 * acc[key] for _, acc in evals], marker="o", label=key)
    b.set(xlabel="step", ylabel="accuracy (%)", title="held-out accuracy (greedy)", ylim=(-3, 103))
    c.plot(steps, [r["thinking_tokens"] for r in history])
    c.set(xlabel="step", ylabel="tokens", title="mean thinking length")
    if anchored:  # --anchor: its next-token loss on the parent's searches, which should stay where it began
        axes[3].plot([s for s, _ in anchored], [v for _, v in anchored])
        axes[3].set(xlabel="step", ylabel="nats per token", title="anchor loss (parent's solved searches)")
    for ax in axes:
        ax.grid(alpha=0.3)
    a.legend(fontsize=8)
    if evals:
        b.legend(fontsize=7, ncol=2)
    else:  # an empty panel would read as a failed plot
        b.set_xlim(steps[0] if steps else 0, steps[-1] if steps else 1)
        b.text(0.5, 0.5, "no held-out checks in this run\n(--eval-every 0)", transform=b.transAxes,
               ha="center", va="center", color="gray")
    fig.suptitle(title)
    return save_figure(fig, path)


def smoothed(values: list[float], window: int) -> list[float]:
    """Trailing mean over `window` values (fewer at the start): per-step SFT loss is too noisy to compare raw."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def plot_sft_runs(runs: dict[str, list[dict]], path: Path, window: int = 50, title: str = "SFT runs") -> Path:
    """Loss (trailing mean over `window` steps, log y) and mean held-out accuracy against step, a line per run."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for label, rows in runs.items():
        a.plot([r["step"] for r in rows], smoothed([r["loss"] for r in rows], window), label=label, alpha=0.85)
        evals = [(r["step"], r["held_out"]) for r in rows if "held_out" in r]
        b.plot([s for s, _ in evals], [100 * sum(acc.values()) / len(acc) for _, acc in evals], marker="o",
               label=label)
    a.set(xlabel="step", ylabel=f"loss (mean of {window} steps)", title="training loss", yscale="log")
    b.set(xlabel="step", ylabel="accuracy (%)", title="held-out accuracy, mean over tasks and levels (greedy)",
          ylim=(-3, 103))
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)
