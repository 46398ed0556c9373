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
import re
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

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
    result_media,
)
from llmcore.providers import errors
from llmcore.providers.api_counted import ApiCountedProvider
from llmcore.tokens.api_counter import countable

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from llmcore.tools.tool import Tool

__all__ = ["AnthropicProvider", "to_anthropic"]

logger = logging.getLogger("llmcore.providers.anthropic")

ESTIMATE_FACTOR = 1.2
MESSAGE_OVERHEAD = 3
_MIN_THINKING = 1024  # the API's smallest thinking budget
#: The models with structured outputs (output_config.format): Opus 4.1, the 4.5 family, later.
_NATIVE_OUTPUT = re.compile(r"claude-(opus|sonnet|haiku)-(4-[1-9](?!\d)|[5-9])")
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
        if not content and role == "assistant":
            # Nothing the API takes (a reply interrupted while it thought, its thinking
            # unsigned): an empty message would be refused in every later request.
            continue
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
        content: str | list[dict[str, Any]] = message.content
        media = result_media(message.parts)
        if media:  # the result's text, then its images and PDFs, as content blocks
            blocks = [b for b in map(_block, media) if b is not None]
            # The API refuses an empty text block (a tool may return only an image).
            text = [{"type": "text", "text": message.content}] if message.content else []
            content = [*text, *blocks]
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": result.call_id if result is not None else "",
            "content": content,
        }
        if result is not None and result.is_error:
            block["is_error"] = True
        return [block]
    parts = message.current_parts()
    if message.has_only_text:
        return message.content
    blocks = [b for b in map(_block, parts) if b is not None]
    return blocks or message.content


def _block(part: Part) -> dict[str, Any] | None:
    """A content block: text, an image or a PDF (base64 or URL), a tool call, signed thinking."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ImagePart | DocumentPart):
        kind = "image" if isinstance(part, ImagePart) else "document"
        if part.url is not None:
            return {"type": kind, "source": {"type": "url", "url": part.url}}
        source = {"type": "base64", "media_type": part.media_type, "data": base64_of(part)}
        return {"type": kind, "source": source}
    if isinstance(part, ToolCallPart):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": part.arguments}
    if isinstance(part, ReasoningPart):
        # Only this provider's blocks reach here (see providers.compile): replayed verbatim.
        if part.encrypted is not None:
            return {"type": "redacted_thinking", "data": part.encrypted}
        if part.signature is not None:
            return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    return None


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


def _forced(request: ModelRequest, thinking: bool) -> dict[str, Any]:
    """``tool_choice`` for the output tool; a forced tool cannot be used with thinking on."""
    if thinking:
        request.notes.append(
            f"{request.output_tool} offered, not forced: Anthropic takes no forced tool "
            "with extended thinking"
        )
        return {"type": "auto"}
    if len(request.tools) > 1:
        return {"type": "any"}
    return {"type": "tool", "name": request.output_tool}


def _finish(reason: str | None) -> str | None:
    return _STOP_REASONS.get(reason or "", reason)


class AnthropicProvider(ApiCountedProvider):
    """Claude models through the ``anthropic`` SDK (``type = "anthropic"``).

    Keys: ``api_key`` (or ``ANTHROPIC_API_KEY``), ``base_url``,
    ``default_model``, ``max_tokens`` (the reply limit, required by the API;
    the packaged default is 4096), ``timeout``, ``max_retries`` and the
    ``retry_*`` backoff keys, ``options`` (default request parameters) and
    the context-length keys. Call options: ``max_tokens``, ``temperature``,
    ``top_p``, ``top_k``, ``stop`` (sent as ``stop_sequences``); anything
    else is passed in the request body.
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
    accepts = frozenset({ImagePart, DocumentPart})
    tool_call_id_pattern = re.compile(r"[a-zA-Z0-9_-]{1,64}")
    reasoning_models = (
        "claude-3-7",
        "claude-sonnet-4",
        "claude-opus-4",
        "claude-haiku-4",
        "claude-4",
    )

    def native_output(self, request: ModelRequest) -> bool:
        """Structured outputs on the models that have them, for schemas they take.

        Claude Opus 4.1, Sonnet 4.5, Haiku 4.5 and later; older models, maps
        and recursive types go through a forced tool.
        """
        from llmcore.providers.structured import anthropic_schema

        if not _NATIVE_OUTPUT.match(request.model):
            return False
        return (
            request.output_schema is not None
            and anthropic_schema(request.output_schema) is not None
        )

    def make_client(self) -> AsyncAnthropic:
        """The SDK client, its own retries off (llmcore retries)."""
        sdk = self.import_sdk("anthropic", "anthropic")
        key = self.settings.api_key
        if not key and self.settings.base_url is None:
            key = self.require_api_key()
        client: AsyncAnthropic = sdk.AsyncAnthropic(
            api_key=key or "not-needed",
            base_url=self.settings.base_url,
            timeout=self.settings.timeout,
            max_retries=0,
        )
        return client

    # -- the wire format ----------------------------------------------------

    def encode(self, request: ModelRequest) -> dict[str, Any]:
        """The ``messages.create`` arguments; options the SDK does not name go in ``extra_body``."""
        options = dict(request.settings.options)
        stop = options.pop("stop", None)
        if stop is not None:
            options["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        options["max_tokens"] = request.settings.max_tokens
        thinking = self._thinking(request, options)
        if thinking is not None:
            options["thinking"] = thinking
        if request.output_tool is not None:
            options["tool_choice"] = _forced(request, thinking is not None)
        elif request.output_schema is not None:
            from llmcore.providers.structured import anthropic_schema

            schema = anthropic_schema(request.output_schema)
            if schema is None:
                raise InvalidRequestError(
                    f"This output_type cannot be sent to {request.model!r} as structured output "
                    '(a map or a recursive type); set structured_output = "tool" for this '
                    "provider, or use a type with named fields only."
                )
            options["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        system, turns = to_anthropic(request.messages)
        params: dict[str, Any] = {"model": request.model, "messages": turns}
        if system is not None:
            params["system"] = system
        if request.tools:
            params["tools"] = _tools(request.tools)
        named = _create_params(self.client)
        extra = {k: options.pop(k) for k in list(options) if k not in named}
        params.update(options)
        if extra:
            params["extra_body"] = extra
        if request.stream:
            params["stream"] = True
        return params

    def _thinking(self, request: ModelRequest, options: dict[str, Any]) -> dict[str, Any] | None:
        """Extended thinking for ``reasoning=``: a budget below ``max_tokens``, at least 1024."""
        reasoning = self.reasoning_for(request)
        if reasoning is None:
            return None
        limit = request.settings.max_tokens
        budget = reasoning.as_budget()
        if budget >= limit:
            budget = limit // 2
            request.notes.append(
                f"thinking budget lowered to {budget} to leave room for the answer "
                f"(max_tokens {limit})"
            )
        if budget < _MIN_THINKING:
            request.notes.append(
                f"reasoning ignored: max_tokens {limit} leaves no room for a thinking budget of "
                f"at least {_MIN_THINKING}; raise max_tokens"
            )
            return None
        for name in ("temperature", "top_k"):  # the API takes neither with thinking
            if options.pop(name, None) is not None:
                request.notes.append(f"{name} left out: Anthropic does not take it with thinking")
        return {"type": "enabled", "budget_tokens": budget}

    async def send(self, wire: dict[str, Any], request: ModelRequest) -> Any:
        """``messages.create``."""
        return await self.client.messages.create(**wire)

    def decode(self, raw: Any, request: ModelRequest) -> ModelResponse:
        """Read a ``Message``: text, tool use and thinking blocks, in order."""
        parts: list[Part] = []
        for block in raw.content:
            kind = getattr(block, "type", "")
            if kind == "text":
                parts.append(TextPart(block.text))
            elif kind == "tool_use":
                parts.append(
                    ToolCallPart(id=block.id, name=block.name, arguments=dict(block.input or {}))
                )
            elif kind == "thinking":
                parts.append(
                    ReasoningPart(
                        text=block.thinking,
                        signature=block.signature,
                        provider=self.name,
                        model=request.model,  # the model asked: what replays must match
                    )
                )
            elif kind == "redacted_thinking":
                parts.append(
                    ReasoningPart(encrypted=block.data, provider=self.name, model=request.model)
                )
        usage = Usage(input_tokens=raw.usage.input_tokens, output_tokens=raw.usage.output_tokens)
        return ModelResponse(
            parts=parts,
            usage=usage,
            finish_reason=_finish(raw.stop_reason),
            model=raw.model,
            complete=True,
        )

    async def send_stream(self, wire: dict[str, Any], request: ModelRequest) -> Any:
        """``messages.create(stream=True)``: the SDK's SSE event stream."""
        return await self.client.messages.create(**wire)

    async def iterate(self, raw: Any, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """The SSE events as typed events; a block's ``index`` keys its pieces."""
        input_tokens = 0
        async for event in raw:
            kind = event.type
            if kind == "message_start":
                input_tokens = event.message.usage.input_tokens
                yield ResponseInfo(model=event.message.model)
            elif kind == "content_block_start":
                block = event.content_block
                if block.type == "tool_use":
                    yield ToolCallDelta(index=event.index, id=block.id, name=block.name)
                elif block.type == "redacted_thinking":
                    yield ReasoningDelta(encrypted=block.data)
            elif kind == "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    yield TextDelta(delta.text)
                elif delta.type == "input_json_delta":
                    yield ToolCallDelta(index=event.index, arguments=delta.partial_json)
                elif delta.type == "thinking_delta":
                    yield ReasoningDelta(text=delta.thinking)
                elif delta.type == "signature_delta":
                    yield ReasoningDelta(signature=delta.signature)
            elif kind == "message_delta":
                usage = Usage(input_tokens=input_tokens, output_tokens=event.usage.output_tokens)
                yield UsageEvent(usage)
                yield ResponseInfo(finish_reason=_finish(event.delta.stop_reason))
            elif kind == "message_stop":
                return
        raise errors.stream_cut_error(self.name, request.model)

    async def close_stream(self, raw: Any) -> None:
        """Close the SDK's event stream."""
        await raw.close()

    def map_error(self, exc: Exception, model: str) -> Exception:
        """The SDK's status (error events in a 200 stream too), timeout and connection errors."""
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
                limit=lambda: self.get_max_context_length(model),
            )
        if isinstance(exc, anthropic.APITimeoutError):
            return errors.timeout_error(self.name, model, self.settings.timeout)
        if isinstance(exc, anthropic.APIConnectionError):
            return errors.connection_error(self.name, model, self.client.base_url, exc)
        if isinstance(exc, ValueError):  # a stream event that is not JSON
            return errors.malformed_error(self.name, model, exc)
        if isinstance(exc, AttributeError | TypeError):  # a reply without the expected fields
            return errors.malformed_error(self.name, model, exc)
        return errors.stream_cut_error(self.name, model, exc)

    # -- tokens -----------------------------------------------------------

    async def _api_message_tokens(self, message: Message, model: str) -> int:
        params: dict[str, Any] = {"model": model}
        if message.role is Role.SYSTEM:
            # A request needs one message; "." costs the same in every count.
            params.update(system=message.content, messages=[{"role": "user", "content": "."}])
        else:
            # Its text (tool calls written out) and its images and PDFs, as a user turn.
            text, media = countable(message)
            blocks = [b for b in map(_block, media) if b is not None]
            params["messages"] = [
                {"role": "user", "content": [{"type": "text", "text": text or "."}, *blocks]}
            ]
        client = self.client.with_options(timeout=min(self.settings.timeout, 10.0))
        try:
            result = await client.messages.count_tokens(**params)
        except LLMCoreError:
            raise
        except Exception as exc:
            raise self.map_error(exc, model) from exc
        return int(result.input_tokens)

    async def get_available_models(self) -> list[str]:
        """List the models the API offers (``GET /v1/models``)."""
        try:
            return sorted([m.id async for m in self.client.models.list()])
        except LLMCoreError:
            raise
        except Exception as exc:
            raise self.map_error(exc, "-") from exc
