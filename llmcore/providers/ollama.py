"""Ollama over its plain HTTP API, with httpx.

``POST /api/chat`` (NDJSON lines when streaming), ``GET /api/tags`` for the
models, ``POST /api/show`` for a model's context window. Usage comes from
``prompt_eval_count`` / ``eval_count``. Ollama has no token-counting
endpoint, so counts use the configured approximate ``tokenizer`` (see
:mod:`llmcore.tokens.estimate`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec

from llmcore.exceptions import ConfigError, InvalidRequestError
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
    ImagePart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    base64_of,
    result_media,
)
from llmcore.providers import errors
from llmcore.providers.base import BaseProvider
from llmcore.tokens.attachments import attachment_tokens
from llmcore.tokens.estimate import TOKENIZERS, text_counter

if TYPE_CHECKING:
    import httpx

    from llmcore.config.schema import ProviderSettings

__all__ = ["OllamaProvider"]

MESSAGE_OVERHEAD = 4  # role markers of a typical chat template
REPLY_PRIMING = 3
#: Common option names -> Ollama's ``options`` names.
_OPTION_NAMES = {"max_tokens": "num_predict", "stop": "stop", "temperature": "temperature",
                 "top_p": "top_p", "top_k": "top_k", "seed": "seed"}  # fmt: skip
#: Keys that belong at the top level of a ``/api/chat`` body, not in ``options``.
_TOP_LEVEL = frozenset({"format", "keep_alive", "tools", "think"})
_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)", re.MULTILINE)


class _Function(msgspec.Struct):
    name: str = ""
    arguments: dict[str, Any] = {}


class _Call(msgspec.Struct):
    function: _Function = msgspec.field(default_factory=_Function)
    id: str | None = None


class _Msg(msgspec.Struct):
    content: str = ""
    tool_calls: list[_Call] | None = None
    thinking: str | None = None


class _Chunk(msgspec.Struct):
    model: str | None = None
    message: _Msg = msgspec.field(default_factory=_Msg)
    done: bool = False
    done_reason: str | None = None
    prompt_eval_count: int | None = None
    eval_count: int | None = None
    error: str | None = None


_decode = msgspec.json.Decoder(_Chunk).decode


def _wire_message(message: Message) -> dict[str, Any]:
    """A message in ``/api/chat`` form: tool calls and results, images, its own thinking."""
    out: dict[str, Any] = {"role": message.role.value, "content": message.content}
    parts = message.current_parts()
    # A tool result's images go with the tool message (its documents are named in its text).
    images = [p for p in (*parts, *result_media(parts)) if isinstance(p, ImagePart)]
    if images:
        if any(p.url is not None for p in images):
            raise InvalidRequestError(
                "Ollama takes images as their bytes, not URLs; attach the file instead."
            )
        out["images"] = [base64_of(p) for p in images]
    thinking = "".join(
        p.text for p in message.current_parts() if isinstance(p, ReasoningPart) and p.text
    )
    if thinking and message.role is Role.ASSISTANT:
        out["thinking"] = thinking
    if message.role is Role.TOOL:
        result = message.tool_result
        out["tool_name"] = (result.name if result is not None else None) or ""
    elif message.role is Role.ASSISTANT:
        calls = message.tool_calls
        if calls:
            out["tool_calls"] = [
                {"function": {"name": c.name, "arguments": c.arguments}} for c in calls
            ]
    return out


def _calls(raw: list[_Call] | None, first: int = 0) -> list[ToolCallPart]:
    # Ollama gives calls no ids; results are matched to calls by order.
    return [
        ToolCallPart(
            id=c.id or f"call_{i}", name=c.function.name, arguments=dict(c.function.arguments)
        )
        for i, c in enumerate(raw or [], start=first)
    ]


class OllamaProvider(BaseProvider):
    """Models served by Ollama (``type = "ollama"``).

    Keys: ``base_url`` (``http://host:11434`` or ``http://host:11434/api``),
    ``default_model``, ``timeout``, ``max_retries`` and the ``retry_*`` keys,
    ``tokenizer`` (one of ``tiktoken_cl100k_base``, ``tiktoken_o200k_base``,
    ``tiktoken_p50k_base``, ``char_div_4``; approximate), ``options`` (Ollama ``options`` such as
    ``num_ctx``) and the context-length keys. Call options ``max_tokens``
    (sent as ``num_predict``), ``temperature``, ``top_p``, ``top_k``,
    ``stop`` and ``seed`` go into ``options``; ``format``, ``keep_alive``,
    ``tools`` and ``think`` at the top level.

    The context window is, in order: ``context_lengths[model]``,
    ``context_length``, ``options.num_ctx`` (what the server will use), then
    what ``/api/show`` reports (the Modelfile's ``num_ctx``, else the model's
    trained ``context_length``), the table of known models, and
    ``default_context_length``.
    """

    accepts = frozenset({ImagePart})
    known_context_lengths = {
        "llama3.3": 131_072,
        "llama3.2": 131_072,
        "llama3.1": 131_072,
        "llama3": 8_192,
        "mistral": 32_768,
        "mixtral": 32_768,
        "qwen2.5": 32_768,
        "qwen3": 40_960,
        "gemma2": 8_192,
        "gemma3": 131_072,
        "phi3": 131_072,
        "phi4": 16_384,
    }

    def __init__(self, name: str, settings: ProviderSettings):
        super().__init__(name, settings)
        tokenizer = settings.tokenizer or "tiktoken_cl100k_base"
        try:
            self.counter = text_counter(tokenizer)
        except ValueError:
            raise ConfigError(
                f"providers.{name}.tokenizer is {tokenizer!r}; use one of {', '.join(TOKENIZERS)}.",
                key=f"providers.{name}.tokenizer",
            ) from None
        root = (settings.base_url or "http://localhost:11434").rstrip("/")
        self.base_url = root[: -len("/api")] if root.endswith("/api") else root
        self._shown: dict[str, int | None] = {}
        self._capabilities: dict[str, frozenset[str]] = {}

    def make_client(self) -> httpx.AsyncClient:
        """An httpx client on the server's base URL."""
        import httpx

        headers = (
            {"Authorization": f"Bearer {self.settings.api_key}"} if self.settings.api_key else {}
        )
        return httpx.AsyncClient(
            base_url=self.base_url, timeout=self.settings.timeout, headers=headers
        )

    # -- the wire format ----------------------------------------------------

    def encode(self, request: ModelRequest) -> dict[str, Any]:
        """The ``/api/chat`` body; common options go into Ollama's ``options``."""
        options: dict[str, Any] = {}
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [_wire_message(m) for m in request.messages],
            "stream": request.stream,
        }
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        if request.output_tool is not None:
            note = f"{request.output_tool} offered, not forced: Ollama has no tool_choice"
            if note not in request.notes:
                request.notes.append(note)
        elif request.output_schema is not None:
            from llmcore.output import inline_refs

            body["format"] = inline_refs(request.output_schema)
        reasoning = self.reasoning_for(request)
        if reasoning is not None:  # gpt-oss takes an effort; the others think or not
            body["think"] = reasoning.as_effort() if request.model.startswith("gpt-oss") else True
        call = {**request.settings.options, "max_tokens": request.settings.max_tokens}
        for key, value in call.items():
            if key in _TOP_LEVEL:
                body[key] = value
            else:
                options[_OPTION_NAMES.get(key, key)] = value
        if isinstance(options.get("stop"), str):
            options["stop"] = [options["stop"]]
        if options:
            body["options"] = options
        return body

    async def _open(self, body: dict[str, Any], model: str) -> httpx.Response:
        client: httpx.AsyncClient = self.client
        response = await client.send(
            client.build_request("POST", "/api/chat", json=body), stream=True
        )
        if response.status_code >= 400:
            try:
                raw = await response.aread()
            finally:
                await response.aclose()
            raise self._status_error(response.status_code, raw, response.headers, model)
        return response

    def _status_error(self, status: int, raw: bytes, headers: Any, model: str) -> Exception:
        try:
            detail = str(msgspec.json.decode(raw).get("error", ""))
        except (msgspec.DecodeError, AttributeError):
            detail = raw.decode("utf-8", "replace")[:200]
        hint = f" Pull it first: ollama pull {model}." if status == 404 else ""
        return errors.status_error(
            self.name,
            model,
            status,
            detail,
            headers,
            limit=lambda: self.get_max_context_length(model),
            hint=hint,
        )

    async def send(self, wire: dict[str, Any], request: ModelRequest) -> bytes:
        """``POST /api/chat`` with ``stream: false``; the whole body."""
        response = await self._open(wire, request.model)
        try:
            return await response.aread()
        finally:
            await response.aclose()

    def decode(self, raw: bytes, request: ModelRequest) -> ModelResponse:
        """Read the reply body."""
        data = _decode(raw)
        if data.error:
            raise errors.status_error(self.name, request.model, 500, data.error)
        parts: list[Part] = []
        if data.message.thinking:
            parts.append(
                ReasoningPart(text=data.message.thinking, provider=self.name, model=request.model)
            )
        if data.message.content:
            parts.append(TextPart(data.message.content))
        parts += _calls(data.message.tool_calls)
        return ModelResponse(
            parts=parts,
            usage=_usage(data),
            finish_reason=data.done_reason,
            model=data.model,
            complete=True,
        )

    async def send_stream(self, wire: dict[str, Any], request: ModelRequest) -> httpx.Response:
        """``POST /api/chat`` with ``stream: true``: NDJSON lines."""
        return await self._open(wire, request.model)

    async def iterate(
        self, raw: httpx.Response, request: ModelRequest
    ) -> AsyncIterator[StreamEvent]:
        """The NDJSON lines as events; Ollama sends tool calls whole."""
        calls = 0
        async for line in raw.aiter_lines():
            if not line.strip():
                continue
            chunk = _decode(line)
            if chunk.error:
                # An error line mid-stream: Ollama reports overloads and crashes this way.
                raise errors.status_error(self.name, request.model, 500, chunk.error)
            if chunk.message.thinking:
                yield ReasoningDelta(text=chunk.message.thinking)
            if chunk.message.content:
                yield TextDelta(chunk.message.content)
            for call in _calls(chunk.message.tool_calls, first=calls):
                yield ToolCallDelta(
                    index=calls, id=call.id, name=call.name, arguments=call.arguments
                )
                calls += 1
            if chunk.done:
                usage = _usage(chunk)
                if usage is not None:
                    yield UsageEvent(usage)
                yield ResponseInfo(model=chunk.model, finish_reason=chunk.done_reason)
                return
        raise errors.stream_cut_error(self.name, request.model)

    def can_reason(self, model: str) -> bool:
        """Whether ``/api/show`` lists ``thinking`` among the model's capabilities."""
        return "thinking" in self._capabilities.get(model, frozenset())

    def check_request(self, request: ModelRequest) -> None:
        """Also refuse images given by URL, images to a model ``/api/show`` says cannot see,
        and tools to a model it says cannot call them.

        Raises:
            InvalidRequestError: before anything is sent.
        """
        super().check_request(request)
        capabilities = self._capabilities.get(request.model)  # older servers list none
        if request.tools and capabilities and "tools" not in capabilities:
            # A forced output tool is llmcore's, not the caller's: say how to do without it.
            own = [t for t in request.tools if t.name != request.output_tool]
            ways = ["call without tools="] if own else []
            if request.output_tool is not None:
                ways.append(f'set providers.{self.name}.structured_output = "native"')
            instead = " and ".join(ways)
            raise InvalidRequestError(
                f"Provider {self.name!r} (model {request.model!r}) cannot take tools: /api/show "
                f"lists no 'tools' among its capabilities ({', '.join(sorted(capabilities))}). "
                f"Use a model that calls tools (llama3.1, qwen2.5, qwen3...), or {instead}."
            )
        found = [
            (m, p) for m in request.messages for p in m.current_parts() if isinstance(p, ImagePart)
        ]
        if not found:
            return
        message, image = found[0]
        where = (
            f"Provider {self.name!r} (model {request.model!r}) cannot take an image "
            f"({image.media_type}) in a {message.role.value} message"
        )
        if any(p.url is not None for _, p in found):
            raise InvalidRequestError(
                f"{where} given by URL: Ollama takes images as their bytes. Attach the file "
                "instead."
            )
        if capabilities and "vision" not in capabilities:
            raise InvalidRequestError(
                f"{where}: /api/show lists no 'vision' among its capabilities "
                f"({', '.join(sorted(capabilities))}). Use a vision model (llava, gemma3, "
                "qwen2.5vl...), or leave the image out."
            )

    async def close_stream(self, raw: httpx.Response) -> None:
        """Close the streamed response."""
        await raw.aclose()

    def map_error(self, exc: Exception, model: str) -> Exception:
        """httpx's timeouts and connection failures; anything else broke the stream."""
        import httpx

        if isinstance(exc, msgspec.DecodeError):
            return errors.malformed_error(self.name, model, exc)
        if isinstance(exc, httpx.TimeoutException):
            return errors.timeout_error(self.name, model, self.settings.timeout)
        if isinstance(exc, httpx.ConnectError):
            return errors.connection_error(self.name, model, self.base_url, exc)
        return errors.stream_cut_error(self.name, model, exc)

    # -- models and windows -------------------------------------------------

    async def get_available_models(self) -> list[str]:
        """List the models pulled on the server (``GET /api/tags``)."""
        import httpx

        try:
            response = await self.client.get("/api/tags")
        except httpx.TransportError as exc:
            raise errors.connection_error(self.name, "-", self.base_url, exc) from exc
        if response.status_code >= 400:
            raise self._status_error(response.status_code, response.content, response.headers, "-")
        try:
            return sorted(str(m["name"]) for m in response.json().get("models", []))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise errors.malformed_error(self.name, "-", exc) from exc

    def get_max_context_length(self, model: str | None = None) -> int:
        """The window (see the class docs for the order); uses ``/api/show`` once looked up."""
        model = model or self.default_model
        if model in self.settings.context_lengths:
            return self.settings.context_lengths[model]
        if self.settings.context_length:
            return self.settings.context_length
        num_ctx = self.settings.options.get("num_ctx")
        if isinstance(num_ctx, int) and num_ctx > 0:
            return num_ctx
        shown = self._shown.get(model)
        if shown:
            return shown
        return super().get_max_context_length(model)

    async def aget_max_context_length(self, model: str | None = None) -> int:
        """Like :meth:`get_max_context_length`, asking ``/api/show`` once per model."""
        model = model or self.default_model
        if model not in self._shown:
            self._shown[model] = await self._show_context_length(model)
        return self.get_max_context_length(model)

    async def _show_context_length(self, model: str) -> int | None:
        try:
            response = await self.client.post("/api/show", json={"model": model})
            data = response.json() if response.status_code == 200 else {}
        except Exception:  # the window is a best effort: fall back to config and the table
            return None
        self._capabilities[model] = frozenset(map(str, data.get("capabilities") or ()))
        match = _NUM_CTX.search(str(data.get("parameters") or ""))
        if match:
            return int(match.group(1))
        info = data.get("model_info") or {}
        arch = info.get("general.architecture")
        length = info.get(f"{arch}.context_length")
        return length if isinstance(length, int) and length > 0 else None

    # -- tokens -----------------------------------------------------------

    def token_counter_name(self, model: str | None = None) -> str:
        """The configured approximate tokenizer."""
        return f"ollama:{self.counter.name}"

    def count_tokens(self, text: str, model: str | None = None) -> int:
        """Approximate: the configured ``tokenizer``'s count."""
        return self.counter.count(text)

    def message_tokens(self, message: Message, model: str | None = None) -> int:
        """Approximate: role, content and a chat template's framing."""
        role = 1 if message.role in (Role.USER, Role.ASSISTANT, Role.SYSTEM) else 2
        tokens = MESSAGE_OVERHEAD + role + self.counter.count(message.content)
        has_media = len(message.parts) > 1 or message.role is Role.TOOL
        return tokens + attachment_tokens(message.parts) if has_media else tokens

    async def amessage_tokens(self, message: Message, model: str | None = None) -> int:
        """Like :meth:`message_tokens`; also looks up the model's window once.

        The context stages count before they send, so the ``/api/show``
        lookup is done here for callers that only use the synchronous
        :meth:`get_max_context_length`.
        """
        await self.aget_max_context_length(model)
        return self.message_tokens(message, model)

    def request_overhead(self, model: str | None = None) -> int:
        """The tokens that prime the reply."""
        return REPLY_PRIMING


def _usage(chunk: _Chunk) -> Usage | None:
    if chunk.prompt_eval_count is None and chunk.eval_count is None:
        return None
    return Usage(input_tokens=chunk.prompt_eval_count or 0, output_tokens=chunk.eval_count or 0)
