"""Dynamic batching: requests that arrive together are decoded together in one engine batch.

A single worker thread owns the model. It takes the first waiting job, gathers every other job that arrives within
a short window (up to `max_batch`), and runs them as one batch, each with its own settings and seed. Tokens are
pushed to each job as they are made, for streaming; a cancelled job (a client that went away) leaves the batch at
the next step. Not continuous batching: a job arriving mid-batch waits for the next one.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from dataclasses import dataclass, field

from ponder.engine import Completion, GenerationParams, generate


@dataclass
class Job:
    prompt: list[int]
    params: GenerationParams
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue = field(default_factory=asyncio.Queue)  # ("token", id, forced) ... ("done", Completion)
    cancelled: bool = False

    def _put(self, item: tuple) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, item)


class Batcher:
    def __init__(self, model, tokenizer, max_batch: int = 32, window_s: float = 0.05):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch, self.window_s = max_batch, window_s
        self.waiting: queue.Queue[Job] = queue.Queue()
        self.batches = 0  # batches run, for /health, tests and logs
        self.cancelled_rows = 0  # jobs dropped before or during decoding because their client went away
        self._thread = threading.Thread(target=self._run, name="ponder-batcher", daemon=True)
        self._thread.start()

    def submit(self, prompt: list[int], params: GenerationParams) -> Job:
        job = Job(prompt, params, asyncio.get_running_loop())
        self.waiting.put(job)
        return job

    def _gather(self) -> list[Job]:
        jobs = [self.waiting.get()]
        deadline = time.monotonic() + self.window_s
        while len(jobs) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                jobs.append(self.waiting.get(timeout=max(remaining, 0)) if remaining > 0
                            else self.waiting.get_nowait())
            except queue.Empty:
                break
        live = [j for j in jobs if not j.cancelled]
        self.cancelled_rows += len(jobs) - len(live)
        return live

    def _run(self) -> None:
        while True:
            jobs = self._gather()
            if not jobs:
                continue
            self.batches += 1
            self._decode(jobs)

    def _decode(self, jobs: list[Job]) -> None:
        try:
            completions = generate(
                self.model, self.tokenizer, [j.prompt for j in jobs], [j.params for j in jobs],
                on_token=lambda i, token, forced: jobs[i]._put(("token", token, forced)),
                cancelled=lambda i: jobs[i].cancelled)
        except Exception as e:  # the worker must survive a failed batch; each job hears why
            for j in jobs:
                j._put(("error", f"generation failed: {e}"))
            return
        self.cancelled_rows += sum(c.finish_reason == "cancelled" for c in completions)
        for j, c in zip(jobs, completions, strict=True):
            j._put(("done", c))


async def wait(job: Job) -> Completion:
    """The finished completion of a job (its token events are skipped)."""
    while True:
        item = await job.events.get()
        if item[0] == "done":
            return item[1]
        if item[0] == "error":
            raise RuntimeError(item[1])
