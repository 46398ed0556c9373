"""call_provider: send the payload to the model and take its reply."""

from __future__ import annotations

from collections.abc import AsyncIterator

from llmcore.providers.base import StreamEvent
from llmcore.services import Services
from llmcore.turn import Turn

__all__ = ["CallProvider"]


class CallProvider:
    """Call the turn's provider with ``turn.payload``; fill ``turn.response``.

    With ``turn.stream`` the request is sent here (so an error such as a bad
    key raises from ``chat()`` itself) and the reply's chunks are handed to
    the runner, which streams them to the caller before the later stages run.
    """

    name = "call_provider"

    def __init__(self, services: Services):
        self.services = services

    async def __call__(self, turn: Turn) -> None:
        """Call the model."""
        provider = self.services.provider(turn.provider_name)
        turn.provider_called = True
        if turn.stream:
            events = await provider.chat_completion(
                turn.payload, model=turn.model, stream=True, **turn.provider_kwargs
            )
            turn.set_stream(self._relay(turn, events))
            return
        result = await provider.chat_completion(
            turn.payload, model=turn.model, **turn.provider_kwargs
        )
        response = turn.response
        response.text = result.text
        response.usage = result.usage
        response.finish_reason = result.finish_reason
        response.tool_calls = result.tool_calls
        response.model = result.model
        response.complete = True

    @staticmethod
    async def _relay(turn: Turn, events: AsyncIterator[StreamEvent]) -> AsyncIterator[str]:
        response = turn.response
        parts: list[str] = []
        try:
            async for event in events:
                if event.usage is not None:
                    response.usage = event.usage
                if event.finish_reason is not None:
                    response.finish_reason = event.finish_reason
                if event.model:
                    response.model = event.model
                if event.tool_calls:
                    response.tool_calls.extend(event.tool_calls)
                if event.text:
                    parts.append(event.text)
                    response.text = "".join(parts)
                    yield event.text
            response.complete = True
        finally:
            response.text = "".join(parts)
            closer = getattr(events, "aclose", None)
            if closer is not None:
                await closer()
