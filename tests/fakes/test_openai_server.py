"""Check the fake OpenAI server against the official ``openai`` SDK."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import trio
from openai import AsyncOpenAI, OpenAI

from .openai_server import FakeOpenAIServer, Reply

MESSAGES: list[Any] = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "hello there fake server"},
]
ECHO = "echo: hello there fake server"
TOOL_CALL = {
    "id": "call_abc",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'},
}


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def client(server: FakeOpenAIServer) -> Iterator[OpenAI]:
    with OpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0) as c:
        yield c


def test_non_streaming_echo_and_usage(client: OpenAI, server: FakeOpenAIServer) -> None:
    resp = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert resp.id.startswith("chatcmpl-")
    assert resp.object == "chat.completion"
    assert resp.model == "gpt-4o"
    assert resp.choices[0].message.content == ECHO
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (6, 5)
    assert resp.usage.total_tokens == 11
    recorded = server.last_request
    assert recorded is not None
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.json["messages"] == MESSAGES
    assert recorded.headers["authorization"] == "Bearer sk-test"


def test_streaming_with_usage(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    texts = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert "".join(texts) == ECHO
    assert len([t for t in texts if t]) == 3
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5


def test_streaming_without_usage_and_explicit_chunks(
    client: OpenAI, server: FakeOpenAIServer
) -> None:
    server.enqueue(Reply(chunks=["a", "b", "c", "d"]), Reply(chunks=["a", "b"]))
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert all(c.usage is None and c.choices for c in chunks)
    assert [c.choices[0].delta.content for c in chunks] == ["", "a", "b", "c", "d", None]
    resp = client.chat.completions.create(model="m", messages=MESSAGES)
    assert resp.choices[0].message.content == "ab"  # text defaults to the joined chunks


def test_rate_limit_error(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.enqueue(Reply(status=429, headers={"retry-after": "0"}))
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert info.value.status_code == 429
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.response.headers["retry-after"] == "0"


@pytest.mark.parametrize(
    ("status", "exc", "code"),
    [
        (401, openai.AuthenticationError, "invalid_api_key"),
        (400, openai.BadRequestError, "context_length_exceeded"),
        (500, openai.InternalServerError, None),
    ],
)
def test_default_error_bodies(
    client: OpenAI, server: FakeOpenAIServer, status: int, exc: type[Exception], code: str | None
) -> None:
    server.enqueue(Reply(status=status))
    with pytest.raises(exc) as info:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert getattr(info.value, "code", None) == code


def test_cut_stream_raises(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.enqueue(Reply(cut_after=1))
    seen: list[str] = []
    with pytest.raises(openai.APIConnectionError) as info:
        for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            seen.append(chunk.choices[0].delta.content or "")
    print(f"cut stream raised {type(info.value).__module__}.{type(info.value).__qualname__}")
    assert "incomplete chunked read" in str(info.value.__cause__)
    assert "".join(seen) == "echo: hello "
    # The server must keep serving after an aborted connection.
    assert client.chat.completions.create(model="m", messages=MESSAGES).choices


def test_malformed_bodies_raise(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.enqueue(Reply(malformed=True), Reply(malformed=True))
    with pytest.raises((ValueError, openai.APIError)) as plain:
        client.chat.completions.create(model="m", messages=MESSAGES)
    with pytest.raises((ValueError, openai.APIError)) as streamed:
        list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    print(f"malformed body raised {type(plain.value).__qualname__}: {plain.value}")
    print(f"malformed SSE raised {type(streamed.value).__qualname__}: {streamed.value}")
    # openai 3.x does not wrap these: both surface as a bare json.JSONDecodeError.
    assert isinstance(plain.value, json.JSONDecodeError)
    assert isinstance(streamed.value, json.JSONDecodeError)


def test_models_list(client: OpenAI, server: FakeOpenAIServer) -> None:
    assert [m.id for m in client.models.list()] == ["gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo"]
    server.models = ["only-one"]
    assert [m.id for m in client.models.list()] == ["only-one"]
    assert server.last_request is not None and server.last_request.json is None


def test_tool_calls_non_streaming(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.enqueue(Reply(tool_calls=[TOOL_CALL]))
    resp = client.chat.completions.create(model="m", messages=MESSAGES)
    message = resp.choices[0].message
    assert resp.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert message.tool_calls is not None
    assert [tc.model_dump() for tc in message.tool_calls] == [TOOL_CALL]


def test_tool_calls_streaming(client: OpenAI, server: FakeOpenAIServer) -> None:
    second = {"function": {"name": "noop", "arguments": "{}"}}
    server.enqueue(Reply(text="calling", tool_calls=[TOOL_CALL, second]))
    calls: dict[int, dict[str, Any]] = {}
    content, finish = "", None
    for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
        delta = chunk.choices[0].delta
        content += delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
        for tc in delta.tool_calls or []:
            call = calls.setdefault(tc.index, {"function": {"name": "", "arguments": ""}})
            call["id"] = tc.id or call.get("id")
            call["type"] = tc.type or call.get("type")
            assert tc.function is not None
            call["function"]["name"] += tc.function.name or ""
            call["function"]["arguments"] += tc.function.arguments or ""
    assert (content, finish) == ("calling", "tool_calls")
    assert calls[0] == TOOL_CALL
    assert calls[1] == {"id": "call_1", "type": "function", **second}


def test_fifo_delay_and_reset(client: OpenAI, server: FakeOpenAIServer) -> None:
    server.enqueue(Reply(text="one", delay=0.1), Reply(text="two"))
    start = time.perf_counter()
    first = client.chat.completions.create(model="m", messages=MESSAGES)
    assert time.perf_counter() - start >= 0.1
    assert first.choices[0].message.content == "one"
    assert (
        client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content
        == "two"
    )
    server.enqueue(Reply(text="dropped"))
    server.reset()
    assert server.requests == [] and server.last_request is None
    assert (
        client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content
        == ECHO
    )


def test_keep_alive_and_unknown_path(server: FakeOpenAIServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port)
    try:
        conn.request("GET", "/v1/models")
        assert conn.getresponse().read()
        sock = conn.sock
        conn.request("POST", "/v1/nope", body=b"{}", headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 404
        assert body["error"]["type"] == "invalid_request_error"
        assert conn.sock is sock  # same TCP connection reused
    finally:
        conn.close()


def test_async_client_under_trio(server: FakeOpenAIServer) -> None:
    async def main() -> tuple[str | None, str]:
        async with AsyncOpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0) as c:
            resp = await c.chat.completions.create(model="m", messages=MESSAGES)
            stream = await c.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            text = "".join([ch.choices[0].delta.content or "" async for ch in stream])
            return resp.choices[0].message.content, text

    assert trio.run(main) == (ECHO, ECHO)
