"""Retries and error messages shared by the embedding models that call an API.

Transient failures (429, 408, 5xx, timeouts, dropped connections) are retried
with the providers' backoff (exponential with jitter, honouring Retry-After)
up to ``[embedding.KIND] max_retries`` times; anything else is raised at once
as an :class:`~llmcore.exceptions.EmbeddingError` that says what to check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from llmcore._util import retry
from llmcore._util.retry import RetryPolicy, parse_retry_after
from llmcore.exceptions import EmbeddingError

__all__ = ["RemoteEmbeddingError", "call_with_retries", "status_error"]

T = TypeVar("T")

_RETRYABLE = {408, 409, 429}
_HINTS = {
    400: " The request was rejected; check the model name and the texts.",
    401: " Check the API key.",
    403: " The key is not allowed to use this model.",
    404: " Check the model name and base_url.",
    429: " You are sending too many requests or have run out of quota.",
}


class RemoteEmbeddingError(EmbeddingError):
    """An embedding API call failed.

    Attributes:
        status_code: the HTTP status, when the server answered.
        retryable: whether trying again later may succeed.
        retry_after: seconds the server asked to wait, if it did.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after


def status_error(
    name: str,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
) -> RemoteEmbeddingError:
    """The error for an HTTP error status from embedding model ``name``."""
    hint = _HINTS.get(status, " The server failed; try again later." if status >= 500 else "")
    detail = detail.strip().rstrip(".")
    return RemoteEmbeddingError(
        f"Embedding model {name!r} answered HTTP {status}"
        f"{': ' + detail[:300] if detail else ''}.{hint}",
        status_code=status,
        retryable=status in _RETRYABLE or status >= 500,
        retry_after=parse_retry_after(headers),
    )


async def call_with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy, name: str) -> T:
    """Await ``call()``, retrying retryable :class:`RemoteEmbeddingError` s (the shared loop)."""
    return await retry.call_with_retries(
        call, policy, f"Embedding with {name}", retry_on=RemoteEmbeddingError
    )
