"""Per-message token counts, cached on the message itself.

A message's count (``Message.tokens``) is valid for the counter that made it
(``Message.tokens_by``); it is stored with the message, so a turn counts only
what is new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmcore.models import Message

if TYPE_CHECKING:
    from llmcore.providers.base import BaseProvider

__all__ = ["MessageCounter"]


class MessageCounter:
    """Counts messages for one provider and model, reusing cached counts."""

    def __init__(self, provider: BaseProvider, model: str):
        self.provider = provider
        self.model = model
        self.name = provider.token_counter_name(model)

    def __call__(self, message: Message) -> int:
        """Return the message's tokens (with overhead), caching them on it."""
        if message.tokens is not None and message.tokens_by == self.name:
            return message.tokens
        tokens = self.provider.message_tokens(message, self.model)
        message.tokens = tokens
        message.tokens_by = self.name
        return tokens

    def total(self, messages: list[Message]) -> int:
        """Sum of the messages' tokens."""
        return sum(self(m) for m in messages)

    async def acount(self, message: Message) -> int:
        """Async form of calling the counter (uses the provider's async count)."""
        if message.tokens is not None and message.tokens_by == self.name:
            return message.tokens
        tokens = await self.provider.amessage_tokens(message, self.model)
        message.tokens = tokens
        # Re-read: a provider that fell back to an offline estimate names it
        # differently, so the estimate is recounted once the API is back.
        message.tokens_by = self.provider.token_counter_name(self.model)
        return tokens

    async def atotal(self, messages: list[Message]) -> int:
        """Async sum of the messages' tokens."""
        total = 0
        for message in messages:
            total += await self.acount(message)
        return total
