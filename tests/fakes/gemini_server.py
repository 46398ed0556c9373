"""A local fake of the Gemini API (``v1beta``), as ``google-genai`` calls it.

Endpoints: ``POST /v1beta/models/MODEL:generateContent``,
``POST /v1beta/models/MODEL:streamGenerateContent?alt=sse`` (SSE ``data:``
events, each a ``GenerateContentResponse`` chunk; the last carries
``finishReason`` and ``usageMetadata``), ``POST
/v1beta/models/MODEL:countTokens`` and ``GET /v1beta/models``. Faults are
scripted with :class:`~fakes._server.Reply`; ``blocked`` answers with a
prompt block (``promptFeedback.blockReason``), or with ``finish_reason``
``SAFETY`` a blocked candidate.

Counts: ``countTokens`` answers ``words + 2`` per content; a request's
``promptTokenCount`` is the words of all contents and the system
instruction, a reply's ``candidatesTokenCount`` its words.
"""

from __future__ import annotations

import json
from typing import Any

from fakes._server import FakeServer, Handler, RecordedRequest, Reply

__all__ = ["FakeGeminiServer", "Reply"]

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
           503: "UNAVAILABLE"}  # fmt: skip


def _words(content: dict[str, Any]) -> int:
    return sum(len(str(p.get("text", "")).split()) for p in content.get("parts") or [])


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """A Google-style error body."""
    name = _STATUS.get(status, "UNKNOWN")
    return {"error": {"code": status, "message": message or f"fake {name}", "status": name}}


class FakeGeminiServer(FakeServer):
    """Speaks the Gemini API; give ``google-genai`` ``base_url=`` :attr:`url`."""

    name = "gemini"

    def __init__(self) -> None:
        super().__init__()
        self.models = ["gemini-2.5-flash", "gemini-2.5-pro"]

    def handle(self, handler: Handler, request: RecordedRequest) -> None:
        """Route a request to an endpoint."""
        body = request.json if isinstance(request.json, dict) else {}
        path = request.path
        if request.method == "GET" and path in ("/v1beta/models", "/v1/models"):
            models = [
                {
                    "name": f"models/{m}",
                    "displayName": m,
                    "inputTokenLimit": 1048576,
                    "outputTokenLimit": 65536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
                for m in self.models
            ]
            handler.send_json(200, {"models": models})
        elif request.method == "POST" and path.endswith(":countTokens"):
            if self.count_status != 200:
                handler.send_json(self.count_status, error_body(self.count_status))
                return
            total = sum(_words(c) + 2 for c in body.get("contents") or [])
            handler.send_json(200, {"totalTokens": total})
        elif request.method == "POST" and path.endswith(":generateContent"):
            self._generate(handler, path, body, self.next_reply(), stream=False)
        elif request.method == "POST" and path.endswith(":streamGenerateContent"):
            self._generate(handler, path, body, self.next_reply(), stream=True)
        else:
            handler.send_json(404, error_body(404, f"no route {request.method} {path}"))

    def _generate(
        self, handler: Handler, path: str, body: dict[str, Any], reply: Reply, stream: bool
    ) -> None:
        if reply.status != 200:
            payload = b"<html>" if reply.malformed else reply.error_body or error_body(reply.status)
            handler.send_json(reply.status, payload, reply.headers)
            return
        model = path.rsplit("/", 1)[-1].split(":", 1)[0]
        contents = body.get("contents") or []
        users = [c for c in contents if c.get("role") == "user"]
        last = " ".join(str(p.get("text", "")) for p in users[-1].get("parts", [])) if users else ""
        text = self.reply_text(reply, last)
        calls = [
            {"functionCall": {"id": c["id"], "name": c["name"], "args": c["arguments"]}}
            for c in reply.tool_calls or []
        ]
        if calls and reply.text is None and reply.chunks is None:
            text = ""
        system = body.get("systemInstruction") or {}
        prompt = sum(_words(c) for c in contents) + _words(system)
        prompt_tokens, output_tokens = reply.usage or (prompt, len(text.split()))
        usage = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens,
        }
        base = {"modelVersion": model, "responseId": "fake-response"}
        if reply.blocked and not reply.finish_reason:
            blocked = {
                **base,
                "promptFeedback": {"blockReason": reply.blocked},
                "usageMetadata": usage,
            }
            if stream:
                handler.begin_chunked("text/event-stream", reply.headers)
                handler.chunk(b"data: " + json.dumps(blocked).encode() + b"\r\n\r\n")
                handler.end_chunks()
            else:
                handler.send_json(200, blocked, reply.headers)
            return

        def candidate(piece: str, finish: str | None = None) -> dict[str, Any]:
            parts = [{"text": piece}] if piece else []
            if finish:  # function calls come whole, with the last chunk
                parts += calls
            content = {"role": "model", "parts": parts} if parts else {"role": "model"}
            out: dict[str, Any] = {"content": content, "index": 0}
            if finish:
                out["finishReason"] = finish
            return out

        finish = reply.finish_reason or "STOP"
        if not stream:
            if reply.malformed:
                handler.send_json(200, b'{"candidates": [', reply.headers)
                return
            payload = {**base, "candidates": [candidate(text, finish)], "usageMetadata": usage}
            handler.send_json(200, payload, reply.headers)
            return
        handler.begin_chunked("text/event-stream", reply.headers)

        def event(payload: dict[str, Any] | bytes) -> None:
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            handler.chunk(b"data: " + raw + b"\r\n\r\n")

        if reply.malformed:
            event(b"{not json")
        pieces = self.reply_chunks(reply, text)
        head = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}
        for i, piece in enumerate(pieces[: reply.cut_after]):
            is_last = i == len(pieces) - 1 and reply.cut_after is None
            chunk = {**base, "candidates": [candidate(piece, finish if is_last else None)]}
            chunk["usageMetadata"] = usage if is_last else head
            event(chunk)
        if reply.cut_after is not None:
            handler.cut()
            return
        if not pieces:
            event({**base, "candidates": [candidate("", finish)], "usageMetadata": usage})
        handler.end_chunks()
