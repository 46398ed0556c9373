"""llmcore's one retry loop: exponential backoff with jitter, honouring Retry-After.

Providers (through :class:`~llmcore.providers.base.BaseProvider`) and the
embedding models that call an API run their requests through
:func:`call_with_retries`, with the SDKs' own retries turned off so the two
never stack. An error is retried when its ``retryable`` flag is set (429,
408, 409, 5xx, timeouts, dropped connections) and waits what its
``retry_after`` says when the server said; a provider's stream is retried
only until its first text chunk is handed on (``BaseProvider.stream``), never
after, so a caller never sees a reply twice.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio

from llmcore.exceptions import ProviderError

__all__ = [
    "RetryPolicy",
    "aclose",
    "call_with_retries",
    "open_stream_with_retries",
    "parse_retry_after",
    "retry_after_of",
    "set_retry_after",
    "wait_or_raise",
]

logger = logging.getLogger("llmcore.retry")

T = TypeVar("T")
E = TypeVar("E", bound=Exception)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait before trying a request again.

    Attempt ``n`` (0-based) waits ``min(backoff * 2**n, max_backoff)``,
    scaled by a random factor in ``[1 - jitter, 1]``, unless the provider
    said how long to wait (``Retry-After``): then exactly that, if it is no
    longer than ``max_backoff``, else the error is raised at once.
    """

    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        """The policy a ``[providers.NAME]`` section configures."""
        return cls(
            max_retries=settings.max_retries,
            backoff=settings.retry_backoff,
            max_backoff=settings.retry_max_backoff,
            jitter=settings.retry_jitter,
        )

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``; None: do not retry."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_backoff else None
        base: float = min(self.backoff * 2.0**attempt, self.max_backoff)
        return base * (1 - self.jitter * random.random())


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds a server asked to wait: ``retry-after-ms``, else ``retry-after`` (secs or date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def set_retry_after(error: E, seconds: float | None) -> E:
    """Attach the server's ``Retry-After`` (seconds) to an error as ``error.retry_after``."""
    error.retry_after = seconds  # type: ignore[attr-defined]  # declared by the error types
    return error


def retry_after_of(error: BaseException) -> float | None:
    """The ``retry_after`` seconds attached to an error, if any."""
    value = getattr(error, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None


async def wait_or_raise(error: Exception, policy: RetryPolicy, attempt: int, what: str) -> None:
    """Sleep before retry ``attempt + 1`` of ``what``, or raise ``error`` if it is not retried."""
    if not getattr(error, "retryable", False):
        raise error
    delay = policy.delay(attempt, retry_after_of(error))
    if delay is None:
        raise error
    logger.warning(
        "%s failed (%s, attempt %d of %d); retrying in %.2f s",
        what,
        getattr(error, "kind", None) or type(error).__name__,
        attempt + 1,
        policy.max_retries + 1,
        delay,
    )
    await anyio.sleep(delay)


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    what: str = "request",
    *,
    retry_on: type[Exception] | tuple[type[Exception], ...] = ProviderError,
) -> T:
    """Await ``call()``; on a retryable error of ``retry_on``, wait and call it again.

    ``call`` must raise llmcore's mapped errors (with ``retryable`` and
    ``retry_after``). The last error is raised once ``policy.max_retries``
    retries are spent.
    """
    attempt = 0
    while True:
        try:
            return await call()
        except retry_on as error:
            await wait_or_raise(error, policy, attempt, what)
            attempt += 1


async def open_stream_with_retries(
    open_stream: Callable[[], Awaitable[AsyncIterator[V]]],
    has_text: Callable[[V], bool],
    policy: RetryPolicy,
    what: str = "stream",
) -> AsyncIterator[V]:
    """Open a stream and read up to its first text event, retrying before that.

    Events before the first one with text (message start, usage...) are held
    back and replayed, so a stream that fails before saying anything is
    retried as a whole; once a text event is returned, errors are raised to
    the caller and never retried. Returns an iterator over all the events,
    whose ``aclose()`` closes the stream even if it was never read.
    """
    attempt = 0
    while True:
        events = await call_with_retries(open_stream, policy, what)
        held: list[V] = []
        try:
            async for event in events:
                held.append(event)
                if has_text(event):
                    break
        except ProviderError as error:
            await aclose(events)
            await wait_or_raise(error, policy, attempt, what)
            attempt += 1
            continue
        except BaseException:
            await aclose(events)
            raise
        return _Replay(held, events)


class _Replay(Generic[V]):
    """The held-back events, then the rest of the stream; closing closes the stream."""

    __slots__ = ("_held", "_rest")

    def __init__(self, held: list[V], rest: AsyncIterator[V]):
        self._held = held
        self._rest = rest

    def __aiter__(self) -> _Replay[V]:
        return self

    async def __anext__(self) -> V:
        if self._held:
            return self._held.pop(0)
        return await self._rest.__anext__()

    async def aclose(self) -> None:
        self._held = []
        await aclose(self._rest)


async def aclose(stream: object) -> None:
    """Close an async iterator that has an ``aclose`` (an async generator, an SDK stream)."""
    closer = getattr(stream, "aclose", None)
    if closer is not None:
        await closer()
