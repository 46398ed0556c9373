"""A local fake of the embedding APIs: OpenAI, Ollama and Google (Gemini) wire formats.

``POST /v1/embeddings`` answers like OpenAI (``data[].embedding``, ``index``,
``usage``), ``POST /api/embed`` like Ollama (``embeddings``), and
``POST /v1/models/MODEL:batchEmbedContents`` like the Gemini API
(``embeddings[].values``). Vectors are deterministic bags of hashed words
(``dimension`` long, normalised), so texts that share words are close.
Faults are scripted with :meth:`FakeEmbeddingServer.fail` and consumed FIFO:
an HTTP status (429 with ``retry-after: 0``, 500...), a delay, or a reply
whose body is cut short.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeEmbeddingServer", "Fault", "fake_vector"]


def fake_vector(text: str, dimension: int) -> list[float]:
    """The vector the fake returns for ``text``."""
    vector = [0.0] * dimension
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % dimension] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


@dataclass
class Fault:
    """One scripted failure: an HTTP ``status`` (with ``headers``), a ``delay``, a cut body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    malformed: bool = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        """Stay quiet."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fake = self.server.fake
        fake._record(self.path, body)
        fault = fake._next_fault()
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status != 200:
                error = {"error": {"message": f"fake error {fault.status}", "code": fault.status}}
                self._send(fault.status, error, fault.headers)
                return
            if fault.malformed:
                self._send(200, b'{"data": [', {})
                return
        path = self.path.split("?", 1)[0]
        dim = fake.dimension
        if path.endswith("/embeddings"):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": fake_vector(t, dim)}
                for i, t in enumerate(texts)
            ]
            usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
            reply = {"object": "list", "data": data, "model": body["model"], "usage": usage}
            self._send(200, reply, {})
        elif path.endswith("/api/embed"):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            if body.get("model") not in fake.models:
                self._send(404, {"error": f'model "{body.get("model")}" not found'}, {})
                return
            self._send(
                200,
                {"model": body["model"], "embeddings": [fake_vector(t, dim) for t in texts]},
                {},
            )
        elif ":batchEmbedContents" in path:
            texts = [
                " ".join(p.get("text", "") for p in r["content"]["parts"]) for r in body["requests"]
            ]
            self._send(200, {"embeddings": [{"values": fake_vector(t, dim)} for t in texts]}, {})
        else:
            self._send(404, {"error": {"message": f"no route {path}", "code": 404}}, {})

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeEmbeddingServer


class FakeEmbeddingServer:
    """The fake on ``127.0.0.1``, served from a background thread."""

    def __init__(self, dimension: int = 32) -> None:
        self.dimension = dimension
        self.models = {"nomic-embed-text"}
        self.requests: list[tuple[str, Any]] = []
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._httpd: _Server | None = None

    def __enter__(self) -> FakeEmbeddingServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def fail(self, *faults: Fault) -> None:
        """Script failures for the next requests."""
        with self._lock:
            self._faults.extend(faults)

    def reset(self) -> None:
        """Forget requests and pending faults."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def _record(self, path: str, body: Any) -> None:
        with self._lock:
            self.requests.append((path, body))

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None
