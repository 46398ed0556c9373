"""Providers written against the specification's interface, adapted to the typed one.

The specification describes ``chat_completion(context, model, stream,
**kwargs)`` returning "the full response dict, or an async generator of raw
API chunks". A :class:`~llmcore.providers.base.BaseProvider` subclass that
overrides ``chat_completion`` that way works as any other provider: its
dicts are read in the shapes such APIs use (an OpenAI chat completion or
chunk, an Ollama ``message``, or a plain ``{"content": ...}`` / ``{"text":
...}``), and a ``ModelResponse`` or a string is taken as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from llmcore.exceptions import ProviderError
from llmcore.exchange import (
    ModelRequest,
    ModelResponse,
    ResponseBuilder,
    ResponseInfo,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from llmcore.models import Usage
from llmcore.parts import TextPart

if TYPE_CHECKING:
    from llmcore.providers.base import BaseProvider, ResponseStream

__all__ = ["spec_respond", "spec_stream"]


def _call_kwargs(request: ModelRequest) -> dict[str, Any]:
    kwargs: dict[str, Any] = {**request.settings.options, "max_tokens": request.settings.max_tokens}
    if request.tools:
        kwargs["tools"] = request.tools
    return kwargs


async def spec_respond(provider: BaseProvider, request: ModelRequest) -> ModelResponse:
    """Call a specification-style ``chat_completion`` and read its reply."""
    result = await provider.chat_completion(
        request.messages, model=request.model, stream=False, **_call_kwargs(request)
    )
    response = _as_response(result, provider, request.model)
    response.provider = provider.name
    return response


async def spec_stream(provider: BaseProvider, request: ModelRequest) -> ResponseStream:
    """Call a specification-style streaming ``chat_completion`` and read its chunks."""
    from llmcore.providers.base import ResponseStream

    chunks = await provider.chat_completion(
        request.messages, model=request.model, stream=True, **_call_kwargs(request)
    )
    return ResponseStream(_events(chunks), ResponseBuilder(provider=provider.name))


def _as_response(result: object, provider: BaseProvider, model: str) -> ModelResponse:
    if isinstance(result, ModelResponse):
        return result
    if isinstance(result, str):
        return ModelResponse(parts=[TextPart(result)] if result else [], complete=True)
    if isinstance(result, dict):
        builder = ResponseBuilder()
        for event in _chunk_events(result, whole=True):
            builder.add(event)
        return builder.build()
    raise ProviderError(
        f"Provider {provider.name!r} (model {model!r}) returned a {type(result).__name__} from "
        "chat_completion; return a ModelResponse, a dict such as {'content': '...'} or a str.",
        provider=provider.name,
        model=model,
        kind="malformed",
    )


async def _events(chunks: Any) -> AsyncIterator[StreamEvent]:
    try:
        async for chunk in chunks:
            if isinstance(chunk, str):
                yield TextDelta(chunk)
            elif isinstance(chunk, dict):
                for event in _chunk_events(chunk, whole=False):
                    yield event
            else:  # already a typed event
                yield chunk
    finally:
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()


def _chunk_events(data: dict[str, Any], *, whole: bool) -> list[StreamEvent]:
    """The events in one response dict or chunk, in the shapes specification providers use."""
    events: list[StreamEvent] = []
    message: Any = data
    finish = data.get("finish_reason") or data.get("done_reason")
    choices = data.get("choices")
    if isinstance(choices, list) and choices:
        choice = choices[0]
        message = choice.get("message" if whole else "delta") or choice.get("delta") or {}
        finish = choice.get("finish_reason") or finish
    elif isinstance(data.get("message"), dict):
        message = data["message"]
    text = message.get("content") if isinstance(message, dict) else None
    if text is None and isinstance(data.get("text"), str):
        text = data["text"]
    if isinstance(text, str) and text:
        events.append(TextDelta(text))
    for index, call in enumerate(
        (message.get("tool_calls") if isinstance(message, dict) else None) or []
    ):
        function = call.get("function") or call
        events.append(
            ToolCallDelta(
                index=call.get("index", index),
                id=call.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments") or "",
            )
        )
    usage = data.get("usage")
    if isinstance(usage, dict):
        events.append(
            UsageEvent(
                Usage(
                    input_tokens=int(usage.get("prompt_tokens") or usage.get("input_tokens") or 0),
                    output_tokens=int(
                        usage.get("completion_tokens") or usage.get("output_tokens") or 0
                    ),
                )
            )
        )
    if finish or data.get("model"):
        events.append(ResponseInfo(model=data.get("model"), finish_reason=finish))
    return events
