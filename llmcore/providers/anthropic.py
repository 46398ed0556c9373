"""Anthropic's Messages API over the official ``anthropic`` SDK.

System messages go to the top-level ``system`` field; consecutive messages of
one role are merged (Anthropic wants user and assistant to alternate); tool
calls and results become ``tool_use`` / ``tool_result`` blocks. ``max_tokens``
is required by the API, so it defaults to ``[providers.NAME] max_tokens``.
Exact token counts come from the ``messages.count_tokens`` endpoint, cached
per message; while it cannot be reached the offline estimate is
``ceil(cl100k_base tokens * 1.2) + 3`` per message (Claude's tokenizer makes
about 10-20% more tokens than cl100k for English text, so the estimate errs
on the safe side).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from llmcore.exceptions import ProviderError
from llmcore.models import Message, Role, ToolCall, Usage
from llmcore.providers import errors
from llmcore.providers.api_counted import ApiCountedProvider
from llmcore.providers.base import ChatResult, StreamEvent
from llmcore.providers.retry import call_with_retries, open_stream_with_retries
from llmcore.tools.messages import parse_arguments, tool_calls_of

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from llmcore.config.schema import ProviderSettings
    from llmcore.tools.tool import Tool

__all__ = ["AnthropicProvider", "to_anthropic"]

logger = logging.getLogger("llmcore.providers.anthropic")

ESTIMATE_FACTOR = 1.2
MESSAGE_OVERHEAD = 3
DEFAULT_MAX_TOKENS = 4096
_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                 "tool_use": "tool_calls"}  # fmt: skip
#: Error types inside a 200 stream, as the status they stand for.
_STREAM_ERROR_STATUS = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500,
                        "invalid_request_error": 400, "authentication_error": 401}  # fmt: skip


def to_anthropic(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """Split messages into Anthropic's ``system`` and alternating ``messages``.

    An assistant's tool calls become ``tool_use`` blocks and tool results
    ``tool_result`` blocks in a user turn; same-role neighbours are merged.
    """
    system = "\n\n".join(m.content for m in messages if m.role is Role.SYSTEM) or None
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role is Role.SYSTEM:
            continue
        role = "assistant" if m.role is Role.ASSISTANT else "user"
        content = _content(m)
        if out and out[-1]["role"] == role:
            previous = out[-1]["content"]
            if isinstance(previous, str) and isinstance(content, str):
                out[-1]["content"] = previous + "\n\n" + content
            else:
                out[-1]["content"] = _blocks(previous) + _blocks(content)
        else:
            out.append({"role": role, "content": content})
    return system, out


def _content(message: Message) -> str | list[dict[str, Any]]:
    if message.role is Role.TOOL:
        result = message.tool_result
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": result.call_id if result is not None else "",
            "content": message.content,
        }
        if result is not None and result.is_error:
            block["is_error"] = True
        return [block]
    calls = tool_calls_of(message) if message.role is Role.ASSISTANT else []
    if not calls:
        return message.content
    blocks = _blocks(message.content) if message.content else []
    return blocks + [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in calls
    ]


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _tools(tools: Sequence[Tool]) -> list[dict[str, Any]]:
    return [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
    ]


@functools.cache
def _named_params(create: Any) -> frozenset[str]:
    return frozenset(inspect.signature(create).parameters)


def _create_params(client: Any) -> frozenset[str]:
    """What ``messages.create`` takes by name in the installed SDK; the rest go in
    ``extra_body`` (SDK releases add and drop names such as ``temperature``)."""
    return _named_params(type(client.messages).create)


class AnthropicProvider(ApiCountedProvider):
    """Claude models through the ``anthropic`` SDK (``type = "anthropic"``).

    Keys: ``api_key`` (or ``ANTHROPIC_API_KEY``), ``base_url``,
    ``default_model``, ``max_tokens`` (the default reply limit), ``timeout``,
    ``max_retries`` and the ``retry_*`` backoff keys, ``options`` (default
    request parameters) and the context-length keys. Call options:
    ``max_tokens``, ``temperature``, ``top_p``, ``top_k``, ``stop`` (sent as
    ``stop_sequences``); anything else is passed in the request body.
    """

    counter_kind = "anthropic"
    estimate_factor = ESTIMATE_FACTOR
    message_overhead = MESSAGE_OVERHEAD
    known_context_lengths = {
        "claude-opus-4": 200_000,
        "claude-sonnet-4": 200_000,
        "claude-haiku-4": 200_000,
        "claude-3-7-sonnet": 200_000,
        "claude-3-5": 200_000,
        "claude-3": 200_000,
        "claude-2.1": 200_000,
        "claude-2": 100_000,
        "claude": 200_000,
    }
    api_key_env_vars = ("ANTHROPIC_API_KEY",)

    def __init__(self, name: str, settings: ProviderSettings):
        super().__init__(name, settings)
        self._client: AsyncAnthropic | None = None

    def _get_client(self) -> AsyncAnthropic:
        if self._client is None:
            sdk = self.import_sdk("anthropic", "anthropic")
            key = self.settings.api_key
            if not key and self.settings.base_url is None:
                key = self.require_api_key()
            # llmcore retries (providers/retry.py); the SDK's would stack on top.
            self._client = sdk.AsyncAnthropic(
                api_key=key or "not-needed",
                base_url=self.settings.base_url,
                timeout=self.settings.timeout,
                max_retries=0,
            )
        return self._client

    # -- requests ---------------------------------------------------------

    def _params(
        self, messages: Sequence[Message], model: str, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        tools = kwargs.pop("tools", None)
        options = {**self.settings.options, **kwargs}
        stop = options.pop("stop", None)
        if stop is not None:
            options["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        options.setdefault("max_tokens", self.settings.max_tokens or DEFAULT_MAX_TOKENS)
        system, turns = to_anthropic(messages)
        params: dict[str, Any] = {"model": model, "messages": turns}
        if system is not None:
            params["system"] = system
        if tools:
            params["tools"] = _tools(tools)
        named = _create_params(self._get_client())
        extra = {k: options.pop(k) for k in list(options) if k not in named}
        params.update(options)
        if extra:
            params["extra_body"] = extra
        return params

    async def _create(self, params: dict[str, Any], model: str) -> Any:
        try:
            return await self._get_client().messages.create(**params)
        except Exception as exc:
            raise self._map_error(exc, model) from exc

    async def complete(
        self, messages: Sequence[Message], *, model: str, **kwargs: Any
    ) -> ChatResult:
        """Return the whole reply (``messages.create``)."""
        params = self._params(messages, model, kwargs)
        reply = await call_with_retries(
            lambda: self._create(params, model), self.retry_policy, f"{self.name} {model}"
        )
        try:
            text = "".join(b.text for b in reply.content if getattr(b, "type", "") == "text")
            calls = [
                ToolCall(id=b.id, name=b.name, arguments=dict(b.input or {}))
                for b in reply.content
                if getattr(b, "type", "") == "tool_use"
            ]
            usage = Usage(
                input_tokens=reply.usage.input_tokens, output_tokens=reply.usage.output_tokens
            )
        except (AttributeError, TypeError) as exc:
            raise errors.malformed_error(self.name, model, exc) from exc
        return ChatResult(
            text=text,
            usage=usage,
            finish_reason=_STOP_REASONS.get(reply.stop_reason or "", reply.stop_reason),
            tool_calls=calls,
            model=reply.model,
        )

    async def stream(
        self, messages: Sequence[Message], *, model: str, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """Open a streamed reply (the SDK's SSE event stream) and return its events."""
        params = {**self._params(messages, model, kwargs), "stream": True}

        async def open_stream() -> AsyncIterator[StreamEvent]:
            return self._events(await self._create(params, model), model)

        return await open_stream_with_retries(
            open_stream, lambda e: bool(e.text), self.retry_policy, f"{self.name} {model}"
        )

    async def _events(self, stream: Any, model: str) -> AsyncIterator[StreamEvent]:
        input_tokens = 0
        # A tool_use block arrives as its id and name, then its input in JSON pieces.
        calls: dict[int, tuple[str, str, list[str]]] = {}
        try:
            async for event in stream:
                kind = event.type
                if kind == "message_start":
                    input_tokens = event.message.usage.input_tokens
                    yield StreamEvent(model=event.message.model)
                elif kind == "content_block_start" and event.content_block.type == "tool_use":
                    block = event.content_block
                    calls[event.index] = (block.id, block.name, [])
                elif kind == "content_block_delta" and event.delta.type == "text_delta":
                    yield StreamEvent(text=event.delta.text)
                elif kind == "content_block_delta" and event.delta.type == "input_json_delta":
                    calls[event.index][2].append(event.delta.partial_json)
                elif kind == "message_delta":
                    if calls:
                        yield StreamEvent(
                            tool_calls=[
                                ToolCall(id=i, name=n, arguments=parse_arguments("".join(p)))
                                for i, n, p in (calls[k] for k in sorted(calls))
                            ]
                        )
                    reason = event.delta.stop_reason
                    yield StreamEvent(
                        usage=Usage(
                            input_tokens=input_tokens, output_tokens=event.usage.output_tokens
                        ),
                        finish_reason=_STOP_REASONS.get(reason or "", reason),
                    )
                elif kind == "message_stop":
                    return
            raise errors.stream_cut_error(self.name, model)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._map_error(exc, model) from exc
        finally:
            await stream.close()

    # -- errors -----------------------------------------------------------

    def _map_error(self, exc: Exception, model: str) -> Exception:
        import anthropic

        if isinstance(exc, anthropic.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            inner = body.get("error", body)
            kind = inner.get("type", "") if isinstance(inner, dict) else ""
            detail = inner.get("message", "") if isinstance(inner, dict) else ""
            status = exc.status_code
            if status < 400:  # an error event inside a 200 stream
                status = _STREAM_ERROR_STATUS.get(kind, 500)
            return errors.status_error(
                self.name,
                model,
                status,
                str(detail or exc.message),
                exc.response.headers,
                limit=self.get_max_context_length(model),
            )
        if isinstance(exc, anthropic.APITimeoutError):
            return errors.timeout_error(self.name, model, self.settings.timeout)
        if isinstance(exc, anthropic.APIConnectionError):
            return errors.connection_error(self.name, model, self._get_client().base_url, exc)
        if isinstance(exc, ValueError):  # a stream event that is not JSON
            return errors.malformed_error(self.name, model, exc)
        return errors.stream_cut_error(self.name, model, exc)

    # -- tokens -----------------------------------------------------------

    async def _api_message_tokens(self, message: Message, model: str) -> int:
        params: dict[str, Any] = {"model": model}
        if message.role is Role.SYSTEM:
            # A request needs one message; "." costs the same in every count.
            params.update(system=message.content, messages=[{"role": "user", "content": "."}])
        else:
            params["messages"] = [{"role": "user", "content": message.content or "."}]
        client = self._get_client().with_options(timeout=min(self.settings.timeout, 10.0))
        try:
            result = await client.messages.count_tokens(**params)
        except Exception as exc:
            raise self._map_error(exc, model) from exc
        return int(result.input_tokens)

    async def get_available_models(self) -> list[str]:
        """List the models the API offers (``GET /v1/models``)."""
        client = self._get_client()
        try:
            return sorted([m.id async for m in client.models.list()])
        except Exception as exc:
            raise self._map_error(exc, "-") from exc

    async def close(self) -> None:
        """Close the SDK client's connection pool."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
