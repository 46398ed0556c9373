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
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from llmcore.exceptions import ProviderError
from llmcore.models import Message, Role, ToolCall, Usage
from llmcore.providers import errors
from llmcore.providers.base import BaseProvider, ChatResult, StreamEvent
from llmcore.providers.retry import call_with_retries, open_stream_with_retries
from llmcore.tokens import encoding_for_model, get_counter
from llmcore.tools.messages import parse_arguments, tool_calls_of

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from llmcore.tools.tool import Tool

__all__ = ["OpenAIProvider"]

logger = logging.getLogger("llmcore.providers.openai")

MESSAGE_OVERHEAD = 3  # <|start|>{role}\n ... <|end|>
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|>


class _Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _ToolCall(msgspec.Struct):
    id: str | None = None
    index: int = 0
    function: _Function = msgspec.field(default_factory=_Function)


class _Message(msgspec.Struct):
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(msgspec.Struct):
    message: _Message = msgspec.field(default_factory=_Message)
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    choices: list[_Choice] = []
    usage: _Usage | None = None
    model: str | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None


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


def _wire_message(message: Message) -> dict[str, Any]:
    """A message in Chat Completions form, tool calls and results included."""
    if message.role is Role.TOOL:
        result = message.tool_result
        return {
            "role": "tool",
            "tool_call_id": result.call_id if result is not None else "",
            "content": message.content,
        }
    calls = tool_calls_of(message) if message.role is Role.ASSISTANT else []
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
    return {"role": message.role.value, "content": message.content}


def _wire_tools(tools: Sequence[Tool]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def _calls(raw: list[_ToolCall] | None) -> list[ToolCall]:
    return [
        ToolCall(
            id=c.id or f"call_{i}",
            name=c.function.name or "",
            arguments=parse_arguments(c.function.arguments),
        )
        for i, c in enumerate(raw or [])
    ]


def _merge_piece(pending: dict[int, _ToolCall], piece: _ToolCall) -> None:
    call = pending.setdefault(piece.index, _ToolCall(index=piece.index, function=_Function()))
    call.id = call.id or piece.id
    call.function.name = (call.function.name or "") + (piece.function.name or "")
    call.function.arguments = (call.function.arguments or "") + (piece.function.arguments or "")


def _usage(raw: _Usage | None) -> Usage | None:
    if raw is None:
        return None
    return Usage(input_tokens=raw.prompt_tokens, output_tokens=raw.completion_tokens)


class OpenAIProvider(BaseProvider):
    """Chat Completions over the official ``openai`` SDK.

    Configured by a ``[providers.NAME]`` section with ``type = "openai"``
    (implied for ``[providers.openai]``): ``api_key``, ``base_url``,
    ``default_model``, ``timeout``, ``max_retries``, ``options`` (default
    request parameters) and the context-length keys.
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

    _client: AsyncOpenAI | None = None

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            AsyncOpenAI = self.import_sdk("openai", "openai").AsyncOpenAI
            # A local OpenAI-compatible server often needs no key; say so loudly
            # only for the real API.
            key = self.settings.api_key
            if not key and self.settings.base_url is None:
                key = self.require_api_key()
            # llmcore retries (providers/retry.py); the SDK's would stack on top.
            self._client = AsyncOpenAI(
                api_key=key or "not-needed",
                base_url=self.settings.base_url,
                timeout=self.settings.timeout,
                max_retries=0,
            )
        return self._client

    # -- requests ---------------------------------------------------------

    def _body(self, messages: Sequence[Message], model: str, kwargs: dict[str, Any]) -> bytes:
        body: dict[str, Any] = {"model": model, "messages": [_wire_message(m) for m in messages]}
        body.update(self.settings.options)
        tools = kwargs.pop("tools", None)
        body.update(kwargs)
        if tools:
            body["tools"] = _wire_tools(tools)
        return _encode(body)

    async def _post(self, body: bytes, model: str, stream: bool) -> Any:
        return await call_with_retries(
            lambda: self._post_once(body, model, stream), self.retry_policy, f"{self.name} {model}"
        )

    async def _post_once(self, body: bytes, model: str, stream: bool) -> Any:
        client = self._get_client()
        from openai import _base_client as sdk_base

        # openai >= 3 is built on httpx2, older releases on httpx.
        http: Any = getattr(sdk_base, "httpx2", None) or getattr(sdk_base, "httpx")  # noqa: B009
        try:
            return await client.post(
                "/chat/completions",
                cast_to=http.Response,
                content=body,
                options={"headers": {"Content-Type": "application/json"}},
                stream=stream,
            )
        except Exception as exc:
            raise self._map_error(exc, model) from exc

    async def complete(
        self, messages: Sequence[Message], *, model: str, **kwargs: Any
    ) -> ChatResult:
        """Return the whole reply (one ``POST /chat/completions``)."""
        body = self._body(messages, model, kwargs)
        response = await self._post(body, model, stream=False)
        try:
            data = _decode_completion(response.content)
        except msgspec.DecodeError as exc:
            raise self._malformed(model, exc) from exc
        if not data.choices:
            raise self._malformed(model, ValueError("the reply has no choices"))
        choice = data.choices[0]
        return ChatResult(
            text=choice.message.content or "",
            usage=_usage(data.usage),
            finish_reason=choice.finish_reason,
            tool_calls=_calls(choice.message.tool_calls),
            model=data.model,
        )

    async def stream(
        self, messages: Sequence[Message], *, model: str, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """Open a streamed reply (SSE) and return its events."""
        kwargs = {"stream": True, "stream_options": {"include_usage": True}, **kwargs}
        body = self._body(messages, model, kwargs)

        async def open_stream() -> AsyncIterator[StreamEvent]:
            return self._events(await self._post_once(body, model, stream=True), model)

        return await open_stream_with_retries(
            open_stream, lambda e: bool(e.text), self.retry_policy, f"{self.name} {model}"
        )

    async def _events(self, response: Any, model: str) -> AsyncIterator[StreamEvent]:
        # Tool calls arrive in pieces keyed by index; they are whole at the end.
        pending: dict[int, _ToolCall] = {}
        try:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    if pending:
                        yield StreamEvent(tool_calls=_calls([pending[i] for i in sorted(pending)]))
                    return
                try:
                    chunk = _decode_chunk(data)
                except msgspec.DecodeError as exc:
                    raise self._malformed(model, exc) from exc
                event = StreamEvent(usage=_usage(chunk.usage), model=chunk.model)
                if chunk.choices:
                    choice = chunk.choices[0]
                    event.text = choice.delta.content or ""
                    event.finish_reason = choice.finish_reason
                    for piece in choice.delta.tool_calls or ():
                        _merge_piece(pending, piece)
                yield event
            raise errors.stream_cut_error(self.name, model)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._map_error(exc, model) from exc
        finally:
            await response.aclose()

    # -- errors -----------------------------------------------------------

    def _malformed(self, model: str, exc: Exception) -> ProviderError:
        return errors.malformed_error(self.name, model, exc)

    def _map_error(self, exc: Exception, model: str) -> Exception:
        import openai

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
                limit=self.get_max_context_length(model),
            )
        if isinstance(exc, openai.APITimeoutError):
            return errors.timeout_error(self.name, model, self.settings.timeout)
        if isinstance(exc, openai.APIConnectionError):
            return errors.connection_error(self.name, model, self._get_client().base_url, exc)
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
        return tokens

    def request_overhead(self, model: str | None = None) -> int:
        """The tokens that prime the reply."""
        return REPLY_PRIMING

    async def get_available_models(self) -> list[str]:
        """List the models the server offers (``GET /models``)."""
        client = self._get_client()
        try:
            page = await client.models.list()
        except Exception as exc:
            raise self._map_error(exc, "-") from exc
        return sorted(m.id for m in page.data)

    async def close(self) -> None:
        """Close the SDK client's connection pool."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


def _error_message(body: object) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return ""
