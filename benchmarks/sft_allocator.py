"""SFT speed and memory over a run's first steps under each memory allocator, side by side in one run.

glibc's heap fragments under PyTorch's aligned CPU buffers of changing sizes (sourceware bug 14581), so a run's
speed falls and its memory grows step by step. Each variant is a fresh worker process that trains the same `--steps`
steps of the cold start's data (SFTConfig's defaults, its first pools) from the same initial weights, with the
precision the CLI would choose. The variants:
  system    glibc with its defaults
  mmap128k  glibc with its mmap threshold fixed at 128 KiB (MALLOC_MMAP_THRESHOLD_), so large buffers never use the heap
  jemalloc  glibc replaced by jemalloc through LD_PRELOAD, where the library is installed
  tcmalloc  the same with tcmalloc
For each: tokens/s over the first and the last tenth of the steps and over all of them, its ratio to `system`, and
the peak resident memory. Writes benchmarks/results/sft_allocator.{json,md}. Reproduce with:
    python benchmarks/sft_allocator.py --steps 40 --variants system,mmap128k,jemalloc
"""

from __future__ import annotations

import argparse
import ctypes.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from results_io import write_results

# the names ctypes.util.find_library looks up; LD_PRELOAD takes the soname it returns
LIBRARIES = {"jemalloc": "jemalloc", "tcmalloc": "tcmalloc_minimal"}


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(steps: int) -> dict:
    """Train `steps` steps after one warm-up step; seconds and real tokens of each, and the peak memory."""
    malloc = os.environ.get("LD_PRELOAD") or ("glibc, MALLOC_MMAP_THRESHOLD_=" + os.environ["MALLOC_MMAP_THRESHOLD_"]
                                              if "MALLOC_MMAP_THRESHOLD_" in os.environ else "glibc defaults")
    import torch
    from transformers import LlamaForCausalLM

    from ponder.model.config import model_config
    from ponder.model.tokenizer import build_tokenizer
    from ponder.train.precision import resolve_bf16
    from ponder.train.sft import SFTConfig, _pool_steps
    from sft_steps import timed_steps

    cfg = SFTConfig()
    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    model = LlamaForCausalLM(model_config(cfg.size, len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id,
                                          tokenizer.pad_token_id))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    bf16 = resolve_bf16(cfg.bf16)
    pool: list = []
    k = 0
    while len(pool) < steps + 1:  # the training run's pools 0, 1, ... in its order
        pool.extend(_pool_steps(cfg, tokenizer, k))
        k += 1
    tokens, seconds = timed_steps(model, opt, pool[: steps + 1], tokenizer.pad_token_id, bf16, clip=1.0)
    return {"malloc": malloc, "bf16": bf16, "seconds": seconds, "tokens": tokens, "peak_rss_mb": _peak_rss_mb()}


def _rate(run: dict, part: slice) -> float:
    return sum(run["tokens"][part]) / sum(run["seconds"][part])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="timed steps per variant (default 40)")
    parser.add_argument("--variants", default="system,mmap128k,jemalloc,tcmalloc",
                        help="comma-separated, from system, mmap128k, jemalloc, tcmalloc (default all; a preloaded "
                             "library that is not installed is skipped)")
    parser.add_argument("--out", default="sft_allocator", help="result file stem under benchmarks/results/")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps < 10:
        parser.error("--steps must be at least 10 (a tenth of them is compared with the last tenth)")
    if args.worker:
        print(json.dumps(worker(args.steps)))
        return 0
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - {"system", "mmap128k", *LIBRARIES})
    if unknown or not variants:
        parser.error(f"unknown variants {unknown}: choose from system, mmap128k, jemalloc, tcmalloc")
    tenth = max(1, args.steps // 10)
    runs: dict[str, dict] = {}
    for name in variants:
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_MMAP_THRESHOLD_")}
        if name == "mmap128k":
            env["MALLOC_MMAP_THRESHOLD_"] = "131072"
        elif name in LIBRARIES:
            library = ctypes.util.find_library(LIBRARIES[name])
            if library is None:
                print(f"{name}: lib{LIBRARIES[name]} is not installed; skipped", file=sys.stderr)
                continue
            env["LD_PRELOAD"] = library
        print(f"{name}: {args.steps} steps ...", file=sys.stderr)
        done = subprocess.run([sys.executable, __file__, "--worker", "--steps", str(args.steps)], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            print(f"{name}: the worker failed (exit {done.returncode})", file=sys.stderr)
            return 1
        runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name}: {_rate(runs[name], slice(None)):,.0f} tok/s; first tenth "
              f"{_rate(runs[name], slice(0, tenth)):,.0f}, last {_rate(runs[name], slice(-tenth, None)):,.0f}; "
              f"peak {runs[name]['peak_rss_mb']:,.0f} MB", file=sys.stderr)
    if not runs:
        print("no variant ran", file=sys.stderr)
        return 1
    import torch

    base = runs.get("system")
    table = {}
    for name, run in runs.items():
        overall = _rate(run, slice(None))
        table[name] = {"malloc": run["malloc"], "tok_s": round(overall),
                       "tok_s_first_tenth": round(_rate(run, slice(0, tenth))),
                       "tok_s_last_tenth": round(_rate(run, slice(-tenth, None))),
                       "ratio_to_system": round(overall / _rate(base, slice(None)), 2) if base else None,
                       "peak_rss_mb": round(run["peak_rss_mb"])}
    doc = {"command": f"python benchmarks/sft_allocator.py --steps {args.steps}"
                      + (f" --variants {args.variants}" if args.variants != parser.get_default("variants") else ""),
           "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                       "libc": " ".join(platform.libc_ver())},
           "steps": args.steps, "bf16": next(iter(runs.values()))["bf16"], "variants": table}
    lines = ["# SFT speed and memory by allocator", "", f"`{doc['command']}`: {args.steps} steps of the cold "
             "start's data from the same weights, each variant in a fresh process.", "",
             "| variant | tok/s | first tenth | last tenth | ratio to system | peak memory (MB) |",
             "|---|---|---|---|---|---|"]
    for name, row in table.items():
        ratio = "" if row["ratio_to_system"] is None else f"{row['ratio_to_system']:.2f}"
        lines.append(f"| {name} | {row['tok_s']:,} | {row['tok_s_first_tenth']:,} | {row['tok_s_last_tenth']:,} | "
                     f"{ratio} | {row['peak_rss_mb']:,} |")
    path = write_results(args.out, doc, "\n".join(lines))
    print("\n".join(lines[4:]))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
