"""Ollama over its plain HTTP API, with httpx.

``POST /api/chat`` (NDJSON lines when streaming), ``GET /api/tags`` for the
models, ``POST /api/show`` for a model's context window. Usage comes from
``prompt_eval_count`` / ``eval_count``. Ollama has no token-counting
endpoint, so counts use the configured approximate ``tokenizer`` (see
:mod:`llmcore.tokens.estimate`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from llmcore.exceptions import ConfigError, ProviderError
from llmcore.models import Message, Role, ToolCall, Usage
from llmcore.providers import errors
from llmcore.providers.base import BaseProvider, ChatResult, StreamEvent
from llmcore.providers.retry import call_with_retries, open_stream_with_retries
from llmcore.tokens.estimate import TOKENIZERS, text_counter
from llmcore.tools.messages import tool_calls_of

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
    """A message in ``/api/chat`` form, tool calls and results included."""
    out: dict[str, Any] = {"role": message.role.value, "content": message.content}
    if message.role is Role.TOOL:
        result = message.tool_result
        out["tool_name"] = (result.name if result is not None else None) or ""
    elif message.role is Role.ASSISTANT:
        calls = tool_calls_of(message)
        if calls:
            out["tool_calls"] = [
                {"function": {"name": c.name, "arguments": c.arguments}} for c in calls
            ]
    return out


def _calls(raw: list[_Call] | None) -> list[ToolCall]:
    # Ollama gives calls no ids; results are matched to calls by order.
    return [
        ToolCall(id=c.id or f"call_{i}", name=c.function.name, arguments=dict(c.function.arguments))
        for i, c in enumerate(raw or [])
    ]


class OllamaProvider(BaseProvider):
    """Models served by Ollama (``type = "ollama"``).

    Keys: ``base_url`` (``http://host:11434`` or ``http://host:11434/api``),
    ``default_model``, ``timeout``, ``max_retries`` and the ``retry_*`` keys,
    ``tokenizer`` (one of ``tiktoken_cl100k_base``, ``tiktoken_o200k_base``,
    ``char_div_4``; approximate), ``options`` (Ollama ``options`` such as
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
        self._client: httpx.AsyncClient | None = None
        self._shown: dict[str, int | None] = {}

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            headers = (
                {"Authorization": f"Bearer {self.settings.api_key}"}
                if self.settings.api_key
                else {}
            )
            self._client = httpx.AsyncClient(
                base_url=self.base_url, timeout=self.settings.timeout, headers=headers
            )
        return self._client

    # -- requests ---------------------------------------------------------

    def _body(
        self, messages: Sequence[Message], model: str, kwargs: dict[str, Any], stream: bool
    ) -> dict[str, Any]:
        tools = kwargs.pop("tools", None)
        options = dict(self.settings.options)
        body: dict[str, Any] = {
            "model": model,
            "messages": [_wire_message(m) for m in messages],
            "stream": stream,
        }
        if tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
        for key, value in kwargs.items():
            if key in _TOP_LEVEL:
                body[key] = value
            else:
                options[_OPTION_NAMES.get(key, key)] = value
        if isinstance(options.get("stop"), str):
            options["stop"] = [options["stop"]]
        if options:
            body["options"] = options
        return body

    async def _send(self, body: dict[str, Any], model: str) -> httpx.Response:
        import httpx

        client = self._get_client()
        request = client.build_request("POST", "/api/chat", json=body)
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise errors.timeout_error(self.name, model, self.settings.timeout) from exc
        except httpx.TransportError as exc:
            raise errors.connection_error(self.name, model, self.base_url, exc) from exc
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
        limit = self.get_max_context_length(model)
        return errors.status_error(
            self.name, model, status, detail, headers, limit=limit, hint=hint
        )

    async def complete(
        self, messages: Sequence[Message], *, model: str, **kwargs: Any
    ) -> ChatResult:
        """Return the whole reply (``/api/chat`` with ``stream: false``)."""
        body = self._body(messages, model, kwargs, stream=False)

        async def once() -> _Chunk:
            response = await self._send(body, model)
            try:
                raw = await response.aread()
            except Exception as exc:
                raise self._transport_error(exc, model) from exc
            finally:
                await response.aclose()
            try:
                return _decode(raw)
            except msgspec.DecodeError as exc:
                raise errors.malformed_error(self.name, model, exc) from exc

        data = await call_with_retries(once, self.retry_policy, f"{self.name} {model}")
        if data.error:
            raise errors.status_error(self.name, model, 500, data.error)
        return ChatResult(
            text=data.message.content,
            usage=_usage(data),
            finish_reason=data.done_reason,
            tool_calls=_calls(data.message.tool_calls),
            model=data.model,
        )

    async def stream(
        self, messages: Sequence[Message], *, model: str, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """Open a streamed reply (NDJSON lines) and return its events."""
        body = self._body(messages, model, kwargs, stream=True)

        async def open_stream() -> AsyncIterator[StreamEvent]:
            return self._events(await self._send(body, model), model)

        return await open_stream_with_retries(
            open_stream, lambda e: bool(e.text), self.retry_policy, f"{self.name} {model}"
        )

    async def _events(self, response: httpx.Response, model: str) -> AsyncIterator[StreamEvent]:
        try:
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                try:
                    chunk = _decode(line)
                except msgspec.DecodeError as exc:
                    raise errors.malformed_error(self.name, model, exc) from exc
                if chunk.error:
                    # An error line mid-stream: Ollama reports overloads and crashes this way.
                    raise errors.status_error(self.name, model, 500, chunk.error)
                calls = _calls(chunk.message.tool_calls)
                if chunk.done:
                    yield StreamEvent(
                        text=chunk.message.content,
                        usage=_usage(chunk),
                        finish_reason=chunk.done_reason,
                        model=chunk.model,
                        tool_calls=calls,
                    )
                    return
                yield StreamEvent(text=chunk.message.content, model=chunk.model, tool_calls=calls)
            raise errors.stream_cut_error(self.name, model)
        except ProviderError:
            raise
        except Exception as exc:
            raise self._transport_error(exc, model) from exc
        finally:
            await response.aclose()

    def _transport_error(self, exc: Exception, model: str) -> ProviderError:
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return errors.timeout_error(self.name, model, self.settings.timeout)
        return errors.stream_cut_error(self.name, model, exc)

    # -- models and windows -------------------------------------------------

    async def get_available_models(self) -> list[str]:
        """List the models pulled on the server (``GET /api/tags``)."""
        import httpx

        try:
            response = await self._get_client().get("/api/tags")
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
            response = await self._get_client().post("/api/show", json={"model": model})
            data = response.json() if response.status_code == 200 else {}
        except Exception:  # the window is a best effort: fall back to config and the table
            return None
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
        return MESSAGE_OVERHEAD + role + self.counter.count(message.content)

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

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _usage(chunk: _Chunk) -> Usage | None:
    if chunk.prompt_eval_count is None and chunk.eval_count is None:
        return None
    return Usage(input_tokens=chunk.prompt_eval_count or 0, output_tokens=chunk.eval_count or 0)
