import pytest
import torch

import ponder.train.precision as precision
from ponder.cli import main


@pytest.mark.parametrize(("probes", "expected"), [
    ({"_is_avx512_bf16_supported": True, "_is_amx_tile_supported": False}, True),
    ({"_is_avx512_bf16_supported": False, "_is_amx_tile_supported": True}, True),
    ({"_is_avx512_bf16_supported": False, "_is_amx_tile_supported": False}, False),
    ({}, False),  # a torch without the probes: float32, the safe choice
])
def test_auto_picks_bf16_only_on_cpus_that_compute_it(monkeypatch, probes, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in precision._CPU_BF16_PROBES:
        if name in probes:
            monkeypatch.setattr(torch.cpu, name, lambda v=probes[name]: v, raising=False)
        else:
            monkeypatch.delattr(torch.cpu, name, raising=False)
    assert precision.resolve_bf16(None) is expected
    assert precision.resolve_bf16(True) is True and precision.resolve_bf16(False) is False


def test_sft_logs_the_precision_it_chose(tmp_path, monkeypatch):
    from ponder.train.sft import SFTConfig, run_sft

    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    lines: list[str] = []
    run_sft(SFTConfig(out=str(tmp_path / "run"), size="test", steps=1, batch_tokens=1024, max_len=256,
                      short_rows=(128,), pool=32, eval_every=0), log=lines.append)
    assert "precision: float32 (chosen for this hardware; --bf16/--no-bf16 to force)" in lines


@pytest.mark.parametrize("stage", ["sft", "grpo"])
def test_cli_bf16_flag_reaches_the_config(monkeypatch, stage):
    import ponder.train.grpo as grpo
    import ponder.train.sft as sft

    seen = []

    def fake_run(cfg, resume, log):
        seen.append(cfg.bf16)
        return "done"

    monkeypatch.setattr(sft, "run_sft", fake_run)
    monkeypatch.setattr(grpo, "run_grpo", fake_run)
    for flags in (["--bf16"], ["--no-bf16"], []):
        assert main(["train", stage, "--out", "unused", *flags]) == 0
    assert seen == [True, False, None]
