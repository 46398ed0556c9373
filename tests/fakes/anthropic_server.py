"""A local fake of Anthropic's Messages API (JSON and the SSE event sequence).

Endpoints: ``POST /v1/messages`` (whole reply, or with ``stream: true`` the
events ``message_start``, ``content_block_start``, ``ping``,
``content_block_delta`` ..., ``content_block_stop``, ``message_delta``,
``message_stop``), ``POST /v1/messages/count_tokens`` and ``GET /v1/models``.
Faults are scripted with :class:`~fakes._server.Reply`.

Token counts are deterministic and easy to compute in a test: a request
counts ``words + 3`` per message (system included) plus 1; a reply counts
its words.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fakes._server import FakeServer, Handler, RecordedRequest, Reply

__all__ = ["FakeAnthropicServer", "Reply", "count_request_tokens"]

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


def count_request_tokens(body: dict[str, Any]) -> int:
    """The fake's token count of a Messages request."""
    parts = [_text(m.get("content")) for m in body.get("messages") or []]
    if body.get("system"):
        parts.append(_text(body["system"]))
    return 1 + sum(len(p.split()) + 3 for p in parts)


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """An Anthropic-style error body for ``status``."""
    kind = _ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message or f"fake {kind}"}}


class FakeAnthropicServer(FakeServer):
    """Speaks the Anthropic Messages API; point ``AsyncAnthropic(base_url=...)`` at :attr:`url`."""

    name = "anthropic"

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
            if self.count_status != 200:
                handler.send_json(self.count_status, error_body(self.count_status))
            else:
                handler.send_json(200, {"input_tokens": count_request_tokens(body)})
        elif request.method == "POST" and request.path == "/v1/messages":
            self._messages(handler, body, self.next_reply())
        else:
            handler.send_json(404, error_body(404, f"no route {request.method} {request.path}"))

    def _messages(self, handler: Handler, body: dict[str, Any], reply: Reply) -> None:
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
        input_tokens, output_tokens = reply.usage or (count_request_tokens(body), len(text.split()))
        message = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude"),
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
                    "content": ([{"type": "text", "text": text}] if text else []) + tool_blocks,
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
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        event("ping", {})
        if reply.malformed:
            event("content_block_delta", b"{not json")
        chunks = self.reply_chunks(reply, text)
        for piece in chunks[: reply.cut_after]:
            delta = {"type": "text_delta", "text": piece}
            event("content_block_delta", {"index": 0, "delta": delta})
        if reply.cut_after is not None:
            handler.cut()
            return
        event("content_block_stop", {"index": 0})
        for index, block in enumerate(tool_blocks, start=1):
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
