"""A local fake of Anthropic's Messages API (JSON and the SSE event sequence).

Endpoints: ``POST /v1/messages`` (whole reply, or with ``stream: true`` the
events ``message_start``, ``content_block_start``, ``ping``,
``content_block_delta`` ..., ``content_block_stop``, ``message_delta``,
``message_stop``), ``POST /v1/messages/count_tokens`` and ``GET /v1/models``.
Faults are scripted with :class:`~fakes._server.Reply`.

Requests are checked as the real API checks them (:mod:`fakes.anthropic_checks`):
a request it would refuse gets its 400 ``invalid_request_error``. With
``thinking`` enabled a reply starts with a ``thinking`` block signed by the
fake (streamed as ``thinking_delta`` and ``signature_delta``), and
``Reply(redacted_thinking=True)`` adds a ``redacted_thinking`` block.

Token counts are deterministic and easy to compute in a test: a request
counts ``words + 3`` per message (system included) plus 1, plus
:func:`image_tokens` per image and :data:`PAGE_TOKENS` per PDF page; a
reply counts its words (thinking included).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fakes import structured_checks
from fakes._server import (
    FakeServer,
    Handler,
    RecordedRequest,
    Reply,
    b64decode,
    pdf_pages,
    png_size,
    sign,
)
from fakes.anthropic_checks import refusal

__all__ = ["PAGE_TOKENS", "FakeAnthropicServer", "Reply", "count_request_tokens", "image_tokens"]

#: Model aliases and the dated snapshots the API names in its replies.
_ALIASES = {
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
}
#: What the fake's count gives one PDF page (the real API: 1,500-3,000).
PAGE_TOKENS = 2000

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def image_tokens(data: bytes | None) -> int:
    """The fake's count of one image: ``ceil(width * height / 750)`` for a PNG, else 1600."""
    size = png_size(data) if data else None
    return -(-size[0] * size[1] // 750) if size else 1600


def _binary_tokens(content: Any) -> int:
    total = 0
    for block in content if isinstance(content, list) else []:
        source = block.get("source") if isinstance(block, dict) else None
        if not isinstance(source, dict):
            continue
        data = b64decode(source.get("data")) if source.get("type") == "base64" else None
        if block.get("type") == "image":
            total += image_tokens(data)
        elif block.get("type") == "document":
            total += PAGE_TOKENS * (pdf_pages(data) if data else 1)
    return total


def count_request_tokens(body: dict[str, Any]) -> int:
    """The fake's token count of a Messages request."""
    messages = body.get("messages") or []
    parts = [_text(m.get("content")) for m in messages]
    if body.get("system"):
        parts.append(_text(body["system"]))
    binary = sum(_binary_tokens(m.get("content")) for m in messages)
    return 1 + sum(len(p.split()) + 3 for p in parts) + binary


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """An Anthropic-style error body for ``status``."""
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message or f"fake {kind}"}}


class FakeAnthropicServer(FakeServer):
    """Speaks the Anthropic Messages API; point ``AsyncAnthropic(base_url=...)`` at :attr:`url`."""

    name = "anthropic"
    chat_paths = ("/v1/messages",)  # not /v1/messages/count_tokens

    def __init__(self) -> None:
        super().__init__()
        self.models = ["claude-sonnet-4-6", "claude-haiku-4-5"]

    def handle(self, handler: Handler, request: RecordedRequest) -> None:
        """Route a request to an endpoint."""
        body = request.json if isinstance(request.json, dict) else {}
        if request.method == "GET" and request.path == "/v1/models":
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in self.models
            ]
            page = {"data": data, "has_more": False, "first_id": None, "last_id": None}
            handler.send_json(200, page)
        elif request.method == "POST" and request.path == "/v1/messages/count_tokens":
            problem = refusal(body, count=True)
            if self.count_status != 200:
                handler.send_json(self.count_status, error_body(self.count_status))
            elif problem is not None:
                handler.send_json(400, error_body(400, problem))
            else:
                handler.send_json(200, {"input_tokens": count_request_tokens(body)})
        elif request.method == "POST" and request.path == "/v1/messages":
            self._messages(handler, body, self.next_reply())
        else:
            handler.send_json(404, error_body(404, f"no route {request.method} {request.path}"))

    def _messages(self, handler: Handler, body: dict[str, Any], reply: Reply) -> None:
        problem = refusal(body) or structured_checks.anthropic(body)
        if problem is not None:  # what the real API refuses, it refuses here too
            handler.send_json(400, error_body(400, problem))
            return
        if reply.status != 200:
            payload = (
                b"<html>oops" if reply.malformed else reply.error_body or error_body(reply.status)
            )
            handler.send_json(reply.status, payload, reply.headers)
            return
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        text = self.reply_text(reply, _text(users[-1].get("content")) if users else "")
        calls = reply.tool_calls or []
        if calls and reply.text is None and reply.chunks is None:
            text = ""
        thinking = body.get("thinking") or {}
        thought: list[dict[str, Any]] = []
        if thinking.get("type") == "enabled":
            last = _text(users[-1].get("content")) if users else ""
            said = self.reply_thinking(reply, last)
            thought.append(
                {"type": "thinking", "thinking": said, "signature": sign("thinking", said)}
            )
            if reply.redacted_thinking:
                thought.append({"type": "redacted_thinking", "data": sign("redacted", "")})
        thought_words = sum(len(str(b.get("thinking", "")).split()) for b in thought)
        input_tokens, output_tokens = reply.usage or (
            count_request_tokens(body),
            len(text.split()) + thought_words,
        )
        message = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            # The API answers with the snapshot an alias stands for.
            "model": _ALIASES.get(str(body.get("model")), body.get("model", "claude")),
            "stop_sequence": None,
        }
        stop_reason = reply.finish_reason or ("tool_use" if calls else "end_turn")
        tool_blocks = [
            {"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]}
            for c in calls
        ]
        if not body.get("stream"):
            if reply.malformed:
                handler.send_json(200, b'{"id": "msg_broken", "content": [', reply.headers)
                return
            handler.send_json(
                200,
                {
                    **message,
                    "content": [
                        *thought,
                        *([{"type": "text", "text": text}] if text else []),
                        *tool_blocks,
                    ],
                    "stop_reason": stop_reason,
                    "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
                },
                reply.headers,
            )
            return
        handler.begin_chunked("text/event-stream; charset=utf-8", reply.headers)

        def event(kind: str, data: dict[str, Any] | bytes) -> None:
            raw = data if isinstance(data, bytes) else json.dumps({"type": kind, **data}).encode()
            handler.chunk(b"event: %s\ndata: %s\n\n" % (kind.encode(), raw))

        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        }
        event("message_start", {"message": start})
        if reply.error_event:
            event("error", {"error": {"type": reply.error_event, "message": "fake stream error"}})
            handler.end_chunks()
            return
        event("ping", {})
        for index, block in enumerate(thought):
            if block["type"] == "redacted_thinking":
                event("content_block_start", {"index": index, "content_block": block})
            else:
                start_block = {"type": "thinking", "thinking": "", "signature": ""}
                event("content_block_start", {"index": index, "content_block": start_block})
                for piece in self.reply_chunks(Reply(), block["thinking"]):
                    delta = {"type": "thinking_delta", "thinking": piece}
                    event("content_block_delta", {"index": index, "delta": delta})
                delta = {"type": "signature_delta", "signature": block["signature"]}
                event("content_block_delta", {"index": index, "delta": delta})
            event("content_block_stop", {"index": index})
        first = len(thought)
        text_block = {"index": first, "content_block": {"type": "text", "text": ""}}
        event("content_block_start", text_block)
        if reply.malformed:
            event("content_block_delta", b"{not json")
        chunks = self.reply_chunks(reply, text)
        for piece in chunks[: reply.cut_after]:
            delta = {"type": "text_delta", "text": piece}
            event("content_block_delta", {"index": first, "delta": delta})
        if reply.cut_after is not None:
            handler.cut()
            return
        event("content_block_stop", {"index": first})
        for index, block in enumerate(tool_blocks, start=first + 1):
            start_block = {**block, "input": {}}
            event("content_block_start", {"index": index, "content_block": start_block})
            arguments = json.dumps(block["input"])
            for piece in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                delta = {"type": "input_json_delta", "partial_json": piece}
                event("content_block_delta", {"index": index, "delta": delta})
            event("content_block_stop", {"index": index})
        event(
            "message_delta",
            {
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
        event("message_stop", {})
        handler.end_chunks()
