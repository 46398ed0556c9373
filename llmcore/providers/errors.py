"""Turning a provider's failures into llmcore's errors, the same way for every provider.

Each provider knows how to read its SDK's exceptions (status, message,
headers); the messages, ``kind`` s and ``retryable`` flags are decided here,
so a caller can handle a 429 from Anthropic like one from Ollama. Messages
name the provider and model and say what to do. They quote the provider's own
error text, which may echo the key or a URL with a password: every
:class:`~llmcore.exceptions.LLMCoreError` masks those when it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from llmcore.exceptions import ContextLengthError, ProviderError
from llmcore.providers.retry import parse_retry_after, set_retry_after

__all__ = [
    "STATUS_KINDS",
    "blocked_error",
    "clause",
    "connection_error",
    "context_length_error",
    "malformed_error",
    "status_error",
    "stream_cut_error",
    "timeout_error",
]

#: ``status -> (kind, hint)`` for the statuses that mean the same everywhere.
STATUS_KINDS: dict[int, tuple[str, str]] = {
    400: ("bad_request", ""),
    401: ("authentication", " Check the API key."),
    403: ("authentication", " The key is not allowed to use this model."),
    404: ("not_found", " Check the model name and base_url."),
    408: ("timeout", ""),
    413: ("bad_request", " The request is too large."),
    422: ("bad_request", ""),
    429: ("rate_limit", " You are sending too many requests or have run out of quota."),
}

#: Phrases with which providers say a prompt is longer than the model's window.
CONTEXT_PHRASES = (
    "context_length",
    "context length",
    "context window",
    "prompt is too long",
    "too many tokens",
    "exceeds the maximum number of tokens",
    "input token count",
)


def clause(text: object) -> str:
    """Text to embed mid-sentence: without its own final period."""
    return str(text).rstrip(". \n")


def where(provider: str, model: str) -> str:
    """How messages name the provider and model."""
    return f"{provider!r} (model {model!r})"


def context_length_error(provider: str, model: str, detail: str, limit: int) -> ContextLengthError:
    """The provider refused the prompt as longer than the model's window."""
    return ContextLengthError(
        f"{where(provider, model)} says the request is longer than the model's context window: "
        f"{clause(detail)}. Lower reserved_response_tokens or the history kept, set "
        f"providers.{provider}.context_lengths for this model, or use a model with a larger "
        "window.",
        limit=limit,
        needed=0,
    )


def status_error(
    provider: str,
    model: str,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
    *,
    limit: int | Callable[[], int] = 0,
    hint: str = "",
) -> ProviderError | ContextLengthError:
    """Map an HTTP error status (and the provider's message) to an llmcore error.

    ``limit`` is the model's window, or how to look it up: only a
    context-length error needs it.
    """
    lowered = detail.lower()
    if status in (400, 413, 422) and any(p in lowered for p in CONTEXT_PHRASES):
        window = limit() if callable(limit) else limit
        return context_length_error(provider, model, detail, window)
    kind, default_hint = STATUS_KINDS.get(status, ("server" if status >= 500 else "unknown", ""))
    error = ProviderError(
        f"{where(provider, model)} answered {status}: {clause(detail) or 'no detail'}."
        f"{hint or default_hint}",
        provider=provider,
        model=model,
        status_code=status,
        retryable=status in (408, 409, 429) or status >= 500,
        kind=kind,
    )
    return set_retry_after(error, parse_retry_after(headers))


def timeout_error(provider: str, model: str, timeout: float) -> ProviderError:
    """The provider did not answer within the configured timeout."""
    return ProviderError(
        f"{where(provider, model)} did not answer within {timeout:g} s. Raise "
        f"providers.{provider}.timeout if the model is slow.",
        provider=provider,
        model=model,
        retryable=True,
        kind="timeout",
    )


def connection_error(provider: str, model: str, url: object, exc: BaseException) -> ProviderError:
    """The provider could not be reached at all."""
    return ProviderError(
        f"Cannot reach {where(provider, model)} at {url}: {clause(exc) or type(exc).__name__}. "
        f"Check providers.{provider}.base_url and your network.",
        provider=provider,
        model=model,
        retryable=True,
        kind="connection",
    )


def malformed_error(provider: str, model: str, exc: object) -> ProviderError:
    """The reply could not be decoded."""
    return ProviderError(
        f"{where(provider, model)} sent a reply llmcore cannot read: {clause(exc)}.",
        provider=provider,
        model=model,
        kind="malformed",
    )


def stream_cut_error(provider: str, model: str, exc: object = None) -> ProviderError:
    """The stream ended (or broke) before its final event."""
    why = f": {type(exc).__name__}: {clause(exc)}" if exc is not None else ""
    return ProviderError(
        f"The stream from {where(provider, model)} ended before its final event{why}. The part "
        "received so far is kept; send the message again for a full reply.",
        provider=provider,
        model=model,
        retryable=True,
        kind="stream_interrupted",
    )


def blocked_error(provider: str, model: str, reason: str) -> ProviderError:
    """The provider blocked the prompt or the reply (safety filters)."""
    return ProviderError(
        f"{where(provider, model)} blocked the response ({reason}). Rephrase the message, or "
        f"adjust providers.{provider}.safety_settings if that is allowed for your use.",
        provider=provider,
        model=model,
        kind="blocked",
    )
