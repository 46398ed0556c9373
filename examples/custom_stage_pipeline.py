"""A custom pipeline: two stages of our own inserted into the default one, in TOML.

``pipelines/guarded.toml`` (beside this file) extends the default pipeline:
``RedactEmails`` masks e-mail addresses in what is sent to the model (the
session keeps the original), ``reply_stats`` counts the reply's words into
``turn.state``, and ``ReplyTimer``, a wrapping stage, times the model's
answer. Run it with any configured provider::

    OPENAI_API_KEY=sk-... python examples/custom_stage_pipeline.py
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from llmcore import LLMCore, LLMCoreError, Role, Turn

HERE = Path(__file__).resolve().parent
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


# --8<-- [start:redact]
class RedactEmails:
    """Mask e-mail addresses in the user's messages of the payload."""

    name = "redact_emails"

    def __init__(self, *, mask: str = "[redacted]"):
        # Options are checked when the pipeline loads, not mid-turn.
        if not mask or EMAIL.search(mask):
            raise ValueError("mask must be a non-empty text that is not an e-mail address")
        self.mask = mask

    async def __call__(self, turn: Turn) -> None:
        masked = 0
        for i, message in enumerate(turn.payload):
            if message.role is Role.USER and EMAIL.search(message.content):
                text, n = EMAIL.subn(self.mask, message.content)
                # A copy: the stored message (turn.user_message) keeps the original.
                turn.payload[i] = message.with_text(text)
                masked += n
        turn.note(f"masked {masked} e-mail address(es)")


# --8<-- [end:redact]


# --8<-- [start:stats]
async def reply_stats(turn: Turn) -> None:
    """A stage needs no class when it has no options."""
    turn.state["reply_words"] = len(turn.response.text.split())


# --8<-- [end:stats]


# --8<-- [start:timer]
class ReplyTimer:
    """A wrapping stage: it runs the stages after it, and acts once they are done."""

    name = "reply_timer"

    async def __call__(self, turn: Turn, call_next: Callable[[Turn], Awaitable[None]]) -> None:
        began = time.perf_counter()
        try:
            await call_next(turn)  # the rest of the pipeline (for a stream: until it ends)
        finally:
            turn.state["reply_ms"] = (time.perf_counter() - began) * 1000


# --8<-- [end:timer]


# --8<-- [start:main]
async def main() -> None:
    # The folder of our definitions; everything else comes from the environment.
    async with LLMCore(config_overrides={"pipelines.paths": [str(HERE / "pipelines")]}) as llm:
        turn = await llm.chat_turn(
            "Please write to ada@example.com that the release is ready.",
            session_id="guarded-demo",
            pipeline="guarded",
        )
        print(f"Reply: {turn.response.text}")
        print(f"Sent to the model: {turn.payload[-1].content}")
        print(f"Reply words: {turn.state['reply_words']}")
        print(f"Reply took {turn.state['reply_ms']:.0f} ms")
        for trace in turn.trace:
            notes = f"  ({'; '.join(trace.notes)})" if trace.notes else ""
            print(f"  {trace.name:<15} {trace.duration * 1000:7.2f} ms{notes}")


# --8<-- [end:main]


if __name__ == "__main__":
    try:
        anyio.run(main)
    except LLMCoreError as exc:
        sys.exit(f"Error: {exc}")
