"""Answering a server's ``sampling/createMessage`` with llmcore's own providers.

Only for servers configured with ``sampling = true``. The provider and
model are the server's ``sampling_provider`` / ``sampling_model`` (default:
``llmcore.default_provider`` and its default model); the request's
``max_tokens``, ``temperature`` and stop sequences are honoured, its
system prompt sent, its model preferences and ``include_context`` ignored
(the client decides the model; context inclusion is deprecated). Runs in
the caller's event loop (see :mod:`llmcore.mcp.requests`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmcore.mcp.handlers import SamplingRecord
from llmcore.models import Message, Role
from llmcore.parts import ImagePart, Part, TextPart

if TYPE_CHECKING:
    from llmcore.config.schema import MCPServerSettings
    from llmcore.providers.base import BaseProvider

__all__ = ["answer_sampling", "sampling_messages"]

#: llmcore's finish reasons in MCP's words.
_STOP_REASONS = {"stop": "endTurn", "length": "maxTokens", "stop_sequence": "stopSequence"}


def sampling_messages(params: Any) -> list[Message]:
    """The request's system prompt and messages as llmcore messages."""
    messages = (
        [Message(role=Role.SYSTEM, content=params.system_prompt)] if params.system_prompt else []
    )
    for sampled in params.messages:
        role = Role.ASSISTANT if sampled.role == "assistant" else Role.USER
        parts = [_part(block) for block in sampled.content_as_list]
        messages.append(Message(role=role, parts=parts))
    return messages


def _part(block: Any) -> Part:
    kind = getattr(block, "type", None)
    if kind == "text":
        return TextPart(block.text)
    if kind == "image":
        try:
            return ImagePart(media_type=block.mime_type, data=base64.b64decode(block.data))
        except (ValueError, binascii.Error):
            return TextPart(f"[an image the server sent ({block.mime_type}) that is not valid]")
    return TextPart(f"[{kind or 'content'} the server sent, which llmcore cannot pass on]")


async def answer_sampling(
    provider_of: Callable[[str | None], BaseProvider],
    settings: MCPServerSettings,
    params: Any,
    server: str,
    tool: str | None,
) -> tuple[Any, SamplingRecord]:
    """Ask the configured model; return the MCP result and its record for the Turn.

    Raises:
        LLMCoreError: the provider is unknown or failed (the server gets an error).
    """
    import mcp_types as types

    provider = provider_of(settings.sampling_provider)
    model = settings.sampling_model or provider.default_model
    options: dict[str, Any] = {"max_tokens": int(params.max_tokens)}
    if params.temperature is not None:
        options["temperature"] = params.temperature
    if params.stop_sequences:
        options["stop"] = list(params.stop_sequences)
    reply = await provider.chat_completion(sampling_messages(params), model=model, **options)
    result = types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=reply.text),
        model=reply.model or model,
        stop_reason=_STOP_REASONS.get(reply.finish_reason or "", reply.finish_reason),
    )
    record = SamplingRecord(
        server=server,
        tool=tool,
        provider=provider.name,
        model=reply.model or model,
        max_tokens=int(params.max_tokens),
        text=reply.text,
        usage=reply.usage,
        finish_reason=reply.finish_reason,
    )
    return result, record
