"""The provider interface every LLM backend implements, and what they all share.

:class:`BaseProvider` owns the plumbing that is the same for every
provider, as httpx's client owns it above its transports: the SDK client's
life (made on first use, closed once), retries (:mod:`llmcore._util.retry`),
mapping SDK exceptions to llmcore's errors, refusing content a provider
cannot take before anything is sent, and closing a stream on every exit. A
provider module is only its wire format: it implements

- :meth:`~BaseProvider.make_client`: the SDK client;
- :meth:`~BaseProvider.encode`: a :class:`~llmcore.exchange.ModelRequest`
  as the SDK's arguments;
- :meth:`~BaseProvider.send` / :meth:`~BaseProvider.send_stream`: the SDK call;
- :meth:`~BaseProvider.decode`: the SDK's reply as a
  :class:`~llmcore.exchange.ModelResponse`;
- :meth:`~BaseProvider.iterate`: a streamed reply as typed events;
- :meth:`~BaseProvider.map_error`: an SDK exception as an llmcore error;

plus its token counting. The specification's method names stay:
``chat_completion``, ``count_tokens``, ``count_message_tokens``,
``get_available_models``, ``get_max_context_length``, ``get_name``; a class
written against the specification (it overrides ``chat_completion`` and
returns dicts) works too (see :mod:`llmcore.providers.spec`).

Add a provider from outside llmcore by subclassing :class:`BaseProvider`
and naming it in ``[providers.NAME] type``: an entry point of the
``llmcore.providers`` group, or ``"package.module:Class"``.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

from llmcore._util.retry import (
    RetryPolicy,
    aclose,
    call_with_retries,
    open_stream_with_retries,
)
from llmcore.config.schema import ProviderSettings
from llmcore.exceptions import ConfigError, InvalidRequestError, LLMCoreError
from llmcore.exchange import (
    ModelRequest,
    ModelResponse,
    ModelSettings,
    Reasoning,
    ResponseBuilder,
    StreamEvent,
    TextDelta,
)
from llmcore.models import Message
from llmcore.parts import (
    DocumentPart,
    ImagePart,
    NativePart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from llmcore.providers import errors
from llmcore.providers.compile import compile_request

if TYPE_CHECKING:
    from llmcore.mcp.format import MCPPayload

__all__ = ["BaseProvider", "ChatResult", "ResponseStream", "StreamEvent", "resolve_settings"]

#: The reply a provider returns (the name of this type before ModelResponse).
ChatResult = ModelResponse

#: When nothing else sets ``max_tokens`` (a provider used without LLMCore).
DEFAULT_MAX_TOKENS = 4096


def resolve_settings(
    settings: ProviderSettings, call: Mapping[str, Any], reserved: int = DEFAULT_MAX_TOKENS
) -> ModelSettings:
    """The request settings of one call, decided in this one place.

    ``max_tokens``: the call's, else the provider's ``options``, else the
    provider's ``max_tokens``, else ``reserved`` (the turn's
    ``reserved_response_tokens``), so a reply never exceeds what the context
    budget kept for it. Every other option: the provider's ``options``
    overridden by the call's.

    Raises:
        InvalidRequestError: ``max_tokens`` is not a positive integer.
    """
    options = {**settings.options, **call}
    reasoning = parse_reasoning(options.pop("reasoning", None) or settings.reasoning)
    chosen = options.pop("max_tokens", None)
    alias = options.pop("max_completion_tokens", None)  # OpenAI's newer name for it
    if chosen is None:
        chosen = alias
    if chosen is None:
        chosen = settings.max_tokens or reserved
    if not isinstance(chosen, int) or isinstance(chosen, bool) or chosen < 1:
        raise InvalidRequestError(f"max_tokens must be a positive integer, got {chosen!r}.")
    return ModelSettings(max_tokens=chosen, options=options, reasoning=reasoning)


def parse_reasoning(value: object) -> Reasoning | None:
    """``"low"``, ``"medium"``, ``"high"`` or ``{"budget_tokens": N}`` as a :class:`Reasoning`.

    Raises:
        InvalidRequestError: anything else.
    """
    if value is None or isinstance(value, Reasoning):
        return value
    if isinstance(value, str) and value in Reasoning.BUDGETS:
        return Reasoning(effort=value)
    if isinstance(value, Mapping) and set(value) == {"budget_tokens"}:
        budget = value["budget_tokens"]
        if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
            return Reasoning(budget_tokens=budget)
    raise InvalidRequestError(
        f"reasoning must be 'low', 'medium', 'high' or {{'budget_tokens': N}}, got {value!r:.60}."
    )


class BaseProvider(ABC):
    """Base class of LLM providers.

    Args:
        name: the configured name (the ``[providers.NAME]`` section); a
            class written against the specification may pass its config
            dict instead.
        settings: that section's settings.

    Subclasses implement the wire format (see the module docs) and
    :meth:`count_tokens` and :meth:`message_tokens`.
    """

    #: Context windows of known models, matched by longest prefix.
    known_context_lengths: ClassVar[dict[str, int]] = {}
    #: Environment variables the SDK reads for its key, named in errors.
    api_key_env_vars: ClassVar[tuple[str, ...]] = ()
    #: Kinds of content part it can send besides text, tool calls and results.
    accepts: ClassVar[frozenset[type]] = frozenset()
    #: Whether it sends tools (``False``: a request with tools is refused).
    supports_tools: ClassVar[bool] = True
    #: The tool-call ids it takes; others are rewritten (``None``: any id).
    tool_call_id_pattern: ClassVar[re.Pattern[str] | None] = None
    #: Prefixes of the models that reason (``reasoning=`` is ignored, with a note, for others).
    reasoning_models: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str | Mapping[str, Any], settings: ProviderSettings | None = None):
        if not isinstance(name, str):  # the specification's __init__(self, config: dict)
            import msgspec

            config = dict(name)
            name = str(config.pop("name", None) or type(self).__name__.lower())
            known = set(ProviderSettings.__struct_fields__)
            settings = msgspec.convert(
                {k: v for k, v in config.items() if k in known}, ProviderSettings
            )
        self.name = name
        self.settings = settings if settings is not None else ProviderSettings()
        self.retry_policy = RetryPolicy.from_settings(self.settings)
        self._client: Any = None

    def get_name(self) -> str:
        """Return the provider's configured name."""
        return self.name

    @property
    def default_model(self) -> str:
        """The model used when a call names none."""
        if not self.settings.default_model:
            raise ConfigError(
                f"Provider {self.name!r} has no default model: pass model_name=... or set "
                f"providers.{self.name}.default_model.",
                key=f"providers.{self.name}.default_model",
            )
        return self.settings.default_model

    # -- the SDK client ---------------------------------------------------

    @property
    def client(self) -> Any:
        """The SDK client, made on first use (raises ConfigError without a key or SDK)."""
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def make_client(self) -> Any:
        """Build the SDK client (a provider with a client overrides this)."""
        return None

    async def close_client(self, client: Any) -> None:
        """Close the SDK client (its ``aclose()`` or ``close()``)."""
        await _close(client)

    async def close(self) -> None:
        """Release the provider's connections."""
        client, self._client = self._client, None
        if client is not None:
            await self.close_client(client)

    def import_sdk(self, module: str, extra: str) -> Any:
        """Import a provider SDK on first use, or say which extra installs it.

        Raises:
            ConfigError: the SDK is not installed.
        """
        import importlib

        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(
                f"Provider {self.name!r} needs the {module!r} package: "
                f"pip install 'llmcore[{extra}]'.",
                key=f"providers.{self.name}.type",
            ) from exc

    def require_api_key(self) -> str:
        """Return the configured API key or raise a ConfigError that says how to set one."""
        if self.settings.api_key:
            return self.settings.api_key
        env = f"LLMCORE_PROVIDERS_{self.name.upper()}_API_KEY"
        others = "".join(f" or {v}" for v in self.api_key_env_vars)
        raise ConfigError(
            f"No API key is configured for provider {self.name!r}. Set "
            f"providers.{self.name}.api_key in your config file, or the environment "
            f"variable {env}{others}.",
            key=f"providers.{self.name}.api_key",
        )

    # -- the specification's call -----------------------------------------

    @overload
    async def chat_completion(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        stream: Literal[False] = False,
        **kwargs: Any,
    ) -> ModelResponse: ...

    @overload
    async def chat_completion(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        stream: Literal[True],
        **kwargs: Any,
    ) -> ResponseStream: ...

    async def chat_completion(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> ModelResponse | ResponseStream:
        """Send messages to the model and return its reply.

        With ``stream=True`` the request is sent (and errors raised) before
        this returns; the returned :class:`ResponseStream` yields typed
        events. ``kwargs`` are options (``temperature``, ``max_tokens``...)
        and ``tools``.

        Raises:
            ProviderError: the call failed; see its ``kind`` and ``retryable``.
            InvalidRequestError: the request holds content or options this
                provider cannot take.
        """
        tools = list(kwargs.pop("tools", None) or ())
        request = ModelRequest(
            model=model or self.default_model,
            messages=list(messages),
            settings=resolve_settings(self.settings, kwargs),
            tools=tools,
            stream=stream,
        )
        if stream:
            return await self.stream(request)
        return await self.respond(request)

    def _written_to_spec(self) -> bool:
        return type(self).chat_completion is not BaseProvider.chat_completion

    # -- the typed request path -------------------------------------------

    async def respond(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` and return the whole reply, retrying transient failures."""
        if self._written_to_spec():
            from llmcore.providers.spec import spec_respond

            return await spec_respond(self, request)
        request = self._prepared(request)
        wire = self.encode(request)
        model = request.model

        async def once() -> ModelResponse:
            try:
                raw = await self.send(wire, request)
            except LLMCoreError:
                raise
            except Exception as exc:
                raise self.map_error(exc, model) from exc
            try:
                return self.decode(raw, request)
            except LLMCoreError:
                raise
            except Exception as exc:
                raise errors.malformed_error(self.name, model, exc) from exc

        response = await call_with_retries(once, self.retry_policy, f"{self.name} {model}")
        response.provider = self.name
        if request.output_tool is not None:
            from llmcore.providers.structured import output_tool_as_text

            output_tool_as_text(response, request.output_tool)
        return response

    async def stream(self, request: ModelRequest) -> ResponseStream:
        """Send ``request`` for a streamed reply; raise before returning if it fails.

        The stream is retried as a whole until its first text arrives, never
        after; the returned stream is closed (and its connection released) on
        every exit: read to the end, broken, closed early or never read.
        """
        if self._written_to_spec():
            from llmcore.providers.spec import spec_stream

            return await spec_stream(self, request)
        request = self._prepared(request)
        wire = self.encode(request)
        model = request.model

        async def open_stream() -> AsyncIterator[StreamEvent]:
            try:
                raw = await self.send_stream(wire, request)
            except LLMCoreError:
                raise
            except Exception as exc:
                raise self.map_error(exc, model) from exc
            events = self.iterate(raw, request)
            if request.output_tool is not None:
                from llmcore.providers.structured import stream_output_tool_as_text

                events = stream_output_tool_as_text(events, request.output_tool)
            return _Guarded(self, raw, events, model)

        events = await open_stream_with_retries(
            open_stream, _has_text, self.retry_policy, f"{self.name} {model}"
        )
        builder = ResponseBuilder(provider=self.name, reasoning_model=request.model)
        return ResponseStream(events, builder)

    #: The system message sent when a turn and its session have none (``None``: none).
    default_system_message: ClassVar[str | None] = None

    def system_message_default(self) -> str | None:
        """The system message for a turn that has none: ``system_message`` in the
        provider's settings (``""`` for none), else :attr:`default_system_message`."""
        configured = self.settings.system_message
        if configured is not None:
            return configured or None
        return self.default_system_message

    def output_mode(self, request: ModelRequest) -> Literal["native", "tool"]:
        """How ``request.output_schema`` reaches the model: its native mode or a forced tool.

        The provider's ``structured_output`` setting decides; ``"auto"`` asks
        :meth:`native_output`.
        """
        chosen = self.settings.structured_output
        if chosen != "auto":
            return chosen
        if not self.supports_tools:
            return "native"
        return "native" if self.native_output(request) else "tool"

    def native_output(self, request: ModelRequest) -> bool:
        """Whether the model has a native JSON-schema mode for this request (default: yes)."""
        return True

    def _prepared(self, request: ModelRequest) -> ModelRequest:
        """The request compiled for this provider, its output schema as a tool if need be."""
        request = compile_request(self, request)
        wants_tool = request.output_schema is not None and request.output_tool is None
        if wants_tool and self.output_mode(request) == "tool":
            from llmcore.providers.structured import with_output_tool

            request = with_output_tool(request)
            note = f"structured output through a forced tool ({request.output_tool})"
            if note not in request.notes:
                request.notes.append(note)
        self.check_request(request)
        return request

    def can_reason(self, model: str) -> bool:
        """Whether ``model`` reasons (takes ``reasoning=``); by ``reasoning_models``."""
        return model.startswith(self.reasoning_models) if self.reasoning_models else False

    def reasoning_for(self, request: ModelRequest) -> Reasoning | None:
        """The request's reasoning setting if its model takes one, else None with a note."""
        reasoning = request.settings.reasoning
        if reasoning is not None and not self.can_reason(request.model):
            note = f"reasoning ignored: {self.name} model {request.model!r} does not reason"
            if note not in request.notes:
                request.notes.append(note)
            return None
        return reasoning

    def check_request(self, request: ModelRequest) -> None:
        """Refuse, before anything is sent, what this provider cannot take.

        Raises:
            InvalidRequestError: tools to a provider without tool calling, or
                a kind of content part it cannot send.
        """
        if request.tools and not self.supports_tools:
            raise InvalidRequestError(
                f"Provider {self.name!r} (model {request.model!r}) does not support tool "
                "calling in llmcore yet. Use an OpenAI or OpenAI-compatible provider for "
                "tools, or call without tools=."
            )
        allowed = self.accepts | _ALWAYS
        for message in request.messages:
            for part in message.current_parts():
                if type(part) not in allowed:
                    raise InvalidRequestError(
                        f"Provider {self.name!r} (model {request.model!r}) cannot take "
                        f"{_describe(part)} in a {message.role.value} message. Send it to a "
                        "provider and model that accept it, or leave it out."
                    )

    # -- the wire format (what a provider implements) ----------------------

    def encode(self, request: ModelRequest) -> Any:
        """The SDK arguments (or body) for ``request``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement encode()")

    async def send(self, wire: Any, request: ModelRequest) -> Any:
        """Send the encoded request; return the SDK's reply (raise SDK exceptions)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement send()")

    def decode(self, raw: Any, request: ModelRequest) -> ModelResponse:
        """Read the SDK's whole reply."""
        raise NotImplementedError(f"{type(self).__name__} does not implement decode()")

    async def send_stream(self, wire: Any, request: ModelRequest) -> Any:
        """Send the encoded request for a stream; return the SDK's stream object."""
        raise NotImplementedError(f"{type(self).__name__} does not implement send_stream()")

    def iterate(self, raw: Any, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """The typed events of the SDK's stream (raise a stream-cut error if it ends early)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement iterate()")

    def map_error(self, exc: Exception, model: str) -> Exception:
        """An SDK exception as an llmcore error (default: a broken stream)."""
        return errors.stream_cut_error(self.name, model, exc)

    async def close_stream(self, raw: Any) -> None:
        """Release the SDK's stream object (its ``aclose()`` or ``close()``)."""
        await _close(raw)

    # -- tokens -------------------------------------------------------------

    @abstractmethod
    def count_tokens(self, text: str, model: str | None = None) -> int:
        """Count the tokens of ``text`` with the model's tokenizer."""

    @abstractmethod
    def message_tokens(self, message: Message, model: str | None = None) -> int:
        """Count one message's tokens, including the per-message overhead."""

    async def amessage_tokens(self, message: Message, model: str | None = None) -> int:
        """Async form of :meth:`message_tokens`; what the context stages call.

        Providers whose exact counts come from an API (Anthropic's
        ``count_tokens``, Gemini's ``countTokens``) override this to ask it
        (and cache the answer); the default counts locally.
        """
        return self.message_tokens(message, model)

    def request_overhead(self, model: str | None = None) -> int:
        """Tokens a request costs beyond its messages (e.g. reply priming)."""
        return 0

    def token_counter_name(self, model: str | None = None) -> str:
        """Name the tokenizer used for ``model``; cached counts are keyed by it."""
        return f"{type(self).__name__}:{model or self.default_model}"

    def count_message_tokens(self, messages: Sequence[Message], model: str | None = None) -> int:
        """Count a whole request: every message plus the request overhead."""
        return sum(self.message_tokens(m, model) for m in messages) + self.request_overhead(model)

    async def acount_message_tokens(
        self, messages: Sequence[Message], model: str | None = None
    ) -> int:
        """Async form of :meth:`count_message_tokens` (exact where an API counts)."""
        total = self.request_overhead(model)
        for message in messages:
            total += await self.amessage_tokens(message, model)
        return total

    def messages_from_mcp(self, payload: MCPPayload) -> list[Message]:
        """Turn a ``format_mcp`` payload into the messages this provider sends.

        The default restores llmcore's own messages (see ``llmcore.mcp.format``);
        a provider with native MCP content support may override it.
        """
        from llmcore.mcp.format import from_mcp

        return from_mcp(payload)

    # -- models and windows -------------------------------------------------

    async def get_available_models(self) -> list[str]:
        """Return the models this provider offers (configured or known ones)."""
        return list(self.settings.models) or sorted(self.known_context_lengths)

    def get_max_context_length(self, model: str | None = None) -> int:
        """Return the context window of ``model`` in tokens.

        Order: ``context_lengths[model]`` from config, ``context_length`` from
        config, the table of known models (longest matching prefix), then the
        configured ``default_context_length``.
        """
        model = model or self.default_model
        if model in self.settings.context_lengths:
            return self.settings.context_lengths[model]
        if self.settings.context_length:
            return self.settings.context_length
        best = ""
        for prefix in self.known_context_lengths:
            if model.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        if best:
            return self.known_context_lengths[best]
        # Once per model (a subclass may not have called BaseProvider.__init__).
        guessed: set[str] = self.__dict__.setdefault("_guessed_windows", set())
        if model not in guessed:
            guessed.add(model)
            logging.getLogger("llmcore.providers").warning(
                "Provider %r does not know the context window of model %r; fitting history to "
                "default_context_length = %d tokens. Set [providers.%s] context_lengths = "
                '{"%s" = N} to use the real window.',
                self.name,
                model,
                self.settings.default_context_length,
                self.name,
                model,
            )
        return self.settings.default_context_length

    async def aget_max_context_length(self, model: str | None = None) -> int:
        """Async form of :meth:`get_max_context_length`.

        Providers that learn a model's window from the server or the model
        file (Ollama's ``/api/show``, a GGUF file) override this to look it
        up without blocking; the default is the synchronous lookup.
        """
        return self.get_max_context_length(model)


#: Parts every provider takes (or leaves out itself: reasoning and native
#: content written by another provider is not sent).
_ALWAYS: frozenset[type] = frozenset(
    {TextPart, ToolCallPart, ToolResultPart, ReasoningPart, NativePart}
)


async def _close(resource: Any) -> None:
    """Call a resource's ``aclose()`` or ``close()``, awaiting it if it is async."""
    import inspect

    for name in ("aclose", "close"):
        closer = getattr(resource, name, None)
        if closer is not None:
            result = closer()
            if inspect.isawaitable(result):
                await result
            return


def _describe(part: Part) -> str:
    if isinstance(part, ImagePart | DocumentPart):
        kind = "an image" if type(part) is ImagePart else "a document"
        return f"{kind} ({part.media_type})"
    return f"a {type(part).__name__}"


def _has_text(event: StreamEvent) -> bool:
    return type(event) is TextDelta and bool(event.text)


class ResponseStream:
    """A streamed reply: its typed events as they arrive, and the reply they add up to.

    Iterate it for :data:`~llmcore.exchange.StreamEvent` s; :attr:`response`
    is the :class:`~llmcore.exchange.ModelResponse` received so far (the
    whole reply once the stream has ended). :meth:`aclose` closes the
    provider's stream; it is safe to call more than once.
    """

    __slots__ = ("_builder", "_events")

    def __init__(self, events: AsyncIterator[StreamEvent], builder: ResponseBuilder):
        self._events = events
        self._builder = builder

    def __aiter__(self) -> ResponseStream:
        return self

    async def __anext__(self) -> StreamEvent:
        event = await self._events.__anext__()
        self._builder.add(event)
        return event

    @property
    def text(self) -> str:
        """The reply's text received so far."""
        return self._builder.text

    @property
    def response(self) -> ModelResponse:
        """The reply as received so far."""
        response = self._builder.build()
        response.provider = self._builder.provider
        return response

    async def aclose(self) -> None:
        """Close the provider's stream."""
        await aclose(self._events)


class _Guarded:
    """A provider's event iterator with llmcore's error mapping, closed with its stream."""

    __slots__ = ("_closed", "_events", "_model", "_provider", "_raw")

    def __init__(
        self, provider: BaseProvider, raw: Any, events: AsyncIterator[StreamEvent], model: str
    ):
        self._provider = provider
        self._raw = raw
        self._events = events
        self._model = model
        self._closed = False

    def __aiter__(self) -> _Guarded:
        return self

    async def __anext__(self) -> StreamEvent:
        try:
            return await self._events.__anext__()
        except (StopAsyncIteration, LLMCoreError):
            await self.aclose()
            raise
        except Exception as exc:
            await self.aclose()
            raise self._provider.map_error(exc, self._model) from exc

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await aclose(self._events)
        finally:
            await self._provider.close_stream(self._raw)
