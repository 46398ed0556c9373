"""A custom pipeline: two stages of our own inserted into the default one, in TOML.

``pipelines/guarded.toml`` (beside this file) extends the default pipeline:
``RedactEmails`` masks e-mail addresses in what is sent to the model (the
session keeps the original), ``ReplyStats`` counts the reply's words into
``turn.state``. Run it with any configured provider::

    OPENAI_API_KEY=sk-... python examples/custom_stage_pipeline.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anyio
import msgspec

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
                turn.payload[i] = msgspec.structs.replace(message, content=text)
                masked += n
        turn.note(f"masked {masked} e-mail address(es)")


# --8<-- [end:redact]


# --8<-- [start:stats]
async def reply_stats(turn: Turn) -> None:
    """A stage needs no class when it has no options."""
    turn.state["reply_words"] = len(turn.response.text.split())


# --8<-- [end:stats]


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
        for trace in turn.trace:
            notes = f"  ({'; '.join(trace.notes)})" if trace.notes else ""
            print(f"  {trace.name:<15} {trace.duration * 1000:7.2f} ms{notes}")


# --8<-- [end:main]


if __name__ == "__main__":
    try:
        anyio.run(main)
    except LLMCoreError as exc:
        sys.exit(f"Error: {exc}")
