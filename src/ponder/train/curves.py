"""Training curves of a GRPO run: reward and accuracy, held-out accuracy, and mean thinking length against step
(DeepSeek-R1 reported that response length grows during RL; this plot shows what happens here)."""

from __future__ import annotations

from pathlib import Path

from ponder.eval.plots import plt, save_figure


def plot_grpo(history: list[dict], path: Path, title: str = "GRPO") -> Path:
    steps = [r["step"] for r in history]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4))
    a.plot(steps, [r["reward"] for r in history], label="reward", alpha=0.8)
    a.plot(steps, [r["accuracy"] for r in history], label="sample accuracy", alpha=0.8)
    a.set(xlabel="step", ylabel="mean per completion", title="reward")
    evals = [(r["step"], r["held_out"]) for r in history if "held_out" in r]
    for key in sorted({k for _, acc in evals for k in acc}):
        b.plot([s for s, _ in evals], [100 * acc[key] for _, acc in evals], marker="o", label=key)
    b.set(xlabel="step", ylabel="accuracy (%)", title="held-out accuracy (greedy)", ylim=(-3, 103))
    c.plot(steps, [r["thinking_tokens"] for r in history])
    c.set(xlabel="step", ylabel="tokens", title="mean thinking length")
    for ax in (a, b, c):
        ax.grid(alpha=0.3)
    a.legend(fontsize=8)
    if evals:
        b.legend(fontsize=7, ncol=2)
    fig.suptitle(title)
    return save_figure(fig, path)
