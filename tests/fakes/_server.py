"""What the Anthropic, Gemini and Ollama fakes share: a threaded HTTP server,
scripted replies with faults, recorded requests, and chunked writing.

Each fake subclasses :class:`FakeServer` and implements :meth:`FakeServer.handle`
for its wire format. The server runs a standard-library ``ThreadingHTTPServer``
in a daemon thread, so it serves tests on asyncio and trio alike.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FakeServer",
    "Handler",
    "RecordedRequest",
    "Reply",
    "ThreadedServer",
    "b64decode",
    "image_type",
    "pdf_pages",
    "png_size",
    "sign",
    "split_text",
    "verify",
]


@dataclass
class RecordedRequest:
    """One HTTP request received by a fake server."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any = None


@dataclass
class Reply:
    """A scripted answer to one chat request (consumed FIFO; default: an echo).

    ``text`` defaults to the joined ``chunks`` or ``"echo: <last user text>"``;
    ``chunks`` to ~3 word-boundary pieces of it. Faults: ``status`` (with
    ``headers`` such as ``retry-after`` and an optional ``error_body``),
    ``delay`` (seconds slept before anything is sent), ``cut_after`` (close a
    stream abruptly after that many text chunks), ``malformed`` (a body or
    stream event that is not valid JSON), ``blocked`` (Gemini: a safety block
    reason), ``error_event`` (Anthropic/Ollama: an error inside a 200 stream
    before any text).
    """

    text: str | None = None
    chunks: list[str] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error_body: Any = None
    delay: float = 0.0
    cut_after: int | None = None
    malformed: bool = False
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None
    blocked: str | None = None
    error_event: str | None = None
    #: Tool calls to return, provider-neutral: ``{"id", "name", "arguments": {...}}``.
    tool_calls: list[dict[str, Any]] | None = None
    #: The reasoning text a reply carries when the request asks for it (Anthropic
    #: ``thinking``, Gemini ``includeThoughts``, Ollama ``think``); default
    #: ``"Thinking about: <last user text>"``.
    thinking: str | None = None
    #: Anthropic: also send a ``redacted_thinking`` block (encrypted reasoning).
    redacted_thinking: bool = False
    #: Gemini: ``thoughtsTokenCount`` (default: the words of the thinking).
    reasoning_tokens: int | None = None


#: The fakes' signing key: what they sign (Anthropic thinking, Gemini thought
#: signatures) only they accept back, like the real APIs.
_SIGNING_KEY = b"llmcore-fake-provider-signing-key"
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def sign(kind: str, payload: str) -> str:
    """A signature over ``payload`` (base64 of an HMAC-SHA256), as a fake issues it."""
    mac = hmac.new(_SIGNING_KEY, f"{kind}\0{payload}".encode(), hashlib.sha256).digest()
    return base64.b64encode(b"fake-signature:" + mac).decode()


def verify(kind: str, payload: str, signature: object) -> bool:
    """Whether ``signature`` is the one :func:`sign` gives ``payload``."""
    return isinstance(signature, str) and hmac.compare_digest(signature, sign(kind, payload))


def b64decode(value: object, *, lenient: bool = False) -> bytes | None:
    """Strict base64 (what the APIs' JSON parsers take for bytes), or None.

    ``lenient``: also URL-safe and unpadded base64, as protobuf's JSON
    parser takes it (the Gemini API; its SDK sends URL-safe base64).
    """
    if not isinstance(value, str):
        return None
    if lenient:
        value = value.replace("-", "+").replace("_", "/")
        value += "=" * (-len(value) % 4)
    if len(value) % 4 or not _B64.fullmatch(value):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        return None


def image_type(data: bytes) -> str | None:
    """The image type the bytes are (the formats the providers take), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def png_size(data: bytes) -> tuple[int, int] | None:
    """A PNG's width and height from its IHDR chunk (None for other images)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def pdf_pages(data: bytes) -> int:
    """How many page objects a PDF has (at least 1)."""
    return max(1, len(re.findall(rb"/Type\s*/Page(?![s\w])", data)))


def split_text(text: str, pieces: int = 3) -> list[str]:
    """Split ``text`` into about ``pieces`` parts on word boundaries (lossless)."""
    words = [w for w in re.split(r"(?<=\s)(?=\S)", text) if w]
    size = max(1, -(-len(words) // pieces))
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


class Handler(BaseHTTPRequestHandler):
    """Records each request and hands it to the fake's :meth:`FakeServer.handle`."""

    protocol_version = "HTTP/1.1"
    wbufsize = -1
    server: _HTTPServer

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_message(self, *args: Any) -> None:
        """Silence per-request logging."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = RecordedRequest(
            self.command, parts.path.rstrip("/"), parse_qs(parts.query), headers, body
        )
        self.server.fake._record(request)
        self.server.fake.handle(self, request)

    do_GET = do_POST = do_DELETE = _dispatch

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        """Send a whole JSON (or raw bytes) body."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.begin(status, {"Content-Type": "application/json", "Content-Length": str(len(data))})
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def begin(self, status: int, headers: dict[str, str]) -> None:
        """Send the status line and headers (call ``end_headers`` after any extra ones)."""
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)

    def begin_chunked(self, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Start a 200 response with a chunked body (a stream)."""
        self.begin(200, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def chunk(self, data: bytes) -> None:
        """Write one HTTP chunk and flush it."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunks(self) -> None:
        """Write the terminating zero-length chunk."""
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self) -> None:
        """Drop the connection mid-body (no terminating chunk)."""
        self.close_connection = True
        self.wfile.flush()
        self.request.shutdown(socket.SHUT_RDWR)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # benchmarks open many connections at once
    fake: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up (timeouts, aborted streams)."""
        if not isinstance(sys.exc_info()[1], ConnectionError | OSError):
            super().handle_error(request, client_address)


class ThreadedServer:
    """Serves one fake on ``127.0.0.1`` from a daemon thread; records requests.

    Subclasses set :attr:`handler_class` (a ``BaseHTTPRequestHandler`` that
    finds its fake as ``self.server.fake``) and :attr:`name`.
    """

    name = "fake"
    handler_class: type[BaseHTTPRequestHandler]
    #: How the paths of this fake's chat endpoints end (see :meth:`chat_bodies`).
    chat_paths: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Any] = deque()
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Any:
        """Bind a free port and start serving in a daemon thread."""
        if self._httpd is None:
            self._httpd = _HTTPServer(("127.0.0.1", 0), self.handler_class)
            self._httpd.fake = self
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-{self.name}-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join()
            self._httpd = self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._httpd is None:
            raise RuntimeError(f"Fake {self.name} server is not started")
        return int(self._httpd.server_address[1])

    def enqueue(self, *replies: Any) -> None:
        """Script replies for the next chat requests (FIFO)."""
        with self._lock:
            self._replies.extend(replies)

    def chat_bodies(self) -> list[Any]:
        """The JSON bodies of the chat requests received, oldest first.

        Only what reached a chat endpoint (:attr:`chat_paths`): no token
        counts, model lookups or model lists.
        """
        if not self.chat_paths:
            raise NotImplementedError(f"the fake {self.name} server names no chat endpoint")
        with self._lock:
            return [
                r.json
                for r in self.requests
                if r.method == "POST"
                and r.path.split("?", 1)[0].rstrip("/").endswith(self.chat_paths)
            ]

    def _record(self, request: Any) -> None:
        with self._lock:
            self.requests.append(request)

    def _pop_reply(self, default: Any) -> Any:
        with self._lock:
            return self._replies.popleft() if self._replies else default


class FakeServer(ThreadedServer):
    """A fake provider API on ``127.0.0.1`` served from a background thread."""

    handler_class = Handler

    def __init__(self) -> None:
        super().__init__()
        #: HTTP status the token-counting endpoint answers with.
        self.count_status = 200

    def handle(self, handler: Handler, request: RecordedRequest) -> None:
        """Answer one request (implemented by each fake)."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request (the test fails if there is none)."""
        with self._lock:
            assert self.requests, f"the fake {self.name} server received no request"
            return self.requests[-1]

    def requests_to(self, suffix: str) -> list[RecordedRequest]:
        """Recorded requests whose path ends with ``suffix``."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(suffix)]

    def reset(self) -> None:
        """Forget recorded requests, scripted replies and settings."""
        with self._lock:
            self.requests.clear()
            self._replies.clear()
            self.count_status = 200

    def next_reply(self) -> Reply:
        """The next scripted reply, or the default echo; sleeps its ``delay``."""
        reply: Reply = self._pop_reply(Reply())
        if reply.delay:
            time.sleep(reply.delay)
        return reply

    @staticmethod
    def reply_text(reply: Reply, last_user_text: str) -> str:
        """The text a reply carries (see :class:`Reply`)."""
        if reply.text is not None:
            return reply.text
        if reply.chunks is not None:
            return "".join(reply.chunks)
        return f"echo: {last_user_text}"

    @staticmethod
    def reply_thinking(reply: Reply, last_user_text: str) -> str:
        """The reasoning a reply carries when the request asks for it (see :class:`Reply`)."""
        return reply.thinking if reply.thinking is not None else f"Thinking about: {last_user_text}"

    @staticmethod
    def reply_chunks(reply: Reply, text: str) -> list[str]:
        """The pieces a streamed reply is sent in."""
        return reply.chunks if reply.chunks is not None else split_text(text)
