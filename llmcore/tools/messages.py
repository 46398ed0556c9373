"""How tool calls and their results are stored as messages.

A model's tool calls ride on its assistant message (``metadata["tool_calls"]``:
id, name, arguments), and each result is a ``tool`` message
(``metadata["tool_call_id"]``, ``"name"``, ``"is_error"``). Stored this way a
session replays to any provider, each mapping them to its own format.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from llmcore.models import Message, Role, ToolCall
from llmcore.tools.tool import ToolResult

__all__ = ["assistant_message", "parse_arguments", "tool_calls_of", "tool_message"]


def assistant_message(text: str, calls: Sequence[ToolCall], session_id: str = "") -> Message:
    """The assistant message that asked for ``calls``."""
    return Message(
        role=Role.ASSISTANT,
        content=text,
        session_id=session_id,
        metadata={"tool_calls": [msgspec.structs.asdict(c) for c in calls]},
    )


def tool_message(call: ToolCall, result: ToolResult, session_id: str = "") -> Message:
    """The message carrying a tool's result back to the model."""
    metadata: dict[str, Any] = {"tool_call_id": call.id, "name": call.name}
    if result.is_error:
        metadata["is_error"] = True
    return Message(role=Role.TOOL, content=result.content, session_id=session_id, metadata=metadata)


def tool_calls_of(message: Message) -> list[ToolCall]:
    """The tool calls an assistant message asked for (empty if none)."""
    raw = message.metadata.get("tool_calls") or []
    return [
        ToolCall(id=c["id"], name=c["name"], arguments=dict(c.get("arguments") or {})) for c in raw
    ]


def parse_arguments(text: str | None) -> dict[str, Any]:
    """Decode a tool call's JSON arguments; invalid JSON is kept for the error message."""
    if not text:
        return {}
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return {"__invalid_json__": text}
    return value if isinstance(value, dict) else {"__invalid_json__": text}
