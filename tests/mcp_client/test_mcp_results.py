"""MCP tool results beyond text: structured content, output schemas, images, resources."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from fakes.openai_server import FakeOpenAIServer, Reply
from mcp.server import Server

from llmcore import LLMCore, Role
from llmcore.parts import DocumentPart, ImagePart, TextPart
from llmcore.tools import ToolResult

from .rich_server import PDF, PNG, make_server
from .test_mcp_client import call

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
RICH = str(Path(__file__).with_name("rich_server.py"))


def tool_message(openai_server: FakeOpenAIServer) -> dict[str, Any]:
    """The last tool message sent (a result's images and PDFs follow it as a user message)."""
    messages = openai_server.last_request.json["messages"]
    message: dict[str, Any] = next(m for m in reversed(messages) if m["role"] == "tool")
    return message


async def test_structured_content_reaches_the_model_as_json_and_is_stored_with_the_text(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__forecast", {"city": "Oslo"})]), Reply(text="Sunny.")
    )
    async with make_llm() as llm:
        llm.add_mcp_server("rich", make_server())
        assert await llm.chat("Weather in Oslo?", session_id="s") == "Sunny."
        session = await llm.get_session("s")
    offered = {t["function"]["name"] for t in openai_server.requests[0].json["tools"]}
    assert "rich__forecast" in offered
    # The model gets the JSON itself, compact.
    sent = tool_message(openai_server)["content"]
    assert json.loads(sent) == {"city": "Oslo", "temperature": 21.5, "sky": "clear"}
    assert " " not in sent
    # The stored tool message keeps both: the structured value and the server's text.
    assert session is not None
    stored = next(m for m in session.messages if m.role is Role.TOOL)
    result = stored.tool_result
    assert result is not None and not result.is_error
    assert result.structured == {"city": "Oslo", "temperature": 21.5, "sky": "clear"}
    assert [type(p) for p in result.parts] == [TextPart]
    assert json.loads(result.parts[0].text) == result.structured  # type: ignore[union-attr]
    assert stored.content == sent


async def test_a_wrapped_plain_value_reaches_the_model_as_itself(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    # The SDK sends a str-returning tool's value as {"result": "..."}.
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__grow", {})]), Reply(text="ok"), Reply(text="again")
    )
    async with make_llm() as llm:
        llm.add_mcp_server("rich", make_server())
        turn = await llm.chat_turn("grow", session_id="s")
    assert tool_message(openai_server)["content"] == "grown"
    stored = next(m for m in turn.new_messages if m.role is Role.TOOL).tool_result
    assert stored is not None and stored.structured == {"result": "grown"}
    assert stored.parts == []  # the text says it all: nothing kept twice


async def test_images_and_embedded_resources_become_parts_the_store_keeps(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__snapshot", {})]),
        Reply(text="A chart."),
        Reply(tool_calls=[call("rich__snapshot", {})]),
        Reply(text="The same chart."),
    )
    async with make_llm() as llm:
        llm.add_mcp_server("rich", make_server())
        await llm.chat("Show me", session_id="s")
        await llm.chat("Again", session_id="s")
        session = await llm.get_session("s")
    # The tool message takes only text: it names what is there (the image and the PDF
    # follow it in a user message, tests/providers/test_tool_result_media.py).
    assert tool_message(openai_server)["content"] == (
        "Here is the chart.\n[image: image/png]\nResource notes://chart:\n# Sales\nUp 4%.\n"
        "[resource files://report.pdf: application/pdf]"
    )
    assert session is not None
    results = [m.tool_result for m in session.messages if m.role is Role.TOOL]
    assert len(results) == 2
    for result in results:
        assert result is not None
        text, image, notes, report = result.parts
        assert text == TextPart("Here is the chart.")
        assert isinstance(image, ImagePart) and image.data == PNG
        assert image.media_type == "image/png"
        assert isinstance(notes, DocumentPart) and notes.name == "notes://chart"
        assert notes.media_type == "text/markdown" and notes.data == b"# Sales\nUp 4%."
        assert isinstance(report, DocumentPart) and report.data == PDF
        assert report.name == "files://report.pdf"
    # The bytes are stored once per hash, not in every message.
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        blobs = db.execute("SELECT count(*) FROM blobs").fetchone()[0]
        rows = db.execute("SELECT parts FROM messages WHERE parts IS NOT NULL").fetchall()
    parts = b" ".join(bytes(r[0]) if not isinstance(r[0], str) else r[0].encode() for r in rows)
    assert blobs == 3  # the image, the notes and the PDF
    assert b'"blob":' in parts and b"iVBOR" not in parts


async def test_the_json_store_keeps_a_results_parts_too(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    openai_server.enqueue(Reply(tool_calls=[call("rich__snapshot", {})]), Reply(text="A chart."))
    folder = tmp_path / "json"
    async with make_llm(**{"storage.session": {"type": "json", "path": str(folder)}}) as llm:
        llm.add_mcp_server("rich", make_server())
        await llm.chat("Show me", session_id="s")
    async with make_llm(**{"storage.session": {"type": "json", "path": str(folder)}}) as llm:
        session = await llm.get_session("s")
    assert session is not None
    result = next(m for m in session.messages if m.role is Role.TOOL).tool_result
    assert result is not None
    assert [type(p) for p in result.parts] == [TextPart, ImagePart, DocumentPart, DocumentPart]
    assert result.parts[1].data == PNG  # type: ignore[union-attr]


def mismatching_server(structured: dict[str, Any] | None) -> Server[Any]:
    """A low-level server whose tool declares an output schema it does not keep to."""
    schema = {
        "type": "object",
        "properties": {"temperature": {"type": "number"}},
        "required": ["temperature"],
    }

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        tool = types.Tool(
            name="thermometer",
            description="The temperature.",
            input_schema={"type": "object", "properties": {}},
            output_schema=schema,
        )
        return types.ListToolsResult(tools=[tool])

    async def call_tool(ctx: Any, params: Any) -> types.CallToolResult:
        return types.CallToolResult(
            content=[types.TextContent(type="text", text="hot")], structured_content=structured
        )

    return Server("broken", on_list_tools=list_tools, on_call_tool=call_tool)


@pytest.mark.parametrize(
    ("structured", "reason"),
    [
        ({"temperature": "hot"}, "Invalid structured content returned by tool thermometer"),
        (None, "has an output schema but did not return structured content"),
    ],
)
async def test_structured_content_that_breaks_its_output_schema_is_an_error_for_the_model(
    make_llm: MakeLLM,
    openai_server: FakeOpenAIServer,
    structured: dict[str, Any] | None,
    reason: str,
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("broken__thermometer", {})]), Reply(text="It failed.")
    )
    async with make_llm() as llm:
        llm.add_mcp_server("broken", mismatching_server(structured))
        turn = await llm.chat_turn("How warm?", session_id="s")
    assert turn.response.text == "It failed."
    sent = tool_message(openai_server)["content"]
    assert sent.startswith("Error: ") and reason in sent
    result = next(m for m in turn.new_messages if m.role is Role.TOOL).tool_result
    assert result is not None and result.is_error


async def test_structured_results_over_stdio(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("rich__forecast", {"city": "Rome"})]), Reply(text="Clear.")
    )
    server = {"command": sys.executable, "args": [RICH], "timeout": 20}
    async with make_llm(**{"mcp.servers.rich": server}) as llm:
        assert await llm.chat("Rome?") == "Clear."
    assert json.loads(tool_message(openai_server)["content"])["city"] == "Rome"


async def test_a_function_tool_may_return_parts(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    def chart() -> ToolResult:
        """Draw the chart."""
        return ToolResult("[chart: image/png]", parts=[ImagePart(media_type="image/png", data=PNG)])

    openai_server.enqueue(Reply(tool_calls=[call("chart", {})]), Reply(text="Drawn."))
    async with make_llm() as llm:
        turn = await llm.chat_turn("Draw", tools=[chart], mcp_servers=[], session_id="s")
        session = await llm.get_session("s")
    assert tool_message(openai_server)["content"] == "[chart: image/png]"
    assert session is not None
    stored = next(m for m in session.messages if m.role is Role.TOOL).tool_result
    assert stored is not None and stored.parts == [ImagePart(media_type="image/png", data=PNG)]
    assert turn.response.text == "Drawn."
