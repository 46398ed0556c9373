"""How tool calls and their results are kept in messages: as parts.

A model's tool calls are :class:`~llmcore.parts.ToolCallPart` s of its
assistant message (after its text, if any), and each result is a ``tool``
message with one :class:`~llmcore.parts.ToolResultPart` (call id, content,
``is_error``, the tool's name, and the result's structured content and own
parts when it has them: an MCP tool's JSON, images, embedded resources).
Stored this way a session replays to any provider, each mapping them to its
own format.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from llmcore.models import Message, Role, ToolCall
from llmcore.parts import Part, TextPart, ToolResultPart
from llmcore.tools.tool import ToolResult

__all__ = ["assistant_message", "parse_arguments", "tool_calls_of", "tool_message"]


def assistant_message(text: str, calls: Sequence[ToolCall], session_id: str = "") -> Message:
    """The assistant message that asked for ``calls``."""
    parts: list[Part] = [TextPart(text)] if text else []
    parts.extend(calls)
    return Message(role=Role.ASSISTANT, content=text, parts=parts, session_id=session_id)


def tool_message(call: ToolCall, result: ToolResult, session_id: str = "") -> Message:
    """The message carrying a tool's result back to the model."""
    part = ToolResultPart(
        call_id=call.id,
        content=result.content,
        is_error=result.is_error,
        name=call.name,
        structured=result.structured,
        parts=list(result.parts),
    )
    return Message(role=Role.TOOL, content=result.content, parts=[part], session_id=session_id)


def tool_calls_of(message: Message) -> list[ToolCall]:
    """The tool calls an assistant message asked for (empty if none)."""
    return message.tool_calls if message.role is Role.ASSISTANT else []


def parse_arguments(text: str | None) -> dict[str, object]:
    """Decode a tool call's JSON arguments; invalid JSON is kept for the error message."""
    if not text:
        return {}
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return {"__invalid_json__": text}
    return value if isinstance(value, dict) else {"__invalid_json__": text}
