"""A local fake OpenAI server speaking the Chat Completions wire format.

The server runs a standard-library ``ThreadingHTTPServer`` in a background
thread, so it works from synchronous code and from any event loop (asyncio or
trio).  Replies are scripted with :class:`Reply` objects consumed FIFO; when the
queue is empty the server echoes the last user message.

Example::

    with FakeOpenAIServer() as server:
        server.enqueue(Reply(status=429, headers={"retry-after": "0"}))
        client = OpenAI(api_key="sk-test", base_url=server.base_url)
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from fakes import structured_checks
from fakes._server import ThreadedServer
from fakes.openai_checks import REASONING_MODELS, refusal

__all__ = ["FakeOpenAIServer", "RecordedRequest", "Reply", "invalid_request"]

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo")

#: Default ``(message, type, code)`` of the error body for a given status.
_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Maximum context length exceeded.", "invalid_request_error", "context_length_exceeded"),
    401: ("Incorrect API key provided: sk-test.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to access this resource.", "invalid_request_error", None),
    404: ("The model does not exist.", "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The engine is currently overloaded.", "server_error", None),
}


@dataclass
class RecordedRequest:
    """One HTTP request received by the fake server."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any = None


@dataclass
class Reply:
    """A scripted answer to one ``POST /v1/chat/completions`` request.

    ``text`` defaults to the joined ``chunks`` if given, else to
    ``"echo: <last user message>"`` (no content at all when ``tool_calls`` is
    set); ``chunks`` defaults to ~3 word-boundary pieces of ``text``.
    ``finish_reason`` defaults to ``"tool_calls"`` when ``tool_calls`` is set,
    else ``"stop"``.  ``delay`` is slept before any byte is sent.  ``cut_after``
    closes a stream abruptly after that many delta chunks (content or tool-call
    pieces; the role chunk is free); ``chunk_delay`` is slept before each of
    them.  ``malformed`` sends a truncated JSON body, a non-JSON SSE ``data:``
    line right after the role chunk, or (with a non-200 ``status``) an HTML
    error body.
    """

    text: str | None = None
    chunks: list[str] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error_body: dict[str, Any] | None = None
    delay: float = 0.0
    cut_after: int | None = None
    malformed: bool = False
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    usage: dict[str, int] | None = None
    #: Report no usage at all, as llama.cpp's server does (it ignores
    #: ``stream_options.include_usage``, and some servers omit it unstreamed too).
    no_usage: bool = False
    chunk_delay: float = 0.0
    #: ``reasoning_content`` as OpenAI-compatible servers (DeepSeek, vLLM) send it.
    reasoning: str | None = None
    #: ``completion_tokens_details.reasoning_tokens`` of a reasoning model
    #: (default: 16, 32 or 64 for a low, medium or high ``reasoning_effort``).
    reasoning_tokens: int | None = None
    #: A refusal instead of content, as a model sends it for structured output it declines.
    refusal: str | None = None


def _error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Build an OpenAI-style error body appropriate to ``status``."""
    default_type = "server_error" if status >= 500 else "invalid_request_error"
    msg, kind, code = _ERRORS.get(status, (f"HTTP error {status}.", default_type, None))
    return {"error": {"message": message or msg, "type": kind, "param": None, "code": code}}


def invalid_request(body: dict[str, Any]) -> str | None:
    """The real API's 400 message for a request it refuses, or None if it is valid."""
    problem = refusal(body)
    return None if problem is None else problem[0]


def _content_text(content: Any) -> str:
    """Flatten message content (a string or a list of content parts) to text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and "text" in p)
    return ""


def _split(text: str, pieces: int = 3) -> list[str]:
    """Split ``text`` into about ``pieces`` parts on word boundaries (lossless)."""
    words = [w for w in re.split(r"(?<=\s)(?=\S)", text) if w]
    size = max(1, -(-len(words) // pieces))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


class _Handler(BaseHTTPRequestHandler):
    """Request handler; the owning :class:`FakeOpenAIServer` is ``server.fake``."""

    protocol_version = "HTTP/1.1"
    wbufsize = -1  # buffer writes: headers + body go out in one send on flush
    server: Any  # the fakes._server HTTP server; .fake is the FakeOpenAIServer

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_message(self, *args: Any) -> None:
        """Silence per-request logging."""

    def _dispatch(self) -> None:
        """Record the request, then route it to an endpoint."""
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        fake = self.server.fake
        headers = {key.lower(): value for key, value in self.headers.items()}
        fake._record(RecordedRequest(self.command, self.path, headers, body))
        path = self.path.split("?", 1)[0].rstrip("/")
        if self.command == "GET" and path == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models
            ]
            self._send_json(200, {"object": "list", "data": data})
        elif self.command == "POST" and path == "/v1/chat/completions":
            self._chat(body if isinstance(body, dict) else {}, fake._next_reply())
        else:
            self._send_json(404, _error_body(404, f"Invalid URL ({self.command} {self.path})"))

    do_GET = do_POST = _dispatch

    def _begin(self, status: int, headers: dict[str, str]) -> None:
        """Send the status line and headers (buffered until the next flush)."""
        self.send_response(status)
        for key, value in {"x-request-id": f"req_{uuid.uuid4().hex}", **headers}.items():
            self.send_header(key, value)
        self.end_headers()

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        length = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        self._begin(status, {**length, **(headers or {})})
        self.wfile.write(data)

    def _chat(self, body: dict[str, Any], reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        schema_problem = structured_checks.openai(body)
        problem = refusal(body) or (schema_problem and (schema_problem, "response_format", None))
        if problem is not None:  # what the real API refuses, it refuses here too
            message, param, code = problem
            error = {"message": message, "type": "invalid_request_error", "param": param}
            self._send_json(400, {"error": {**error, "code": code}})
            return
        if reply.status != 200:
            error = reply.error_body or _error_body(reply.status)
            self._send_json(reply.status, b"<html>" if reply.malformed else error, reply.headers)
            return
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        calls = enumerate(reply.tool_calls or [])  # fill in ``id`` and ``type`` if omitted
        tool_calls = [{"id": f"call_{i}", "type": "function", **tc} for i, tc in calls] or None
        text = reply.text
        if text is None and reply.chunks is not None:
            text = "".join(reply.chunks)
        if text is None and tool_calls is None and reply.refusal is None:
            # Asked for a JSON schema, a model answers in it: the smallest instance.
            text = structured_checks.instance_text(body)
        if text is None and tool_calls is None and reply.refusal is None:
            users = [m for m in messages if m.get("role") == "user"]
            text = "echo: " + (_content_text(users[-1].get("content")) if users else "")
        prompt = sum(len(_content_text(m.get("content")).split()) for m in messages)
        done = len((text or "").split())
        thought = 0
        if REASONING_MODELS.match(str(body.get("model", ""))):
            effort = body.get("reasoning_effort", "medium")
            thought = reply.reasoning_tokens or {"minimal": 8, "low": 16, "high": 64}.get(
                effort, 32
            )
        usage: dict[str, Any] = reply.usage or dict(
            prompt_tokens=prompt,
            completion_tokens=done + thought,
            total_tokens=prompt + done + thought,
            completion_tokens_details={"reasoning_tokens": thought},
        )
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "created": int(time.time()),
            "model": body.get("model", "gpt-4o-mini"),
            "system_fingerprint": "fp_fake",
        }
        finish = reply.finish_reason or ("tool_calls" if tool_calls else "stop")
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            include_usage = include_usage and not reply.no_usage
            self._stream(base, reply, text, tool_calls, finish, usage if include_usage else None)
            return
        if reply.malformed:
            self._send_json(200, b'{"id": "chatcmpl-broken", "choices": [', reply.headers)
            return
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": reply.refusal}
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        if tool_calls:
            message["tool_calls"] = tool_calls
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        payload = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        if reply.no_usage:
            del payload["usage"]
        self._send_json(200, payload, reply.headers)

    def _stream(
        self,
        base: dict[str, Any],
        reply: Reply,
        text: str | None,
        tool_calls: list[dict[str, Any]] | None,
        finish: str,
        usage: dict[str, Any] | None,
    ) -> None:
        sse = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        framing = {"Connection": "keep-alive", "Transfer-Encoding": "chunked"}
        self._begin(200, {**sse, **framing, **reply.headers})

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            extra = {} if usage is None else {"usage": None}  # like OpenAI with include_usage
            return {**base, "object": "chat.completion.chunk", "choices": [choice], **extra}

        deltas: list[dict[str, Any]] = [
            {"reasoning_content": piece} for piece in _split(reply.reasoning or "")
        ]
        deltas += [
            {"content": piece}
            for piece in (reply.chunks if reply.chunks is not None else _split(text or ""))
        ]
        deltas += [{"refusal": piece} for piece in _split(reply.refusal or "")]
        for index, tc in enumerate(tool_calls or []):
            fn = tc.get("function", {})
            name = {"name": fn.get("name", ""), "arguments": ""}
            head = {"index": index, "id": tc["id"], "type": tc["type"], "function": name}
            pieces = [
                {"index": index, "function": {"arguments": a}}
                for a in _split(fn.get("arguments", ""))
            ]
            deltas += [{"tool_calls": [call]} for call in (head, *pieces)]

        self._event(chunk({"role": "assistant", "content": "", "refusal": None}))
        if reply.malformed:
            self._event(b"{this is not json")
        for delta in deltas[: reply.cut_after]:
            if reply.chunk_delay:
                time.sleep(reply.chunk_delay)
            self._event(chunk(delta))
        if reply.cut_after is not None:
            self.close_connection = True  # abrupt: no finish chunk, [DONE] or 0-chunk
            return
        self._event(chunk({}, finish))
        if usage is not None:
            self._event({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        # [DONE] and the terminating 0-chunk share one write (one syscall, one packet).
        self._event(b"[DONE]", last=True)

    def _event(self, payload: dict[str, Any] | bytes, last: bool = False) -> None:
        """Write one SSE ``data:`` event as one HTTP chunk and flush it."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        frame = b"data: " + data + b"\n\n"
        self.wfile.write(b"%x\r\n%s\r\n%s" % (len(frame), frame, b"0\r\n\r\n" if last else b""))
        self.wfile.flush()


class FakeOpenAIServer(ThreadedServer):
    """A fake OpenAI API on ``127.0.0.1`` served from a background thread."""

    name = "openai"
    handler_class = _Handler
    chat_paths = ("/v1/chat/completions",)

    def __init__(self) -> None:
        super().__init__()
        self.models: list[str] = list(DEFAULT_MODELS)

    @property
    def base_url(self) -> str:
        """Base URL to hand to an OpenAI client, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def last_request(self) -> RecordedRequest | None:
        """The most recently recorded request, or ``None``."""
        with self._lock:
            return self.requests[-1] if self.requests else None

    def reset(self) -> None:
        """Forget recorded requests and pending scripted replies; restore the models."""
        with self._lock:
            self.requests.clear()
            self._replies.clear()
            self.models = list(DEFAULT_MODELS)

    def _next_reply(self) -> Reply:
        reply: Reply = self._pop_reply(Reply())
        return reply
