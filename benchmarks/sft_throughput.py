"""SFT training throughput per row layout and precision, side by side on the same examples in one run.

Every layout trains the same steps (the shipped recipe's data, pool 0: `batch_tokens` of examples a step) from the
same initial weights: one warm-up step, then `--steps` timed ones; tokens/s counts real (unpadded) tokens. The
layouts alternate within each repeat and ratios are taken per repeat against the one-width layout (640), since this
machine is noisy. bf16 autocast is timed on `--bf16-steps` steps of the default layout (emulated bf16 is slow
enough that one step says it). Writes benchmarks/results/sft_throughput.json. Reproduce with:
    python benchmarks/sft_throughput.py --steps 4 --repeats 3 --bf16-steps 1
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
from dataclasses import replace

import torch
from transformers import LlamaForCausalLM

from ponder.model.config import model_config
from ponder.model.tokenizer import build_tokenizer
from ponder.train.precision import native_bf16
from ponder.train.sft import SFTConfig, _pool_steps
from results_io import write_results
from sft_steps import timed_steps

# the shipped model's single width, and narrower rows added step by step; the last is SFTConfig's default
LAYOUTS = {"640": (), "320+640": (320,), "160+320+640": (160, 320), "96+192+384+640": (96, 192, 384),
           "64+128+192+320+448+640": (64, 128, 192, 320, 448)}


def _time_steps(cfg: SFTConfig, tokenizer, initial: LlamaForCausalLM, n: int, bf16: bool) -> tuple[int, float]:
    """Tokens and seconds of n steps after one warm-up step, from a copy of the same initial model every time."""
    model = copy.deepcopy(initial)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    tokens, seconds = timed_steps(model, opt, _pool_steps(cfg, tokenizer, 0)[: n + 1], tokenizer.pad_token_id, bf16)
    return sum(tokens), sum(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per layout and repeat (default 4)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over all layouts (default 2)")
    parser.add_argument("--bf16-steps", type=int, default=1, help="timed bf16 steps, 0 to skip (default 1)")
    parser.add_argument("--out", default="sft_throughput", help="result file stem under benchmarks/results/")
    args = parser.parse_args()
    if args.steps < 1 or args.repeats < 1 or args.bf16_steps < 0:
        parser.error("--steps and --repeats must be >= 1, --bf16-steps >= 0")
    tokenizer = build_tokenizer()
    base = SFTConfig()
    torch.manual_seed(0)
    initial = LlamaForCausalLM(model_config(base.size, len(tokenizer), tokenizer.bos_token_id,
                                            tokenizer.eos_token_id, tokenizer.pad_token_id))
    runs: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    ratios: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    for r in range(args.repeats):
        for name, short in LAYOUTS.items():
            tokens, seconds = _time_steps(replace(base, short_rows=short), tokenizer, initial, args.steps, False)
            runs[name].append(tokens / seconds)
            print(f"repeat {r + 1}: {name:>16}  {tokens / seconds:7,.0f} tok/s  ({seconds / args.steps:.2f} s/step)",
                  file=sys.stderr)
        for name in LAYOUTS:
            ratios[name].append(runs[name][-1] / runs["640"][-1])
    default = "+".join(str(w) for w in base.row_widths)
    doc = {
        "command": f"python benchmarks/sft_throughput.py --steps {args.steps} --repeats {args.repeats} "
                   f"--bf16-steps {args.bf16_steps}",
        "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                    "cpu_capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": native_bf16()},
        "model": base.size, "batch_tokens": base.batch_tokens, "default_layout": default,
        "float32": {name: {"tok_s": round(statistics.median(v)),
                           "ratio_to_640": round(statistics.median(ratios[name]), 2)} for name, v in runs.items()},
    }
    if args.bf16_steps:
        fp32 = _time_steps(base, tokenizer, initial, args.bf16_steps, False)
        bf16 = _time_steps(base, tokenizer, initial, args.bf16_steps, True)
        doc["bf16_autocast"] = {"layout": default, "steps": args.bf16_steps,
                                "seconds_per_step": round(bf16[1] / args.bf16_steps, 2),
                                "float32_seconds_per_step": round(fp32[1] / args.bf16_steps, 2),
                                "slowdown": round((bf16[1] / bf16[0]) / (fp32[1] / fp32[0]), 2)}
    path = write_results(args.out, doc)
    for name, row in doc["float32"].items():
        print(f"{name:>16}  {row['tok_s']:7,} tok/s  {row['ratio_to_640']:.2f}x")
    if "bf16_autocast" in doc:
        b = doc["bf16_autocast"]
        print(f"bf16 autocast ({default}): {b['seconds_per_step']} s/step against {b['float32_seconds_per_step']} "
              f"in float32 ({b['slowdown']}x per token)")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
