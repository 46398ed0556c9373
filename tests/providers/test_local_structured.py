"""Structured output from the real SmolLM2-135M GGUF: llama.cpp's grammar keeps it in the schema."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from enum import Enum

import msgspec

from llmcore import LLMCore
from llmcore.config.schema import ProviderSettings
from llmcore.providers.local import LocalProvider

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


class Mood(Enum):
    HAPPY = "happy"
    SAD = "sad"


class Review(msgspec.Struct):
    """A film review, summed up."""

    film: str
    stars: int
    mood: Mood


async def test_a_tiny_local_model_answers_in_the_type(llm_for: MakeLLM) -> None:
    LocalProvider("local", ProviderSettings(default_model="smollm2"))._load_sync("smollm2")
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "Review: 'Heat' was wonderful, five stars. Extract film, stars and mood.",
            output_type=Review,
            provider_name="local",
            temperature=0.0,
            max_tokens=60,
        )
    review = turn.response.output
    assert isinstance(review, Review) and isinstance(review.mood, Mood)
    assert msgspec.json.decode(turn.response.text, type=Review) == review
    # The grammar made the first reply valid: no repair round was needed.
    assert not any("repair round" in n for t in turn.trace for n in t.notes)
