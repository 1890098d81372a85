"""Shared fixtures: a tiny random ponder model saved as a checkpoint folder (built once per test session)."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaForCausalLM

from ponder.model.checkpoint import PonderMeta, save_checkpoint
from ponder.model.config import model_config
from ponder.model.tokenizer import build_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="session")
def spaced_tokenizer():
    return build_tokenizer(space_prefixed=True)


@pytest.fixture(scope="session")
def pool_texts(tokenizer):
    """The decoded examples of an SFT config's first pool of steps (what a run's first steps train on)."""

    def texts(cfg) -> list[str]:
        from ponder.train.sft import _pool_steps

        return [tokenizer.decode(ex.input_ids) for step in _pool_steps(cfg, tokenizer, 0)
                for rows in step for row in rows for ex in row]

    return texts


@pytest.fixture(scope="session")
def make_checkpoint(tokenizer):
    """Save a random "test"-size model as a checkpoint: `seed` picks its weights, `overrides` set config fields."""

    def make(folder, seed: int = 0, **overrides):
        torch.manual_seed(seed)
        config = model_config("test", len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id,
                              tokenizer.pad_token_id)
        for key, value in overrides.items():
            setattr(config, key, value)
        meta = PonderMeta(efforts={"none": 0, "low": 8, "medium": 16, "high": 32}, answer_budget=6)
        return save_checkpoint(LlamaForCausalLM(config), tokenizer, meta, folder)

    return make


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, make_checkpoint):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_checkpoint):
    from ponder.model.checkpoint import load_checkpoint

    model, tok, meta, _ = load_checkpoint(tiny_checkpoint)
    return model, tok, meta


@pytest.fixture
def interrupt_after_save(monkeypatch):
    """Make `module.save_checkpoint` raise KeyboardInterrupt right after its n-th save (a kill mid-run)."""

    def arm(module, n: int) -> None:
        original, calls = module.save_checkpoint, {"n": 0}

        def save_then_die(*args, **kwargs):
            result = original(*args, **kwargs)
            calls["n"] += 1
            if calls["n"] == n:
                monkeypatch.setattr(module, "save_checkpoint", original)
                raise KeyboardInterrupt
            return result

        monkeypatch.setattr(module, "save_checkpoint", save_then_die)

    return arm
