"""The exceptions llmcore raises.

Every error llmcore raises on purpose derives from :class:`LLMCoreError`, so an
application can catch one type at its boundary. The subclasses carry the facts
a caller needs to act (which provider, which stage, which setting), and every
message says what to do next. Secrets never appear in messages: see
:class:`LLMCoreError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmcore._util.redact import redact_text

__all__ = [
    "ConfigError",
    "ContextError",
    "ContextLengthError",
    "EmbeddingError",
    "InvalidRequestError",
    "LLMCoreError",
    "MCPError",
    "OutputValidationError",
    "PipelineError",
    "ProviderError",
    "SessionNotFoundError",
    "SessionStorageError",
    "StorageError",
    "ToolRoundsError",
    "VectorStorageError",
    "VectorStoreError",
]


class LLMCoreError(Exception):
    """Base class of every error llmcore raises on purpose.

    Its message (every string argument) goes through
    :func:`llmcore._util.redact.redact_text` when the error is made, so a
    configured secret, or a credential a provider echoes back, shows as
    ``***`` in ``str()``, ``repr()`` and tracebacks of the error.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact_text(a) if isinstance(a, str) else a for a in args))


class InvalidRequestError(LLMCoreError, ValueError):
    """An argument of a call is invalid (an empty message, a bad session id...).

    It is also a ``ValueError``, so code that catches that keeps working.
    """


class ConfigError(LLMCoreError):
    """The configuration is invalid or incomplete.

    Attributes:
        key: the dotted configuration key at fault, when one is known.
        source: where the value came from (``defaults``, a file path, an
            environment variable name, ``overrides``), when known.
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None):
        super().__init__(message)
        self.key = key
        self.source = source


class ProviderError(LLMCoreError):
    """A provider call failed.

    Attributes:
        provider: the configured provider name (e.g. ``openai``).
        model: the model the call was for, when known.
        status_code: the HTTP status the provider answered with, if any.
        retryable: whether trying again later may succeed (rate limits,
            server errors, timeouts, dropped connections).
        kind: a short machine-readable category: ``authentication``,
            ``rate_limit``, ``bad_request``, ``not_found``, ``server``,
            ``timeout``, ``connection``, ``blocked``, ``stream_interrupted``,
            ``malformed`` or ``unknown``.
        retry_after: seconds the provider asked to wait (its ``Retry-After``),
            when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str | None = None,
        status_code: int | None = None,
        retryable: bool = False,
        kind: str = "unknown",
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.retryable = retryable
        self.kind = kind
        self.retry_after = retry_after


class StorageError(LLMCoreError):
    """A storage backend failed.

    Attributes:
        backend: the backend type (``sqlite``, ``json``, ``postgres``, ...).
        operation: what was being done (``append_messages``, ``get_session``...).
    """

    def __init__(self, message: str, *, backend: str = "", operation: str = ""):
        super().__init__(message)
        self.backend = backend
        self.operation = operation


class SessionStorageError(StorageError):
    """The session store failed; the stored sessions are left as they were."""


class VectorStorageError(StorageError):
    """The vector store failed, or a collection was used inconsistently."""


#: The specification's name for :class:`VectorStorageError` (the same class).
VectorStoreError = VectorStorageError


class ContextError(LLMCoreError):
    """The context for a turn could not be assembled."""


class ContextLengthError(ContextError):
    """What must be sent does not fit the model's context window.

    Attributes:
        limit: tokens available for the prompt (window minus the reserve).
        needed: tokens the parts that cannot be dropped take.
        dropped: descriptions of what was already dropped to try to fit.
    """

    def __init__(self, message: str, *, limit: int, needed: int, dropped: Sequence[str] = ()):
        super().__init__(message)
        self.limit = limit
        self.needed = needed
        self.dropped = list(dropped)


class EmbeddingError(LLMCoreError):
    """An embedding model failed to load or to embed."""


class SessionNotFoundError(LLMCoreError):
    """A session that must exist does not.

    Attributes:
        session_id: the id that was not found.
    """

    def __init__(self, message: str, *, session_id: str):
        super().__init__(message)
        self.session_id = session_id


class PipelineError(LLMCoreError):
    """A pipeline definition is invalid, or a stage failed unexpectedly.

    Attributes:
        stage: the stage's name in the pipeline, when the error is about one.
        definition: the pipeline definition's name.
    """

    def __init__(self, message: str, *, stage: str | None = None, definition: str | None = None):
        super().__init__(message)
        self.stage = stage
        self.definition = definition


class MCPError(LLMCoreError):
    """A Model Context Protocol server or call failed.

    Attributes:
        server: the configured server name.
        call: the call that failed (``tools/call``, ``resources/read``...).
    """

    def __init__(self, message: str, *, server: str | None = None, call: str | None = None):
        super().__init__(message)
        self.server = server
        self.call = call


class ToolRoundsError(LLMCoreError):
    """The model asked for tools again after the turn's last allowed tool round.

    The calls it asked for were not run; they are stored with a "not run"
    result each, so the session stays a valid conversation.

    Attributes:
        rounds: the limit that was reached (``max_tool_rounds``).
        calls: the names of the tools the model asked for and did not get.
    """

    def __init__(self, message: str, *, rounds: int, calls: Sequence[str] = ()):
        super().__init__(message)
        self.rounds = rounds
        self.calls = list(calls)


class OutputValidationError(LLMCoreError):
    """The model's reply did not match ``output_type``, after every repair round.

    The reply is kept in the session (marked ``output_valid: False``), so
    nothing the model said is lost.

    Attributes:
        raw_text: the model's last reply, as it wrote it.
        errors: what was wrong with it (the validator's messages).
        attempts: how many replies were validated (1 + the repair rounds).
    """

    def __init__(self, message: str, *, raw_text: str, errors: Sequence[str], attempts: int = 1):
        super().__init__(message)
        self.raw_text = raw_text
        self.errors = list(errors)
        self.attempts = attempts
