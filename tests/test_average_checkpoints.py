"""scripts/average_checkpoints.py: the mean of matching tensors, written as a loadable checkpoint; clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from ponder.model.checkpoint import load_checkpoint

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "average_checkpoints.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_average_is_the_mean_of_the_weights(make_checkpoint, tiny_checkpoint, tmp_path):
    other = make_checkpoint(tmp_path / "other", seed=1)
    out = tmp_path / "soup"
    done = _run(str(tiny_checkpoint), str(other), "--out", str(out))
    assert done.returncode == 0, done.stderr
    first, _, meta_first, _ = load_checkpoint(tiny_checkpoint)
    second, _, _, _ = load_checkpoint(other)
    soup, _, meta, _ = load_checkpoint(out)
    a, b, s = first.state_dict(), second.state_dict(), soup.state_dict()
    name = "model.layers.0.mlp.up_proj.weight"
    assert not torch.equal(a[name], b[name])
    for key in s:
        torch.testing.assert_close(s[key], (a[key] + b[key]) / 2)
    assert meta.efforts == meta_first.efforts
    assert meta.recipe["stage"] == "average" and meta.recipe["sources"] == [str(tiny_checkpoint), str(other)]


def test_refuses_other_architectures_and_a_single_source(make_checkpoint, tiny_checkpoint, tmp_path):
    deeper = make_checkpoint(tmp_path / "deeper", seed=2, num_hidden_layers=3)
    out = tmp_path / "soup"
    done = _run(str(tiny_checkpoint), str(deeper), "--out", str(out))
    assert done.returncode == 2 and "another architecture" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
    done = _run(str(tiny_checkpoint), "--out", str(out))
    assert done.returncode == 2 and "at least two" in done.stderr
    done = _run(str(tiny_checkpoint), str(tmp_path / "missing"), "--out", str(out))
    assert done.returncode == 2 and "no model" in done.stderr and not out.exists()
