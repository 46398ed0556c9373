"""A local fake of the Gemini API (``v1beta``), as ``google-genai`` calls it.

Endpoints: ``POST /v1beta/models/MODEL:generateContent``,
``POST /v1beta/models/MODEL:streamGenerateContent?alt=sse`` (SSE ``data:``
events, each a ``GenerateContentResponse`` chunk; the last carries
``finishReason`` and ``usageMetadata``), ``POST
/v1beta/models/MODEL:countTokens`` and ``GET /v1beta/models``. Faults are
scripted with :class:`~fakes._server.Reply`; ``blocked`` answers with a
prompt block (``promptFeedback.blockReason``), or with ``finish_reason``
``SAFETY`` a blocked candidate.

Requests are checked as the real API checks them (:mod:`fakes.gemini_checks`):
one it would refuse gets its 400 ``INVALID_ARGUMENT``. With a
``thinkingConfig`` the reply carries a thought summary (``thought: true``,
with ``includeThoughts``), ``thoughtsTokenCount`` in its usage, and a
``thoughtSignature`` on its first function call (else on its last text
part; a stream ends with a part of empty text holding it, as Gemini's
does); a function call it signed must come back with that signature.

Counts: ``countTokens`` answers ``words + 2`` per content plus
:data:`IMAGE_TOKENS` per image and :data:`PAGE_TOKENS` per PDF page; a
request's ``promptTokenCount`` is the words of all contents and the system
instruction, a reply's ``candidatesTokenCount`` its words.
"""

from __future__ import annotations

import json
from typing import Any

from fakes import structured_checks
from fakes._server import FakeServer, Handler, RecordedRequest, Reply, b64decode, pdf_pages, sign
from fakes.gemini_checks import call_fingerprint, field, refusal

__all__ = ["IMAGE_TOKENS", "PAGE_TOKENS", "FakeGeminiServer", "Reply"]

#: What ``countTokens`` gives an image, and a PDF page (the API's published 258).
IMAGE_TOKENS = PAGE_TOKENS = 258

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
           503: "UNAVAILABLE"}  # fmt: skip


def _words(content: dict[str, Any]) -> int:
    return sum(len(str(p.get("text", "")).split()) for p in content.get("parts") or [])


def _id(call: dict[str, Any]) -> dict[str, Any]:
    return {"id": call["id"]} if call.get("id") else {}


def _binary_tokens(content: dict[str, Any]) -> int:
    total = 0
    for part in content.get("parts") or []:
        blob = field(part, "inlineData") or field(part, "fileData")
        mime = str(field(blob, "mimeType") or "")
        if mime.startswith("image/"):
            total += IMAGE_TOKENS
        elif mime == "application/pdf":
            data = b64decode(field(blob, "data"), lenient=True)
            total += PAGE_TOKENS * (pdf_pages(data) if data else 1)
    return total


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """A Google-style error body."""
    name = _STATUS.get(status, "UNKNOWN")
    return {"error": {"code": status, "message": message or f"fake {name}", "status": name}}


class FakeGeminiServer(FakeServer):
    """Speaks the Gemini API; give ``google-genai`` ``base_url=`` :attr:`url`."""

    name = "gemini"
    chat_paths = (":generateContent", ":streamGenerateContent")

    def __init__(self) -> None:
        super().__init__()
        self.models = ["gemini-2.5-flash", "gemini-2.5-pro"]
        #: The fingerprints of the function calls this fake signed (see gemini_checks).
        self.signed: set[str] = set()

    def reset(self) -> None:
        """Forget requests, replies, settings and the calls it signed."""
        super().reset()
        with self._lock:
            self.signed.clear()

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
            model = path.rsplit("/", 1)[-1].split(":", 1)[0]
            problem = refusal(body, model, count=True)
            if problem is not None:
                handler.send_json(400, error_body(400, problem))
                return
            contents = body.get("contents") or []
            total = sum(_words(c) + 2 + _binary_tokens(c) for c in contents)
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
        model = path.rsplit("/", 1)[-1].split(":", 1)[0]
        with self._lock:
            problem = refusal(body, model, self.signed) or structured_checks.gemini(body, model)
        if problem is not None:  # what the real API refuses, it refuses here too
            handler.send_json(400, error_body(400, problem))
            return
        if reply.status != 200:
            payload = b"<html>" if reply.malformed else reply.error_body or error_body(reply.status)
            handler.send_json(reply.status, payload, reply.headers)
            return
        contents = body.get("contents") or []
        users = [c for c in contents if c.get("role") == "user"]
        last = " ".join(str(p.get("text", "")) for p in users[-1].get("parts", [])) if users else ""
        text = self.reply_text(reply, last)
        calls: list[dict[str, Any]] = [  # the Gemini API gives calls no id unless scripted
            {"functionCall": {**_id(c), "name": c["name"], "args": c["arguments"]}}
            for c in reply.tool_calls or []
        ]
        if calls and reply.text is None and reply.chunks is None:
            text = ""
        config = field(field(body, "generationConfig"), "thinkingConfig")
        thinking = config is not None
        thought = self.reply_thinking(reply, last) if thinking else ""
        summary = [{"text": thought, "thought": True}] if field(config, "includeThoughts") else []
        if thinking and calls:
            # Gemini signs the first function call of a reply: it must come back with it.
            fingerprint = call_fingerprint(calls[0]["functionCall"])
            calls[0] = {**calls[0], "thoughtSignature": sign("thought", fingerprint)}
            with self._lock:
                self.signed.add(fingerprint)
        system = body.get("systemInstruction") or {}
        prompt = sum(_words(c) for c in contents) + _words(system)
        prompt_tokens, output_tokens = reply.usage or (prompt, len(text.split()))
        thoughts = (reply.reasoning_tokens or len(thought.split())) if thinking else 0
        usage = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens + thoughts,
        }
        if thinking:
            usage["thoughtsTokenCount"] = thoughts
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

        def candidate(
            piece: str, finish: str | None = None, first: bool = True, stream: bool = False
        ) -> dict[str, Any]:
            parts: list[dict[str, Any]] = [*summary] if first else []
            if piece:
                parts.append({"text": piece})
            if finish:  # function calls come whole, with the last chunk
                parts += calls
                if thinking and not calls and text:  # no call: the answer's last part is signed
                    signed = {"thoughtSignature": sign("thought-text", text)}
                    if stream:  # a stream ends with a part of empty text holding it
                        parts.append({"text": "", **signed})
                    else:
                        parts[-1] = {**parts[-1], **signed}
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
            chunk = {
                **base,
                "candidates": [
                    candidate(piece, finish if is_last else None, first=i == 0, stream=True)
                ],
            }
            chunk["usageMetadata"] = usage if is_last else head
            event(chunk)
        if reply.cut_after is not None:
            handler.cut()
            return
        if not pieces:
            event({**base, "candidates": [candidate("", finish)], "usageMetadata": usage})
        handler.end_chunks()
