"""The FastAPI app: `/v1/chat/completions` (plain and streamed), `/v1/models`, `/health`.

Thinking is hidden by default, as in o1: the answer is `message.content`, and with `include_reasoning` the thinking
comes as `message.reasoning_content` and `message.reasoning` (the field vLLM uses now), streamed as
`delta.reasoning_content` / `delta.reasoning`. A one-line `reasoning_summary` is always in the message. When the
thinking budget cut the thinking, the choice carries `"thinking_budget_exhausted": true` and finish_reason stays
OpenAI's (`stop` or `length`), so that clients that switch on it keep working.
Errors are OpenAI error objects: 400 for bad parameters or a prompt over the context, 401 for a wrong key,
404 for an unknown model; bad input never reaches the engine.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ponder.ask import load
from ponder.effort_prompt import effort_messages, stated_effort
from ponder.engine import GenerationParams
from ponder.engine.parse import ReasoningParser
from ponder.engine.stream import IncrementalDecoder
from ponder.engine.summary import summary_line
from ponder.recheck import rechecks_for
from ponder.serve.batcher import Batcher, wait
from ponder.serve.schemas import ChatRequest


class APIError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code


def _error(status: int, message: str, kind: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status)


def create_app(model: str, api_key: str | None = None, max_batch: int = 32, served_name: str | None = None) -> FastAPI:
    lm, tokenizer, meta, _ = load(model)
    name = served_name or model.rstrip("/").split("/")[-1]
    batcher = Batcher(lm, tokenizer, max_batch=max_batch)
    context = lm.config.max_position_embeddings
    app = FastAPI(title="ponder", version="0.1.0",
                  description="OpenAI-compatible chat completions with reasoning effort and hidden thinking.")
    app.state.batcher = batcher

    @app.exception_handler(APIError)
    async def _api_error(_: Request, e: APIError) -> JSONResponse:
        return _error(e.status, e.message, e.kind, e.param, e.code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0]
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return _error(400, f"{param or 'body'}: {first.get('msg', 'invalid value')}", "invalid_request_error", param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        return _error(e.status_code, str(e.detail), "invalid_request_error")

    def _check_key(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given, api_key):
            raise APIError(401, "invalid or missing API key", "invalid_api_key", code="invalid_api_key")

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": name, "batches": batcher.batches, "running": len(batcher._decoder),
                "joined_running": batcher.joined_running}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        _check_key(request)
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "ponder"}]}

    def _settings(req: ChatRequest) -> tuple[list[int], list[GenerationParams], str]:
        if req.model not in (name, model):
            raise APIError(404, f"the model {req.model!r} does not exist; this server has {name!r}",
                           "invalid_request_error", "model", "model_not_found")
        effort = req.reasoning_effort or "high"
        if req.thinking_budget is not None:
            budget = req.thinking_budget
        elif effort == "minimal":
            budget = meta.efforts["low"] // 4
        else:
            budget = meta.efforts[effort]
        total = req.max_completion_tokens or req.max_tokens or budget + meta.answer_budget + 8
        answer = min(meta.answer_budget, max(1, total - 3))
        budget = max(0, min(budget, total - answer - 3))
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()}
                    for m in req.messages]
        if messages[-1]["role"] != "user":
            raise APIError(400, "the last message must be the user's", param="messages")
        # `minimal` thinks at a quarter of `low`'s budget: the model is told `low`, its shortest effort
        said = "low" if effort == "minimal" else effort
        messages = effort_messages(messages, stated_effort(meta.effort_prompt, said, req.thinking_budget))
        prompt = list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                    return_dict=False))
        if len(prompt) + total > context:
            raise APIError(400, f"the prompt ({len(prompt)} tokens) and max completion ({total} tokens) exceed the "
                                f"context of {context} tokens", param="messages", code="context_length_exceeded")
        looks = rechecks_for(meta.rechecks, effort, req.thinking_budget)
        params = [GenerationParams(max_thinking=budget, min_thinking=min(req.min_thinking_tokens, budget),
                                   answer_budget=answer, max_new_tokens=total, temperature=req.temperature,
                                   rechecks=looks, vote=meta.recheck_vote,
                                   top_p=req.top_p, seed=None if req.seed is None else req.seed + i)
                  for i in range(req.n)]
        return prompt, params, effort

    @app.post("/v1/chat/completions")
    async def chat(req: ChatRequest, request: Request):
        _check_key(request)
        prompt, params, effort = _settings(req)
        jobs = [batcher.submit(prompt, p) for p in params]
        rid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if req.stream:
            return StreamingResponse(_stream(req, jobs, prompt, rid, created), media_type="text/event-stream")
        try:
            completions = [await wait(j) for j in jobs]
        except RuntimeError as e:  # the batch this request was in failed (not the request's fault)
            raise APIError(500, str(e), "server_error") from None
        finally:
            for j in jobs:
                j.cancelled = True
        choices = [_choice(i, c, req) for i, c in enumerate(completions)]
        return {"id": rid, "object": "chat.completion", "created": created, "model": name, "choices": choices,
                "usage": _usage(len(prompt), completions), "reasoning_effort": effort}

    def _choice(i: int, c, req: ChatRequest) -> dict:
        answer, stopped = _apply_stop(c.answer, req.stop)
        message = {"role": "assistant", "content": answer,
                   "reasoning_summary": summary_line(c.thinking, c.thinking_tokens, c.seconds,
                                                     c.finish_reason == "thinking_budget")}
        if req.include_reasoning:
            message["reasoning_content"] = message["reasoning"] = c.thinking
        return {"index": i, "message": message, "finish_reason": _finish(c.finish_reason, stopped),
                "thinking_budget_exhausted": c.finish_reason == "thinking_budget"}

    async def _stream(req: ChatRequest, jobs, prompt, rid, created):
        head = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": name}

        def chunk(index: int, delta: dict, finish: str | None = None, **extra) -> str:
            body = {**head, "choices": [{"index": index, "delta": delta, "finish_reason": finish, **extra}]}
            return f"data: {json.dumps(body)}\n\n"

        completions = []
        try:
            for index, job in enumerate(jobs):
                yield chunk(index, {"role": "assistant", "content": ""})
                decoder, parser = IncrementalDecoder(tokenizer), ReasoningParser()
                raw, sent, stopped = "", 0, False
                while True:
                    kind, *payload = await job.events.get()
                    if kind == "error":
                        yield f"data: {json.dumps({'error': {'message': payload[0], 'type': 'server_error'}})}\n\n"
                        return
                    if kind == "done":
                        completion = payload[0]
                        break
                    if stopped or payload[0] == tokenizer.eos_token_id:
                        continue
                    delta = parser.feed(decoder.push(payload[0]))
                    if delta.thinking and req.include_reasoning:
                        yield chunk(index, {"reasoning_content": delta.thinking, "reasoning": delta.thinking})
                    if delta.answer:
                        raw += delta.answer
                        visible, stopped = _visible(raw, req.stop)
                        if len(visible) > sent:
                            yield chunk(index, {"content": visible[sent:]})
                            sent = len(visible)
                        job.cancelled = stopped
                completions.append(completion)
                final, cut = _apply_stop(completion.answer, req.stop)
                if len(final) > sent:
                    yield chunk(index, {"content": final[sent:]})
                budget_hit = completion.finish_reason == "thinking_budget"
                yield chunk(index, {}, _finish(completion.finish_reason, cut or stopped),
                            thinking_budget_exhausted=budget_hit,
                            reasoning_summary=summary_line(completion.thinking, completion.thinking_tokens,
                                                           completion.seconds, budget_hit))
            if req.stream_options and req.stream_options.include_usage:
                yield f"data: {json.dumps({**head, 'choices': [], 'usage': _usage(len(prompt), completions)})}\n\n"
            yield "data: [DONE]\n\n"
        finally:
            for j in jobs:
                j.cancelled = True  # a client that went away frees its rows at the next engine step

    return app


def _apply_stop(answer: str, stops: list[str]) -> tuple[str, bool]:
    cut = min((answer.find(s) for s in stops if s in answer), default=-1)
    return (answer[:cut], True) if cut >= 0 else (answer, False)


def _visible(raw: str, stops: list[str]) -> tuple[str, bool]:
    """What of a streamed answer can be sent so far: always a prefix of the final (stripped, stop-cut) answer,
    so it holds back trailing whitespace and any ending that may be the start of a stop string."""
    text = raw.lstrip()
    cut, stopped = _apply_stop(text, stops)
    if stopped:
        return cut, True
    hold = max((n for s in stops for n in range(1, len(s)) if text.endswith(s[:n])), default=0)
    return text[:len(text) - hold].rstrip(), False


def _finish(reason: str, stopped: bool) -> str:
    if stopped:
        return "stop"
    return "length" if reason == "length" else "stop"


def _usage(prompt_tokens: int, completions) -> dict:
    completion_tokens = sum(len(c.token_ids) for c in completions)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens_details": {"reasoning_tokens": sum(c.thinking_tokens for c in completions)}}
