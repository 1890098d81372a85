import pytest

from ponder.train.curves import plot_sft_runs, smoothed


def test_smoothed_is_a_trailing_mean():
    assert smoothed([1.0, 3.0, 5.0, 7.0], 2) == pytest.approx([1.0, 2.0, 4.0, 6.0])
    assert smoothed([2.0, 4.0], 10) == pytest.approx([2.0, 3.0])


def test_sft_runs_plot_side_by_side(tmp_path):
    acc = {"arithmetic:1": 0.5, "countdown:1": 1.0}
    run = [{"step": s, "loss": 1.0 / s} for s in range(1, 6)] + [{"step": 6, "loss": 0.1, "held_out": acc}]
    path = plot_sft_runs({"a": run, "b": run[:4]}, tmp_path / "runs.png", window=2)
    assert path.read_bytes()[:4] == b"\x89PNG"
