"""`ponder train grpo --engine trl`: two steps of TRL's GRPOTrainer on CPU with ponder's rewards."""

import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

pytest.importorskip("trl")

from ponder.model.checkpoint import load_checkpoint, resolve_model  # noqa: E402
from ponder.train.grpo import GRPOConfig  # noqa: E402
from ponder.train.trl_grpo import problem_rows, run_trl_grpo, trl_config  # noqa: E402


def _cfg(out, steps=2):
    # The shipped SFT model on level-1 sums (~47 thinking tokens): room to finish, and a hot temperature so that
    # the G samples of a problem differ in reward; all-equal groups have zero advantage and leave the weights as
    # they are (measured: at 40 tokens or T=0.7 every group was uniform).
    return GRPOConfig(init="ponder-tiny-sft", out=str(out), steps=steps, prompts=2, group=4, lr=1e-4,
                      max_thinking=64, answer_budget=8, temperature=1.5, bf16=False, save_every=1,
                      tasks=("arithmetic",), curriculum=((0, (1,)),))


def test_two_trl_steps_change_the_weights_and_save_a_ponder_checkpoint(tmp_path):
    final = run_trl_grpo(_cfg(tmp_path / "run"), log=lambda m: None)
    before = load_file(resolve_model("ponder-tiny-sft") / "model.safetensors")
    after = load_file(final / "model.safetensors")
    assert any(not torch.equal(before[k].float(), after[k].float()) for k in before)
    _, _, meta, _ = load_checkpoint(final)
    assert meta.parent == "ponder-tiny-sft" and meta.recipe["engine"] == "trl"
    assert "reward" in meta.recipe["log"]


def test_a_killed_trl_run_resumes_from_its_checkpoint(tmp_path):
    cfg = _cfg(tmp_path / "run")
    run_trl_grpo(cfg, log=lambda m: None)
    shutil.rmtree(tmp_path / "run" / "checkpoint-2")  # as if killed after the first step's checkpoint
    shutil.rmtree(tmp_path / "run" / "final")
    final = run_trl_grpo(cfg, resume=True, log=lambda m: None)
    assert (tmp_path / "run" / "checkpoint-2").exists() and (final / "model.safetensors").exists()


def test_settings_map_to_trl():
    cfg = GRPOConfig(prompts=3, group=4, max_thinking=100, answer_budget=20, norm="sequence", scale_std=True,
                     steps=2, tasks=("countdown",), curriculum=((0, (2,)), (1, (5,))))
    args = trl_config(cfg)
    assert args.num_generations == 4 and args.per_device_train_batch_size == 12
    assert args.max_completion_length == 120 and args.loss_type == "grpo" and args.scale_rewards == "group"
    assert args.chat_template_kwargs == {"enable_thinking": True} and not args.gradient_checkpointing
    rows = problem_rows(cfg)
    assert len(rows) == 6 and [r["problem"].count('"level": 5') for r in rows] == [0, 0, 0, 1, 1, 1]
    assert rows[0]["prompt"][0]["role"] == "user"


def test_cli_refuses_vllm_without_trl_engine(tmp_path):
    run = subprocess.run([sys.executable, "-m", "ponder.cli", "train", "grpo", "--vllm", "--steps", "1",
                          "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert run.returncode == 2 and "--vllm needs --engine trl" in run.stderr
