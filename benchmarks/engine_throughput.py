"""Throughput of ponder's engine against transformers' `generate` on the same model, prompts and batch.

Both decode greedily from the same prompts until end of turn (ponder with a thinking budget no trace reaches, so
its budget logic runs but never cuts); tokens/s counts generated tokens up to each row's end. The two engines
alternate within one run and the ratio is taken per repeat, since this machine is noisy. Writes
benchmarks/results/engine_throughput.json. Reproduce with:
    python benchmarks/engine_throughput.py --model ponder-tiny-sft --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

from ponder.engine import GenerationParams, generate
from ponder.model.checkpoint import load_checkpoint
from ponder.tasks import get_task
from ponder.train.data import prompt_ids
from results_io import write_results


def _prompts(tokenizer, n: int) -> list[list[int]]:
    problems = get_task("countdown").sample_many(5, 4, n) + get_task("arithmetic").sample_many(5, 4, n)
    return [prompt_ids(tokenizer, p.prompt) for p in problems[::2][:n]]


def _ponder(model, tok, prompts, max_new: int) -> tuple[int, float]:
    start = time.perf_counter()
    out = generate(model, tok, prompts, GenerationParams(max_thinking=max_new, answer_budget=48,
                                                         max_new_tokens=max_new + 48))
    return sum(len(c.token_ids) for c in out), time.perf_counter() - start


@torch.inference_mode()
def _hf(model, tok, prompts, max_new: int) -> tuple[int, float]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), tok.pad_token_id)
    attn = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p)
        attn[i, width - len(p):] = 1
    start = time.perf_counter()
    out = model.generate(input_ids=ids, attention_mask=attn, max_new_tokens=max_new + 48, do_sample=False,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    seconds = time.perf_counter() - start
    new = out[:, width:]
    tokens = 0
    for row in new.tolist():
        tokens += row.index(tok.eos_token_id) + 1 if tok.eos_token_id in row else len(row)
    return tokens, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ponder-tiny-sft")
    parser.add_argument("--batches", default="1,16,64")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-new", type=int, default=1024)
    args = parser.parse_args()
    model, tok, _, _ = load_checkpoint(args.model)
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        prompts = _prompts(tok, batch)
        _ponder(model, tok, prompts[:1], 8)  # warm-up
        ratios, ours, theirs = [], [], []
        for _ in range(args.repeats):
            n1, s1 = _ponder(model, tok, prompts, args.max_new)
            n2, s2 = _hf(model, tok, prompts, args.max_new)
            ours.append(n1 / s1)
            theirs.append(n2 / s2)
            ratios.append((n1 / s1) / (n2 / s2))
        row = {"batch": batch, "ponder_tokens_per_s": round(statistics.median(ours)),
               "hf_generate_tokens_per_s": round(statistics.median(theirs)),
               "ratio": round(statistics.median(ratios), 3)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    doc = {"model": args.model, "threads": torch.get_num_threads(), "repeats": args.repeats,
           "command": "python benchmarks/engine_throughput.py " + " ".join(sys.argv[1:]), "results": rows}
    write_results("engine_throughput", doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
