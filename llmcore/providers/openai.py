"""OpenAI, and any server that speaks its Chat Completions API.

The request goes through the official ``openai`` SDK's client (auth,
base URL, timeouts, error types), but the body is built and the reply decoded
by llmcore with msgspec: the SDK's own parameter transformation and pydantic
response models cost more than a local server takes to answer (see
``docs/performance.md``). Token counts use tiktoken with the model's own
encoding and OpenAI's chat overhead (3 tokens per message, 3 to prime the
reply).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from llmcore.exceptions import InvalidRequestError, LLMCoreError
from llmcore.exchange import (
    ModelRequest,
    ModelResponse,
    ReasoningDelta,
    ResponseInfo,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    UsageEvent,
)
from llmcore.models import Message, Role, Usage
from llmcore.parts import (
    DocumentPart,
    ImagePart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    base64_of,
    binary_parts,
    result_media,
)
from llmcore.providers import errors
from llmcore.providers.base import BaseProvider
from llmcore.tokens import encoding_for_model, get_counter
from llmcore.tokens.attachments import attachment_tokens
from llmcore.tools.messages import parse_arguments

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from llmcore.tools.tool import Tool

__all__ = ["OpenAIProvider"]

logger = logging.getLogger("llmcore.providers.openai")

MESSAGE_OVERHEAD = 3  # <|start|>{role}\n ... <|end|>
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|>


class _Details(msgspec.Struct):
    reasoning_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    completion_tokens_details: _Details | None = None


class _Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _ToolCall(msgspec.Struct):
    id: str | None = None
    index: int = 0
    function: _Function = msgspec.field(default_factory=_Function)


class _Message(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None  # structured output the model declined to give
    tool_calls: list[_ToolCall] | None = None
    reasoning_content: str | None = None  # DeepSeek, vLLM and others


class _Choice(msgspec.Struct):
    message: _Message = msgspec.field(default_factory=_Message)
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    choices: list[_Choice] = []
    usage: _Usage | None = None
    model: str | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[_ToolCall] | None = None
    reasoning_content: str | None = None


class _ChunkChoice(msgspec.Struct):
    delta: _Delta = msgspec.field(default_factory=_Delta)
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    choices: list[_ChunkChoice] = []
    usage: _Usage | None = None
    model: str | None = None


_decode_completion = msgspec.json.Decoder(_Completion).decode
_decode_chunk = msgspec.json.Decoder(_Chunk).decode
_encode = msgspec.json.Encoder().encode

#: Models that take ``max_completion_tokens`` and refuse ``max_tokens`` (the
#: reasoning models); every other model, and OpenAI-compatible servers, get
#: ``max_tokens``, which they all know.
_REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")


def _wire_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The messages in Chat Completions form.

    A ``tool`` message takes only text, so the images and documents of tool
    results (an MCP tool's) follow the round's tool messages in one user
    message, each introduced by the call it came from.
    """
    out: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    for message in messages:
        if message.role is not Role.TOOL and media:
            out.append({"role": "user", "content": media})
            media = []
        out.append(_wire_message(message))
        found = result_media(message.parts) if message.role is Role.TOOL else []
        if found:
            result = message.tool_result
            call = result.call_id if result is not None else "?"
            media.append({"type": "text", "text": f"(What the tool call {call} returned:)"})
            media += [_wire_part(part) for part in found]
    if media:
        out.append({"role": "user", "content": media})
    return out


def _wire_message(message: Message) -> dict[str, Any]:
    """A message in Chat Completions form, tool calls and results included."""
    if message.role is Role.TOOL:
        result = message.tool_result
        return {
            "role": "tool",
            "tool_call_id": result.call_id if result is not None else "",
            "content": message.content,
        }
    calls = message.tool_calls if message.role is Role.ASSISTANT else []
    if calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": _encode(c.arguments).decode()},
                }
                for c in calls
            ],
        }
    parts = message.current_parts()
    if message.role is Role.USER and binary_parts(parts):
        return {"role": "user", "content": [_wire_part(p) for p in parts if _sendable(p)]}
    return {"role": message.role.value, "content": message.content}


def _sendable(part: Part) -> bool:
    return type(part) in (TextPart, ImagePart, DocumentPart)


def _wire_part(part: Part) -> dict[str, Any]:
    """A content part: text, an image (data URL or URL), a PDF (a file input)."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        url = part.url or f"data:{part.media_type};base64,{base64_of(part)}"
        return {"type": "image_url", "image_url": {"url": url}}
    assert isinstance(part, DocumentPart)
    if part.url is not None:
        raise InvalidRequestError(
            f"OpenAI takes a PDF as its bytes, not a URL ({part.url}); attach the file instead."
        )
    data = f"data:{part.media_type};base64,{base64_of(part)}"
    return {"type": "file", "file": {"filename": part.name or "document.pdf", "file_data": data}}


def _wire_tools(tools: Sequence[Tool]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def _usage(raw: _Usage | None) -> Usage | None:
    if raw is None:
        return None
    details = raw.completion_tokens_details
    return Usage(
        input_tokens=raw.prompt_tokens,
        output_tokens=raw.completion_tokens,
        reasoning_tokens=(details.reasoning_tokens or 0) if details is not None else 0,
    )


class OpenAIProvider(BaseProvider):
    """Chat Completions over the official ``openai`` SDK.

    Configured by a ``[providers.NAME]`` section with ``type = "openai"``
    (implied for ``[providers.openai]``): ``api_key``, ``base_url``,
    ``default_model``, ``timeout``, ``max_retries``, ``max_tokens``,
    ``options`` (default request parameters) and the context-length keys.
    ``max_tokens`` is sent as ``max_completion_tokens`` to OpenAI's
    reasoning models (``o1``, ``o3``, ``o4``, ``gpt-5``), which refuse the
    older name.
    """

    known_context_lengths = {
        "gpt-3.5-turbo": 16_385,
        "gpt-4": 8_192,
        "gpt-4-32k": 32_768,
        "gpt-4-turbo": 128_000,
        "gpt-4o": 128_000,
        "gpt-4o-mini": 128_000,
        "gpt-4.1": 1_047_576,
        "gpt-4.5": 128_000,
        "gpt-5": 400_000,
        "o1": 200_000,
        "o3": 200_000,
        "o4-mini": 200_000,
    }
    api_key_env_vars = ("OPENAI_API_KEY",)
    accepts = frozenset({ImagePart, DocumentPart})
    #: OpenAI refuses longer ids, and ids of other characters.
    tool_call_id_pattern = re.compile(r"[A-Za-z0-9_-]{1,40}")
    reasoning_models = _REASONING_MODELS

    def make_client(self) -> AsyncOpenAI:
        """The SDK client, its own retries off (llmcore retries)."""
        sdk = self.import_sdk("openai", "openai")
        # A local OpenAI-compatible server often needs no key; say so loudly
        # only for the real API.
        key = self.settings.api_key
        if not key and self.settings.base_url is None:
            key = self.require_api_key()
        client: AsyncOpenAI = sdk.AsyncOpenAI(
            api_key=key or "not-needed",
            base_url=self.settings.base_url,
            timeout=self.settings.timeout,
            max_retries=0,
        )
        return client

    # -- the wire format ----------------------------------------------------

    def encode(self, request: ModelRequest) -> bytes:
        """The request body (built with msgspec; the SDK only sends it)."""
        body: dict[str, Any] = {
            "model": request.model,
            "messages": _wire_messages(request.messages),
        }
        body.update(request.settings.options)
        thinks = request.model.startswith(_REASONING_MODELS)
        # The reasoning models refuse any temperature or top_p but their default (1): a
        # provider's default options, or a call's, must not break a switch to one of them.
        left_out = [
            f"{name} {body.pop(name)}"
            for name in ("temperature", "top_p")
            if thinks and name in body and body[name] != 1
        ]
        note = f"{' and '.join(left_out)} left out: {request.model!r} takes only the default (1)"
        if left_out and note not in request.notes:
            request.notes.append(note)
        body["max_completion_tokens" if thinks else "max_tokens"] = request.settings.max_tokens
        reasoning = self.reasoning_for(request)
        if reasoning is not None:
            body["reasoning_effort"] = reasoning.as_effort()
        if request.stream:
            body["stream"] = True
            body.setdefault("stream_options", {"include_usage": True})
        if request.tools:
            body["tools"] = _wire_tools(request.tools)
        if request.output_tool is not None:
            body["tool_choice"] = _forced(request)
        elif request.output_schema is not None:
            body["response_format"] = _response_format(request)
        return _encode(body)

    async def _post(self, body: bytes, stream: bool) -> Any:
        from openai import _base_client as sdk_base

        # openai >= 3 is built on httpx2, older releases on httpx.
        http: Any = getattr(sdk_base, "httpx2", None) or getattr(sdk_base, "httpx")  # noqa: B009
        return await self.client.post(
            "/chat/completions",
            cast_to=http.Response,
            content=body,
            options={"headers": {"Content-Type": "application/json"}},
            stream=stream,
        )

    async def send(self, wire: bytes, request: ModelRequest) -> Any:
        """``POST /chat/completions``."""
        return await self._post(wire, stream=False)

    def decode(self, raw: Any, request: ModelRequest) -> ModelResponse:
        """Read a ``chat.completion`` body."""
        data = _decode_completion(raw.content)
        if not data.choices:
            raise ValueError("the reply has no choices")
        choice = data.choices[0]
        parts: list[Part] = []
        if choice.message.reasoning_content:
            thought = choice.message.reasoning_content
            parts.append(ReasoningPart(text=thought, provider=self.name, model=request.model))
        if choice.message.content:
            parts.append(TextPart(choice.message.content))
        parts += [
            ToolCallPart(
                id=c.id or f"call_{i}",
                name=c.function.name or "",
                arguments=parse_arguments(c.function.arguments),
            )
            for i, c in enumerate(choice.message.tool_calls or [])
        ]
        return ModelResponse(
            parts=parts,
            usage=_usage(data.usage),
            finish_reason=choice.finish_reason,
            model=data.model,
            details={"refusal": choice.message.refusal} if choice.message.refusal else {},
            complete=True,
        )

    async def send_stream(self, wire: bytes, request: ModelRequest) -> Any:
        """``POST /chat/completions`` with ``stream: true`` (SSE)."""
        return await self._post(wire, stream=True)

    async def iterate(self, raw: Any, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """The SSE chunks as events; tool calls arrive in pieces keyed by index."""
        refusal = ""
        async for line in raw.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                if refusal:
                    yield ResponseInfo(details={"refusal": refusal})
                return
            chunk = _decode_chunk(data)
            if chunk.usage is not None:
                yield UsageEvent(_usage(chunk.usage))  # type: ignore[arg-type]
            finish = None
            if chunk.choices:
                choice = chunk.choices[0]
                finish = choice.finish_reason
                if choice.delta.reasoning_content:
                    yield ReasoningDelta(text=choice.delta.reasoning_content)
                if choice.delta.content:
                    yield TextDelta(choice.delta.content)
                refusal += choice.delta.refusal or ""
                for piece in choice.delta.tool_calls or ():
                    yield ToolCallDelta(
                        index=piece.index,
                        id=piece.id,
                        name=piece.function.name,
                        arguments=piece.function.arguments or "",
                    )
            if chunk.model or finish:
                yield ResponseInfo(model=chunk.model, finish_reason=finish)
        raise errors.stream_cut_error(self.name, request.model)

    def map_error(self, exc: Exception, model: str) -> Exception:
        """The SDK's status, timeout and connection errors as llmcore's."""
        import openai

        if isinstance(exc, msgspec.DecodeError):
            return errors.malformed_error(self.name, model, exc)
        if isinstance(exc, openai.APIStatusError):
            detail = _error_message(exc.body) or exc.message
            if exc.status_code == 400 and "context_length" in str(exc.body):
                detail = f"{detail} (context_length_exceeded)"
            return errors.status_error(
                self.name,
                model,
                exc.status_code,
                detail,
                exc.response.headers,
                limit=lambda: self.get_max_context_length(model),
            )
        if isinstance(exc, openai.APITimeoutError):
            return errors.timeout_error(self.name, model, self.settings.timeout)
        if isinstance(exc, openai.APIConnectionError):
            return errors.connection_error(self.name, model, self.client.base_url, exc)
        return errors.stream_cut_error(self.name, model, exc)

    # -- tokens -----------------------------------------------------------

    def token_counter_name(self, model: str | None = None) -> str:
        """The tiktoken encoding used for ``model``."""
        return get_counter(encoding_for_model(model or self.default_model)).name

    def count_tokens(self, text: str, model: str | None = None) -> int:
        """Count ``text`` with the model's tiktoken encoding."""
        return get_counter(encoding_for_model(model or self.default_model)).count(text)

    def message_tokens(self, message: Message, model: str | None = None) -> int:
        """Tokens of one chat message: role, content, tool calls and framing."""
        counter = get_counter(encoding_for_model(model or self.default_model))
        tokens = (
            MESSAGE_OVERHEAD + counter.count(message.role.value) + counter.count(message.content)
        )
        calls = message.tool_calls
        if calls:
            tokens += counter.count(_encode([msgspec.structs.asdict(c) for c in calls]).decode())
        # Images (OpenAI's tile formula) and documents, a tool result's included.
        if len(message.parts) > 1 or message.role is Role.TOOL:
            tokens += attachment_tokens(message.parts)
        return tokens

    def request_overhead(self, model: str | None = None) -> int:
        """The tokens that prime the reply."""
        return REPLY_PRIMING

    async def get_available_models(self) -> list[str]:
        """List the models the server offers (``GET /models``)."""
        try:
            page = await self.client.models.list()
        except LLMCoreError:
            raise
        except Exception as exc:
            raise self.map_error(exc, "-") from exc
        return sorted(m.id for m in page.data)


def _response_format(request: ModelRequest) -> dict[str, Any]:
    """``response_format`` with the output schema; strict when the schema can be."""
    from llmcore.providers.structured import openai_schema

    assert request.output_schema is not None
    schema, strict = openai_schema(request.output_schema)
    if not strict:
        note = "structured output sent non-strict (the schema has a map or an optional field)"
        if note not in request.notes:
            request.notes.append(note)
    return {
        "type": "json_schema",
        "json_schema": {"name": request.output_name, "schema": schema, "strict": strict},
    }


def _forced(request: ModelRequest) -> Any:
    """``tool_choice`` making the model call the output tool (or another tool first)."""
    if len(request.tools) > 1:
        return "required"
    return {"type": "function", "function": {"name": request.output_tool}}


def _error_message(body: object) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return ""
