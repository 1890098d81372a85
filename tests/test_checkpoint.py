import json
import os
import pickle
import stat

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ponder.model.checkpoint import CheckpointError, PonderMeta, load_checkpoint, resolve_model, save_checkpoint


def test_checkpoint_round_trip(tiny_checkpoint, tiny_model, tmp_path):
    files = {p.name for p in tiny_checkpoint.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "generation_config.json", "ponder.json"} <= files
    assert json.loads((tiny_checkpoint / "tokenizer_config.json").read_text())["chat_template"]
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint)
    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    ids = torch.tensor([tok.encode("What is 2 + 3?")])
    loaded, _, meta, _ = load_checkpoint(tiny_checkpoint)
    assert torch.allclose(model(ids).logits, loaded(ids).logits)
    assert meta.efforts["high"] == 32
    again = save_checkpoint(loaded, tok, PonderMeta(parent="x"), tmp_path / "copy")
    assert PonderMeta.load(again).parent == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"], "no temporary folder may be left behind"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(again.stat().st_mode) == 0o777 & ~umask, "readable like a plain mkdir, not tempfile's 0700"


def test_failed_save_leaves_the_old_checkpoint(tiny_model, tmp_path):
    model, tok, _ = tiny_model
    folder = save_checkpoint(model, tok, PonderMeta(), tmp_path / "ck")
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
        save_checkpoint(model, tok, PonderMeta(), folder, extra={"bad.pt": lambda: None})
    assert (folder / "config.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]


def test_resolve_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no model"):
        resolve_model(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        resolve_model(tmp_path)
