"""Turning an llmcore error into one readable line and a hint of what to do."""

from __future__ import annotations

__all__ = ["describe_error", "unwrap"]


def unwrap(exc: BaseException) -> BaseException:
    """The one error inside (nested) single-error exception groups, else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def describe_error(exc: BaseException) -> tuple[str, str]:
    """Return the error's one-line message and a hint for the next step."""
    from llmcore import exceptions as e
    from llmcore._util.redact import redact_text

    # LLMCoreErrors are redacted already; other errors may carry a URL or a key.
    message = " ".join(redact_text(str(exc)).split()) or type(exc).__name__
    hint = ""
    if isinstance(exc, e.ProviderError):
        hint = _provider_hint(exc)
    elif isinstance(exc, e.ConfigError):
        hint = "See every setting and where it comes from with: llmchat config show"
    elif isinstance(exc, e.SessionNotFoundError):
        hint = "List the stored sessions with: llmchat sessions list"
    elif isinstance(exc, e.ContextLengthError):
        hint = "Start a new session (/clear in the chat) or pick a model with a larger window."
    elif isinstance(exc, e.PipelineError):
        hint = "List the pipelines with: llmchat pipeline list"
    elif isinstance(exc, e.VectorStorageError):
        hint = "List the collections with: llmchat rag collections"
    elif isinstance(exc, e.SessionStorageError):
        hint = "Check storage.session in: llmchat config show"
    return message, hint


def _provider_hint(exc: BaseException) -> str:
    kind = getattr(exc, "kind", "")
    name = getattr(exc, "provider", "") or "NAME"
    return {
        "authentication": f"Check providers.{name}.api_key (llmchat config show).",
        "rate_limit": f"Wait a little and retry; providers.{name}.max_retries sets the retries.",
        "not_found": f"List the models with: llmchat models {name}",
        "timeout": f"Retry, or raise providers.{name}.timeout.",
        "connection": f"Check providers.{name}.base_url and that the server is reachable.",
        "server": "The provider failed; retry in a moment.",
    }.get(kind, "")
