"""An error looks up only what it reports: a 401 needs no context window."""

from __future__ import annotations

from llmcore import ContextLengthError, ProviderError
from llmcore.providers import errors


def test_the_window_is_looked_up_only_for_a_context_length_error() -> None:
    asked: list[str] = []

    def window() -> int:
        asked.append("window")  # the lookup may log a guess: not for an unrelated error
        return 4096

    denied = errors.status_error("openai", "m", 401, "Incorrect API key provided", limit=window)
    assert isinstance(denied, ProviderError) and asked == []
    too_long = errors.status_error(
        "openai", "m", 400, "This model's maximum context length is 4096 tokens", limit=window
    )
    assert isinstance(too_long, ContextLengthError)
    assert too_long.limit == 4096 and asked == ["window"]
