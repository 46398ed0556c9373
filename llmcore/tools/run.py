"""Running the tool calls a model asked for."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import anyio

from llmcore.models import ToolCall
from llmcore.observability.spans import ToolSpan, tool_span
from llmcore.tools.tool import Tool, ToolResult

__all__ = ["run_tool_calls"]

logger = logging.getLogger("llmcore.tools")


async def run_tool_calls(calls: Sequence[ToolCall], tools: Mapping[str, Tool]) -> list[ToolResult]:
    """Run every call concurrently; results in the calls' order.

    A tool that raises, an unknown tool name, or arguments that are not
    valid JSON become an error result for the model to see, instead of
    failing the turn.
    """
    results: list[ToolResult] = [ToolResult("")] * len(calls)

    async def run(index: int, call: ToolCall) -> None:
        results[index] = await _run_one(call, tools)

    async with anyio.create_task_group() as group:
        for index, call in enumerate(calls):
            group.start_soon(run, index, call)
    return results


async def _run_one(call: ToolCall, tools: Mapping[str, Tool]) -> ToolResult:
    tool = tools.get(call.name)
    with tool_span(call, tool) as span:  # an "execute_tool NAME" span when traced
        result = await _call(call, tool, tools, span)
        span.finish(result)
    return result


async def _call(
    call: ToolCall, tool: Tool | None, tools: Mapping[str, Tool], span: ToolSpan
) -> ToolResult:
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        span.failed(kind="unknown_tool")
        return ToolResult(f"Error: there is no tool named {call.name!r} (tools: {known}).", True)
    if "__invalid_json__" in call.arguments:
        raw = call.arguments["__invalid_json__"]
        span.failed(kind="invalid_arguments")
        return ToolResult(f"Error: the arguments were not valid JSON: {raw!r}", is_error=True)
    try:
        return await tool.call(call.arguments)
    except Exception as exc:  # the model sees the failure and may recover
        logger.info("Tool %r failed: %r", call.name, exc)
        span.failed(exc)
        return ToolResult(f"Error: {type(exc).__name__}: {exc}", is_error=True)
