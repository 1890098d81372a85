"""Continuous batching: concurrent requests are decoded together, and a request that arrives while a batch is
running joins it at the next step (vLLM's scheduling, at the scale of one CPU process).

A single worker thread owns the model and one engine `Decoder`. When idle it waits for a request, then gathers the
others that arrive within a short window so they are prefilled together; while decoding it takes whatever is
waiting (up to `max_batch` rows) between steps. Tokens are pushed to each job as they are made, for streaming; a
cancelled job (a client that went away) leaves the batch at the next step.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from dataclasses import dataclass, field

from ponder.engine import Completion, Decoder, GenerationParams


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
        self.batches = 0  # groups of requests prefilled together (each joins the running batch), for /health
        self.joined_running = 0  # requests that joined a batch already decoding (continuous batching at work)
        self.cancelled_rows = 0  # jobs dropped before or during decoding because their client went away
        self._jobs: dict[int, Job] = {}  # decoder row id -> job
        self._decoder = self._new_decoder()
        self._thread = threading.Thread(target=self._run, name="ponder-batcher", daemon=True)
        self._thread.start()

    def _new_decoder(self) -> Decoder:
        return Decoder(self.model, self.tokenizer,
                       on_token=lambda rid, token, forced: self._jobs[rid]._put(("token", token, forced)),
                       cancelled=lambda rid: self._jobs[rid].cancelled)

    def submit(self, prompt: list[int], params: GenerationParams) -> Job:
        job = Job(prompt, params, asyncio.get_running_loop())
        self.waiting.put(job)
        return job

    def _take(self, room: int, block: bool) -> list[Job]:
        """Waiting jobs, at most `room`. Blocking (the batch is empty): wait for one, then gather the others
        that arrive within the window, so that a burst of requests is prefilled in one pass."""
        jobs: list[Job] = []
        if block:
            jobs.append(self.waiting.get())
            deadline = time.monotonic() + self.window_s
            while len(jobs) < room and (remaining := deadline - time.monotonic()) > 0:
                try:
                    jobs.append(self.waiting.get(timeout=remaining))
                except queue.Empty:
                    break
        while len(jobs) < room:
            try:
                jobs.append(self.waiting.get_nowait())
            except queue.Empty:
                break
        live = [j for j in jobs if not j.cancelled]
        self.cancelled_rows += len(jobs) - len(live)
        return live

    def _run(self) -> None:
        while True:
            running = len(self._decoder)
            jobs = self._take(self.max_batch - running, block=running == 0) if running < self.max_batch else []
            try:
                if jobs:
                    ids = self._decoder.add([j.prompt for j in jobs], [j.params for j in jobs])
                    self._jobs.update(zip(ids, jobs, strict=True))
                    jobs = []
                    self.batches += 1
                    self.joined_running += len(ids) if running else 0
                for rid, completion in self._decoder.step():
                    self.cancelled_rows += completion.finish_reason == "cancelled"
                    self._jobs.pop(rid)._put(("done", completion))
            except Exception as e:  # the worker must survive a failed step; every job it holds hears why
                for j in [*self._jobs.values(), *jobs]:
                    j._put(("error", f"generation failed: {e}"))
                self._jobs.clear()
                self._decoder = self._new_decoder()


async def wait(job: Job) -> Completion:
    """The finished completion of a job (its token events are skipped)."""
    while True:
        item = await job.events.get()
        if item[0] == "done":
            return item[1]
        if item[0] == "error":
            raise RuntimeError(item[1])
