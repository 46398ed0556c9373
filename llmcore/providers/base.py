"""The provider interface every LLM backend implements.

A provider turns a list of :class:`~llmcore.models.Message` into a reply,
streamed or not, and knows its models: how to count their tokens and how
large their context windows are. Add a provider from outside llmcore by
subclassing :class:`BaseProvider` and registering the class under the
``llmcore.providers`` entry point group (see ``docs/extending.md``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

from llmcore.config.schema import ProviderSettings
from llmcore.exceptions import ConfigError
from llmcore.models import Message, ToolCall, Usage
from llmcore.providers.retry import RetryPolicy

if TYPE_CHECKING:
    from llmcore.mcp.format import MCPPayload

__all__ = ["BaseProvider", "ChatResult", "StreamEvent"]


@dataclass(slots=True)
class ChatResult:
    """A complete (non-streamed) reply."""

    text: str
    usage: Usage | None = None
    finish_reason: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    model: str | None = None


@dataclass(slots=True)
class StreamEvent:
    """One piece of a streamed reply: text, and on the last events, the rest."""

    text: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)


class BaseProvider(ABC):
    """Base class of LLM providers.

    Args:
        name: the configured name (the ``[providers.NAME]`` section).
        settings: that section's settings.

    Subclasses implement :meth:`chat_completion`, :meth:`count_tokens` and
    :meth:`message_tokens`; everything else has a sensible default.
    """

    #: Context windows of known models, matched by longest prefix.
    known_context_lengths: ClassVar[dict[str, int]] = {}
    #: Environment variables the SDK reads for its key, named in errors.
    api_key_env_vars: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, settings: ProviderSettings):
        self.name = name
        self.settings = settings
        self.retry_policy = RetryPolicy.from_settings(settings)

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

    def refuse_tools(self, kwargs: dict[str, Any], model: str) -> None:
        """Raise a clear error when tools are passed to a provider that cannot take them yet."""
        if kwargs.get("tools"):
            from llmcore.exceptions import InvalidRequestError

            raise InvalidRequestError(
                f"Provider {self.name!r} (model {model!r}) does not support tool calling in "
                "llmcore yet. Use an OpenAI or OpenAI-compatible provider for tools, or call "
                "without tools=."
            )
        kwargs.pop("tools", None)

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

    @overload
    async def chat_completion(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        stream: Literal[False] = False,
        **kwargs: Any,
    ) -> ChatResult: ...

    @overload
    async def chat_completion(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        stream: Literal[True],
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    async def chat_completion(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> ChatResult | AsyncIterator[StreamEvent]:
        """Send messages to the model and return its reply.

        With ``stream=True`` the request is sent (and errors raised) before
        this returns; the returned iterator yields :class:`StreamEvent` s.
        ``kwargs`` are provider options (``temperature``, ``max_tokens``...).

        Raises:
            ProviderError: the call failed; see its ``kind`` and ``retryable``.
        """
        model = model or self.default_model
        if stream:
            return await self.stream(messages, model=model, **kwargs)
        return await self.complete(messages, model=model, **kwargs)

    @abstractmethod
    async def complete(
        self, messages: Sequence[Message], *, model: str, **kwargs: Any
    ) -> ChatResult:
        """Return the whole reply to ``messages``."""

    @abstractmethod
    async def stream(
        self, messages: Sequence[Message], *, model: str, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """Start a streamed reply; raise before returning if the request fails."""

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
        return self.settings.default_context_length

    async def aget_max_context_length(self, model: str | None = None) -> int:
        """Async form of :meth:`get_max_context_length`.

        Providers that learn a model's window from the server or the model
        file (Ollama's ``/api/show``, a GGUF file) override this to look it
        up without blocking; the default is the synchronous lookup.
        """
        return self.get_max_context_length(model)

    async def close(self) -> None:
        """Release the provider's connections."""
        return None
