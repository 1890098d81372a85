"""The server on loopback, driven by the official openai client."""

import asyncio
import socket
import threading
import time

import httpx
import openai
import pytest
import uvicorn

from ponder.serve.app import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    app = create_app(str(tiny_checkpoint), api_key="sekret", served_name="tiny")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    srv.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server[0] + "/v1", api_key="sekret", max_retries=0)


Q = [{"role": "user", "content": "What is 2 + 3?"}]


def test_models_and_health(server, client):
    assert [m.id for m in client.models.list().data] == ["tiny"]
    assert httpx.get(server[0] + "/health").json()["status"] == "ok"
    assert "/v1/chat/completions" in httpx.get(server[0] + "/openapi.json").json()["paths"]


def test_effort_changes_reasoning_tokens_and_thinking_is_hidden(client):
    none = client.chat.completions.create(model="tiny", messages=Q, reasoning_effort="none")
    assert none.usage.completion_tokens_details.reasoning_tokens == 0
    budget = client.chat.completions.create(model="tiny", messages=Q, extra_body={"thinking_budget": 12})
    assert 0 < budget.usage.completion_tokens_details.reasoning_tokens <= 12
    message = budget.choices[0].message
    assert getattr(message, "reasoning_content", None) is None and message.reasoning_summary.startswith("Thought")
    assert budget.usage.total_tokens == budget.usage.prompt_tokens + budget.usage.completion_tokens
    shown = client.chat.completions.create(model="tiny", messages=Q,
                                           extra_body={"thinking_budget": 12, "include_reasoning": True})
    assert shown.choices[0].message.reasoning_content == shown.choices[0].message.reasoning
    assert shown.choices[0].thinking_budget_exhausted in (True, False)


def test_streaming_equals_non_streaming_for_a_seed(client):
    kwargs = dict(model="tiny", messages=Q, temperature=1.0, seed=7, max_completion_tokens=40,
                  extra_body={"thinking_budget": 20, "include_reasoning": True})
    plain = client.chat.completions.create(**kwargs)
    content, reasoning, usage = "", "", None
    for chunk in client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kwargs):
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            content += choice.delta.content or ""
            reasoning += getattr(choice.delta, "reasoning_content", None) or ""
    assert content == plain.choices[0].message.content
    assert reasoning == plain.choices[0].message.reasoning_content
    assert usage.completion_tokens == plain.usage.completion_tokens


@pytest.mark.parametrize("kwargs,status", [
    ({"reasoning_effort": "extreme"}, 400), ({"temperature": 9.0}, 400), ({"n": 0}, 400),
    ({"max_completion_tokens": -5}, 400), ({"model": "gpt-4o"}, 404), ({"messages": []}, 400),
    ({"messages": [{"role": "user", "content": "2 + 3 = " * 3000}]}, 400), ({"stop": ["", "x"]}, 400),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, 400),
])
def test_bad_input_gets_an_openai_error(client, kwargs, status):
    body = {"model": "tiny", "messages": Q, **kwargs}
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(**body)
    assert e.value.status_code == status
    assert e.value.body["message"]


def test_wrong_or_missing_key_gets_401(server):
    bad = openai.OpenAI(base_url=server[0] + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="tiny", messages=Q)
    assert httpx.post(server[0] + "/v1/chat/completions", json={"model": "tiny", "messages": Q}).status_code == 401


def test_concurrent_requests_share_batches(server):
    app = server[1]
    before = app.state.batcher.batches

    async def main():
        async with openai.AsyncOpenAI(base_url=server[0] + "/v1", api_key="sekret", max_retries=0) as aclient:
            calls = [aclient.chat.completions.create(model="tiny", messages=Q, extra_body={"thinking_budget": 8})
                     for _ in range(8)]
            return await asyncio.gather(*calls)

    results = asyncio.run(main())
    assert len(results) == 8 and app.state.batcher.batches - before <= 3


def test_a_request_joins_a_batch_that_is_already_decoding(server, client):
    """Continuous batching: a short request sent while a long one decodes starts at once, finishes first, and
    gets the answer it gets alone."""
    app = server[1]
    alone = client.chat.completions.create(model="tiny", messages=Q, extra_body={"thinking_budget": 6})
    joined_before = app.state.batcher.joined_running
    long_body = {"model": "tiny", "messages": Q, "max_completion_tokens": 1500, "thinking_budget": 1400,
                 "min_thinking_tokens": 1400}
    finished = []

    def long_request():
        httpx.post(server[0] + "/v1/chat/completions", json=long_body, headers={"Authorization": "Bearer sekret"},
                   timeout=120)
        finished.append("long")

    thread = threading.Thread(target=long_request)
    thread.start()
    for _ in range(200):  # wait until the long request is decoding
        if httpx.get(server[0] + "/health").json()["running"] > 0:
            break
        time.sleep(0.01)
    short = client.chat.completions.create(model="tiny", messages=Q, extra_body={"thinking_budget": 6})
    finished.append("short")
    thread.join()
    assert finished == ["short", "long"] and app.state.batcher.joined_running > joined_before
    assert short.choices[0].message.content == alone.choices[0].message.content
    assert short.usage.completion_tokens == alone.usage.completion_tokens


def test_a_failed_batch_answers_every_request_with_an_error_object_and_the_server_goes_on(server, client,
                                                                                          monkeypatch):
    decoder = server[1].state.batcher._decoder

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(type(decoder), "step", broken)
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="tiny", messages=Q, extra_body={"thinking_budget": 4})
    assert "generation failed: out of memory" in str(info.value)
    monkeypatch.undo()
    ok = client.chat.completions.create(model="tiny", messages=Q, extra_body={"thinking_budget": 4})
    assert ok.choices[0].finish_reason in ("stop", "length")


def test_n_and_stop(client):
    out = client.chat.completions.create(model="tiny", messages=Q, n=3, temperature=1.0, seed=1,
                                         extra_body={"thinking_budget": 4})
    assert [c.index for c in out.choices] == [0, 1, 2]


def test_a_client_that_disconnects_frees_its_row(server):
    app = server[1]
    before = app.state.batcher.cancelled_rows
    body = {"model": "tiny", "messages": Q, "stream": True, "max_completion_tokens": 1500,
            "thinking_budget": 1400, "min_thinking_tokens": 1400, "include_reasoning": True}
    with httpx.stream("POST", server[0] + "/v1/chat/completions", json=body,
                      headers={"Authorization": "Bearer sekret"}) as response:
        for line in response.iter_lines():
            if "reasoning_content" in line:  # decoding has begun: the row is in a batch
                break
    for _ in range(100):
        if app.state.batcher.cancelled_rows > before:
            break
        time.sleep(0.05)
    assert app.state.batcher.cancelled_rows > before


def test_the_shipped_model_answers_easy_questions_over_http():
    from ponder.model.checkpoint import DEFAULT_MODEL

    app = create_app(DEFAULT_MODEL)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if srv.started:
                break
            time.sleep(0.05)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        for question, answer in (("What is 25 + 17?", "42"), ("What is 19 + 23?", "42")):
            r = client.chat.completions.create(model=DEFAULT_MODEL, reasoning_effort="high",
                                               messages=[{"role": "user", "content": question}])
            assert r.choices[0].message.content == answer
            assert r.usage.completion_tokens_details.reasoning_tokens > 0
    finally:
        srv.should_exit = True
        thread.join(timeout=5)
