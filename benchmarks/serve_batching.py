"""Throughput of `ponder serve` with 16 concurrent clients against the same requests sent one after another, and
the server's peak memory (VmHWM) over the run.

Starts the server on loopback in a subprocess and sends greedy requests at effort high (countdown and arithmetic
problems of levels 3-5), counting completion tokens per second of wall time. Two measures in one run:
- closed loop (the headline): each of the 16 clients sends its requests one after another, as a chat user does,
  so requests arrive while others decode; continuous batching lets them join the running batch;
- one burst: the 16 requests arrive at once and the batch lasts as long as the longest answer (no later arrivals
  to fill the freed rows, so this ratio is bounded by total tokens / longest answer).
Writes benchmarks/results/serve_batching.json. Reproduce with:
    python benchmarks/serve_batching.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai

from ponder.model.checkpoint import DEFAULT_MODEL
from ponder.tasks import get_task
from results_io import write_results


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _run(base: str, model: str, per_client: list[list[str]], concurrent: bool) -> tuple[int, float]:
    """Completion tokens and seconds: each client's questions in order; the clients at once or one by one."""
    async with openai.AsyncOpenAI(base_url=base + "/v1", api_key="x", max_retries=0, timeout=600) as client:
        async def one(q: str) -> int:
            r = await client.chat.completions.create(model=model, messages=[{"role": "user", "content": q}],
                                                     reasoning_effort="high")
            return r.usage.completion_tokens

        async def session(questions: list[str]) -> int:
            return sum([await one(q) for q in questions])

        start = time.perf_counter()
        if concurrent:
            tokens = await asyncio.gather(*(session(qs) for qs in per_client))
        else:
            tokens = [await session(qs) for qs in per_client]
        return sum(tokens), time.perf_counter() - start


def _measure(base: str, model: str, per_client: list[list[str]]) -> dict:
    seq_tokens, seq_s = asyncio.run(_run(base, model, per_client, concurrent=False))
    con_tokens, con_s = asyncio.run(_run(base, model, per_client, concurrent=True))
    return {"requests": sum(len(qs) for qs in per_client),
            "sequential_tokens_per_s": round(seq_tokens / seq_s, 1),
            "concurrent_tokens_per_s": round(con_tokens / con_s, 1),
            "ratio": round((con_tokens / con_s) / (seq_tokens / seq_s), 2),
            "sequential_seconds": round(seq_s, 2), "concurrent_seconds": round(con_s, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model to serve (default {DEFAULT_MODEL})")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--requests-per-client", type=int, default=4,
                        help="requests each client sends one after another in the closed-loop measure (default 4)")
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
        count = args.clients * args.requests_per_client
        problems = [p for level in (3, 4, 5) for t in ("countdown", "arithmetic")
                    for p in get_task(t).sample_many(99, level, -(-count // 6))]
        questions = [p.prompt for p in problems]
        random.Random(0).shuffle(questions)  # every client gets a mix of tasks and levels
        closed_loop = [questions[c::args.clients][:args.requests_per_client] for c in range(args.clients)]
        burst = [[q] for q in questions[:args.clients]]
        doc = {"model": args.model, "clients": args.clients,
               "closed_loop": _measure(base, name, closed_loop), "burst": _measure(base, name, burst),
               "server_peak_rss_mib": round(_peak_rss_mib(proc.pid), 1),
               "command": "python benchmarks/serve_batching.py " + " ".join(sys.argv[1:])}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(json.dumps(doc))
    write_results("serve_batching", doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
