"""scripts/average_checkpoints.py: the mean of matching tensors, written as a loadable checkpoint; clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from transformers import LlamaForCausalLM

from ponder.model.checkpoint import PonderMeta, load_checkpoint, save_checkpoint
from ponder.model.config import model_config

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "average_checkpoints.py"


def _checkpoint(tokenizer, folder: Path, seed: int, **overrides) -> Path:
    torch.manual_seed(seed)
    config = model_config("test", len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id,
                          tokenizer.pad_token_id)
    for key, value in overrides.items():
        setattr(config, key, value)
    meta = PonderMeta(efforts={"none": 0, "low": 8, "medium": 16, "high": 32}, answer_budget=6)
    return save_checkpoint(LlamaForCausalLM(config), tokenizer, meta, folder)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_average_is_the_mean_of_the_weights(tokenizer, tiny_checkpoint, tmp_path):
    other = _checkpoint(tokenizer, tmp_path / "other", seed=1)
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


def test_refuses_other_architectures_and_a_single_source(tokenizer, tiny_checkpoint, tmp_path):
    deeper = _checkpoint(tokenizer, tmp_path / "deeper", seed=2, num_hidden_layers=3)
    out = tmp_path / "soup"
    done = _run(str(tiny_checkpoint), str(deeper), "--out", str(out))
    assert done.returncode == 2 and "another architecture" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
    done = _run(str(tiny_checkpoint), "--out", str(out))
    assert done.returncode == 2 and "at least two" in done.stderr
    done = _run(str(tiny_checkpoint), str(tmp_path / "missing"), "--out", str(out))
    assert done.returncode == 2 and "no model" in done.stderr and not out.exists()
