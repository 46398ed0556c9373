"""call_provider: send the payload to the model, run its tool calls, take its reply."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable
from typing import Any

from llmcore.exceptions import ConfigError, ToolRoundsError
from llmcore.models import ToolCall, Usage
from llmcore.providers.base import BaseProvider, ChatResult
from llmcore.services import Services
from llmcore.tools.messages import assistant_message, tool_message
from llmcore.tools.run import run_tool_calls
from llmcore.tools.tool import ToolResult
from llmcore.turn import Turn

__all__ = ["CallProvider"]


class CallProvider:
    """Call the turn's provider with ``turn.payload``; fill ``turn.response``.

    When the turn has tools and the model asks for them, the calls run
    (concurrently), their results are appended to the payload, and the model
    is called again, up to ``max_tool_rounds`` rounds. The assistant's tool
    calls and the results are added to ``turn.new_messages`` so the session
    keeps them. With ``turn.stream`` the first request is sent here (so an
    error such as a bad key raises from ``chat()`` itself), the text of
    every round is delivered to the caller (:meth:`~llmcore.turn.Turn.deliver`),
    and the stage ends when the stream does.
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
            try:
                first = await provider.chat_completion(
                    turn.payload, model=turn.model, stream=True, **kwargs
                )
            except ConfigError:
                turn.provider_called = False  # no key, no SDK: nothing was sent
                raise
            await turn.deliver(_Chunks(self._stream(turn, provider, first, kwargs), first))
            return
        try:
            await self._complete(turn, provider, kwargs)
        except ConfigError:
            turn.provider_called = False
            raise

    async def _complete(self, turn: Turn, provider: BaseProvider, kwargs: dict[str, Any]) -> None:
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
        sid = turn.session_id or ""
        limit = self._rounds(turn)
        if rounds > limit:
            self._refuse(turn, text, calls, limit)
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

    @staticmethod
    def _refuse(turn: Turn, text: str, calls: list[ToolCall], limit: int) -> None:
        """Stop at the tool-round limit: keep the calls, answered as not run, and raise.

        The calls are stored with an error result each, so the session stays
        a valid conversation for every provider (a call without its result
        is refused by OpenAI and Anthropic) and shows what happened.
        """
        names = ", ".join(c.name for c in calls)
        note = f"Not run: the tool-round limit (max_tool_rounds = {limit}) was reached."
        sid = turn.session_id or ""
        messages = [assistant_message(text, calls, sid)]
        messages += [tool_message(c, ToolResult(note, is_error=True), sid) for c in calls]
        turn.new_messages.extend(messages)
        turn.response.text = ""
        turn.response.tool_calls = []
        turn.note(f"stopped: {names} not run (max_tool_rounds = {limit})")
        raise ToolRoundsError(
            f"The model asked for more tool calls ({names}) after {limit} tool round(s), the "
            f"limit for this turn. They were not run; the conversation so far is kept. Pass "
            f"max_tool_rounds=N (or set llmcore.max_tool_rounds) to allow more rounds.",
            rounds=limit,
            calls=[c.name for c in calls],
        )

    async def _stream(
        self, turn: Turn, provider: BaseProvider, events: Any, kwargs: dict[str, Any]
    ) -> AsyncGenerator[str, None]:
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


class _Chunks:
    """The reply's chunks; closing them closes the provider's stream even if never read."""

    def __init__(self, chunks: AsyncGenerator[str, None], events: Any):
        self._chunks = chunks
        self._events = events

    def __aiter__(self) -> _Chunks:
        return self

    def __anext__(self) -> Awaitable[str]:
        return self._chunks.__anext__()

    async def aclose(self) -> None:
        try:
            await self._chunks.aclose()
        finally:
            # A generator closed before its first step never ran its finally.
            closer = getattr(self._events, "aclose", None)
            if closer is not None:
                await closer()


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
