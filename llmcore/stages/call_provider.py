"""call_provider: send the payload to the model, run its tool calls, take its reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from llmcore.models import ToolCall, Usage
from llmcore.providers.base import BaseProvider, ChatResult
from llmcore.services import Services
from llmcore.tools.messages import assistant_message, tool_message
from llmcore.tools.run import run_tool_calls
from llmcore.turn import Turn

__all__ = ["CallProvider"]


class CallProvider:
    """Call the turn's provider with ``turn.payload``; fill ``turn.response``.

    When the turn has tools and the model asks for them, the calls run
    (concurrently), their results are appended to the payload, and the model
    is called again, up to ``max_tool_rounds`` rounds. The assistant's tool
    calls and the results are added to ``turn.new_messages`` so the session
    keeps them. With ``turn.stream`` the first request is sent here (so an
    error such as a bad key raises from ``chat()`` itself), and the text of
    every round is streamed to the caller.
    """

    name = "call_provider"

    def __init__(self, services: Services):
        self.services = services

    async def __call__(self, turn: Turn) -> None:
        """Call the model (and the tools it asks for)."""
        provider = self.services.provider(turn.provider_name)
        if turn.mcp_payload is not None:
            turn.payload = provider.messages_from_mcp(turn.mcp_payload)
        turn.provider_called = True
        kwargs = self._kwargs(turn)
        if turn.stream:
            first = await provider.chat_completion(
                turn.payload, model=turn.model, stream=True, **kwargs
            )
            turn.set_stream(self._stream(turn, provider, first, kwargs))
            return
        for _ in range(self._rounds(turn) + 1):
            result = await provider.chat_completion(turn.payload, model=turn.model, **kwargs)
            self._take(turn, result)
            if not await self._run_tools(turn, result.text, result.tool_calls):
                break
        turn.response.complete = True

    def _kwargs(self, turn: Turn) -> dict[str, Any]:
        kwargs = dict(turn.provider_kwargs)
        if turn.tools:
            kwargs["tools"] = turn.tools
        return kwargs

    def _rounds(self, turn: Turn) -> int:
        if turn.max_tool_rounds is not None:
            return turn.max_tool_rounds
        return self.services.config.llmcore.max_tool_rounds

    @staticmethod
    def _take(turn: Turn, result: ChatResult) -> None:
        response = turn.response
        response.text = result.text
        response.usage = _add(response.usage, result.usage)
        response.finish_reason = result.finish_reason
        response.tool_calls = list(result.tool_calls)
        response.model = result.model

    async def _run_tools(self, turn: Turn, text: str, calls: list[ToolCall]) -> bool:
        """Run the calls and extend the payload; False when the turn is done."""
        if not calls or not turn.tools:
            return False
        turn.state["tool_rounds"] = rounds = turn.state.get("tool_rounds", 0) + 1
        if rounds > self._rounds(turn):
            turn.note(f"stopped after {rounds - 1} tool rounds (max_tool_rounds)")
            return False
        sid = turn.session_id or ""
        by_name = {t.name: t for t in turn.tools}
        results = await run_tool_calls(calls, by_name)
        messages = [assistant_message(text, calls, sid)]
        messages += [tool_message(c, r, sid) for c, r in zip(calls, results, strict=True)]
        turn.payload.extend(messages)
        turn.new_messages.extend(messages)
        turn.note(f"round {rounds}: ran {', '.join(c.name for c in calls)}")
        turn.response.text = ""
        turn.response.tool_calls = []
        return True

    async def _stream(
        self, turn: Turn, provider: BaseProvider, events: Any, kwargs: dict[str, Any]
    ) -> AsyncIterator[str]:
        response = turn.response
        while True:
            parts: list[str] = []
            calls: list[ToolCall] = []
            try:
                async for event in events:
                    response.usage = _add(response.usage, event.usage)
                    if event.finish_reason is not None:
                        response.finish_reason = event.finish_reason
                    if event.model:
                        response.model = event.model
                    calls.extend(event.tool_calls)
                    if event.text:
                        parts.append(event.text)
                        response.text = "".join(parts)
                        yield event.text
            finally:
                response.text = "".join(parts)
                closer = getattr(events, "aclose", None)
                if closer is not None:
                    await closer()
            response.tool_calls = calls
            if not await self._run_tools(turn, response.text, calls):
                break
            events = await provider.chat_completion(
                turn.payload, model=turn.model, stream=True, **kwargs
            )
        response.complete = True


def _add(total: Usage | None, more: Usage | None) -> Usage | None:
    """Usage summed over the rounds of a turn."""
    if more is None:
        return total
    if total is None:
        return Usage(input_tokens=more.input_tokens, output_tokens=more.output_tokens)
    return Usage(
        input_tokens=total.input_tokens + more.input_tokens,
        output_tokens=total.output_tokens + more.output_tokens,
    )
