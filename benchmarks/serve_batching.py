"""Throughput of `ponder serve` with 16 concurrent clients against the same 16 requests sent one after another,
and the server's peak memory (VmHWM) over the run.

Starts the server on loopback in a subprocess, sends greedy requests at effort high (countdown and arithmetic
problems of levels 3-5), and counts completion tokens per second of wall time. Writes
benchmarks/results/serve_batching.json. Reproduce with:
    python benchmarks/serve_batching.py --model ponder-tiny-sft
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai

from ponder.tasks import get_task

RESULTS = Path(__file__).resolve().parent / "results"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _run(base: str, model: str, questions: list[str], concurrent: bool) -> tuple[int, float]:
    async with openai.AsyncOpenAI(base_url=base + "/v1", api_key="x", max_retries=0, timeout=600) as client:
        async def one(q: str) -> int:
            r = await client.chat.completions.create(model=model, messages=[{"role": "user", "content": q}],
                                                     reasoning_effort="high")
            return r.usage.completion_tokens

        start = time.perf_counter()
        if concurrent:
            tokens = await asyncio.gather(*(one(q) for q in questions))
        else:
            tokens = [await one(q) for q in questions]
        return sum(tokens), time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="ponder-tiny-sft")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "ponder.cli", "serve", "--model", args.model, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                name = httpx.get(base + "/health", timeout=1).json()["model"]
                break
            except (httpx.HTTPError, ValueError):
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        problems = [p for level in (3, 4, 5) for t in ("countdown", "arithmetic")
                    for p in get_task(t).sample_many(99, level, 3)]
        questions = [p.prompt for p in problems][:args.clients]
        seq_tokens, seq_s = asyncio.run(_run(base, name, questions, concurrent=False))
        con_tokens, con_s = asyncio.run(_run(base, name, questions, concurrent=True))
        doc = {"model": args.model, "clients": len(questions),
               "sequential_tokens_per_s": round(seq_tokens / seq_s, 1),
               "concurrent_tokens_per_s": round(con_tokens / con_s, 1),
               "ratio": round((con_tokens / con_s) / (seq_tokens / seq_s), 2),
               "sequential_seconds": round(seq_s, 2), "concurrent_seconds": round(con_s, 2),
               "server_peak_rss_mib": round(_peak_rss_mib(proc.pid), 1),
               "command": "python benchmarks/serve_batching.py " + " ".join(sys.argv[1:])}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(json.dumps(doc))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve_batching.json").write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
