"""The retry loop providers use: :mod:`llmcore._util.retry`, under its older name."""

from __future__ import annotations

from llmcore._util.retry import (
    RetryPolicy,
    aclose,
    call_with_retries,
    open_stream_with_retries,
    parse_retry_after,
    retry_after_of,
    set_retry_after,
    wait_or_raise,
)

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
