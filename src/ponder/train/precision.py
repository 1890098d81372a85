"""Whether training runs under bf16 autocast: chosen from what the hardware does natively, unless the caller says.

bf16 autocast pays only where the hardware has bf16 arithmetic (CUDA GPUs since Ampere; CPUs with AVX512-BF16 or
AMX). Elsewhere oneDNN emulates it and it is far slower than float32: measured on a 2-core AVX2 EPYC, one SFT step
of the tiny model took 78 s under bf16 autocast against 3.3 s in float32, 23.7x per token
(benchmarks/results/sft_throughput.json). So `None` (auto) picks bf16 only where it is native.
"""

from __future__ import annotations

import torch

# Private probes of torch.cpu (there is no public one for bf16); absent ones count as "no", so a torch that drops
# them falls back to float32, the safe choice.
_CPU_BF16_PROBES = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")


def native_bf16() -> bool:
    """True when the device training runs on (CUDA if present, else the CPU) computes bf16 natively."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in _CPU_BF16_PROBES)


def resolve_bf16(requested: bool | None) -> bool:
    """The bf16 autocast setting to use: the caller's choice, or `native_bf16()` when it is None."""
    return native_bf16() if requested is None else requested


def precision_line(requested: bool | None) -> str:
    """The log line a training run starts with: the precision it uses and whether it was chosen for the hardware."""
    used = "bf16 autocast" if resolve_bf16(requested) else "float32"
    chosen = " (chosen for this hardware; --bf16/--no-bf16 to force)" if requested is None else ""
    return f"precision: {used}{chosen}"
