"""Providers whose exact token counts come from their API (Anthropic, Gemini)."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from llmcore.config.schema import ProviderSettings
from llmcore.models import Message, Role
from llmcore.providers.base import BaseProvider
from llmcore.tokens.api_counter import ApiTokenCounter, scaled_estimate
from llmcore.tokens.attachments import attachment_tokens

__all__ = ["ApiCountedProvider"]


class ApiCountedProvider(BaseProvider):
    """Counts with the provider's token-count endpoint, cached per message.

    While the endpoint cannot be reached the counts are an offline estimate,
    ``ceil(cl100k_base tokens * estimate_factor) + message_overhead`` per
    message, and the counter name says so (``KIND-estimate:MODEL``), so the
    estimated counts are recounted once the API answers again.
    """

    #: Names the counter: ``KIND:MODEL`` (exact) or ``KIND-estimate:MODEL``.
    counter_kind: ClassVar[str]
    #: How many more tokens the provider's tokenizer makes than cl100k_base.
    estimate_factor: ClassVar[float]
    #: Tokens of framing per message.
    message_overhead: ClassVar[int] = 3

    def __init__(self, name: str, settings: ProviderSettings):
        super().__init__(name, settings)
        self.token_api = ApiTokenCounter(name, self._api_message_tokens, self.message_tokens)

    @abstractmethod
    async def _api_message_tokens(self, message: Message, model: str) -> int:
        """Ask the API for one message's tokens (raises when it cannot)."""

    def token_counter_name(self, model: str | None = None) -> str:
        """``KIND:MODEL``, or ``KIND-estimate:MODEL`` while the API is unreachable."""
        kind = self.counter_kind if self.token_api.available else f"{self.counter_kind}-estimate"
        return f"{kind}:{model or self.default_model}"

    def count_tokens(self, text: str, model: str | None = None) -> int:
        """The offline estimate of ``text`` 's tokens (the exact count needs the API)."""
        return scaled_estimate(text, self.estimate_factor)

    def message_tokens(self, message: Message, model: str | None = None) -> int:
        """The offline estimate of one message, with its framing."""
        tokens = self.message_overhead + scaled_estimate(message.content, self.estimate_factor)
        return tokens + attachment_tokens(message.parts) if _has_media(message) else tokens

    async def amessage_tokens(self, message: Message, model: str | None = None) -> int:
        """Exact: the API's count of the message alone (cached).

        The count includes the few tokens of framing a one-message request
        has, so a sum over messages errs slightly high, never low.
        """
        return await self.token_api.count(message, model or self.default_model)


def _has_media(message: Message) -> bool:
    """Whether the message may hold images or documents (its own, or a tool result's)."""
    return len(message.parts) > 1 or message.role is Role.TOOL
