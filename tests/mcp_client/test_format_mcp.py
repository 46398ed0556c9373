"""format_mcp: the payload as real MCP types, and back to the same request."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import mcp.types as types
import pytest
from fakes.openai_server import FakeOpenAIServer

from llmcore import LLMCore, Message, Role
from llmcore.mcp.format import MCPPayload, from_mcp

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

DOCS = [
    {
        "id": "readme",
        "content": "LLMCore is written in Python.",
        "score": 0.9,
        "metadata": {"source": "readme"},
    },
    {"id": "paris", "content": "Paris is in France.", "score": 0.5, "metadata": {}},
]


@pytest.fixture
def docs_pipeline(tmp_path: Path) -> Path:
    (tmp_path / "docs.toml").write_text(
        'extends = "default"\n[[insert]]\nname = "place"\nstage = "custom_stages:PlaceDocuments"\n'
        f'after = "retrieve"\noptions = {{ documents = {json.dumps(DOCS)} }}\n'.replace(
            '": ', '" = '
        )
    )
    return tmp_path


@pytest.mark.parametrize("combination", ["prepend_system", "prepend_user"])
async def test_mcp_payload_validates_and_round_trips(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, docs_pipeline: Path, combination: str
) -> None:
    settings = {
        "pipelines.paths": [str(docs_pipeline)],
        "context_management.rag_combination_strategy": combination,
    }
    async with make_llm(**settings) as llm:
        await llm.chat("earlier question", session_id="s", system_message="Be helpful.")
        plain = await llm.chat_turn(
            "Which language?", session_id="s", pipeline="docs", save_session=False
        )
        plain_request = openai_server.last_request.json
    async with make_llm(**settings, **{"llmcore.enable_mcp": True}) as llm:
        turn = await llm.chat_turn(
            "Which language?", session_id="s", pipeline="docs", save_session=False
        )
        mcp_request = openai_server.last_request.json
    assert plain.mcp_payload is None
    payload = turn.mcp_payload
    assert isinstance(payload, MCPPayload)
    # Every part is a real MCP type, and survives the wire format.
    for block in payload.system:
        assert types.TextContent.model_validate(block.model_dump(by_alias=True)) == block
    for message in payload.messages:
        assert types.PromptMessage.model_validate(message.model_dump(by_alias=True)) == message
    resources = [m.content for m in payload.messages if m.content.type == "resource"]
    assert [r.resource.uri for r in resources] == [
        "llmcore://documents/readme",
        "llmcore://documents/paris",
    ]
    assert resources[0].resource.text == "LLMCore is written in Python."
    assert resources[0].resource.mime_type == "text/plain"
    assert [b.text for b in payload.system] == ["Be helpful."]
    texts = [m.content.text for m in payload.messages if m.content.type == "text"]
    assert texts == ["earlier question", "echo: earlier question", "Which language?"]
    # The provider converts it back: the request is the one llmcore sends without MCP.
    assert mcp_request["messages"] == plain_request["messages"]


def test_foreign_mcp_payload_converts_by_roles() -> None:
    payload = MCPPayload(
        system=[types.TextContent(type="text", text="Rules.")],
        messages=[
            types.PromptMessage(
                role="user",
                content=types.EmbeddedResource(
                    type="resource",
                    resource=types.TextResourceContents(
                        uri="file:///a.md", mime_type="text/markdown", text="# A"
                    ),
                ),
            ),
            types.PromptMessage(
                role="assistant", content=types.TextContent(type="text", text="Noted.")
            ),
        ],
    )
    assert [(m.role, m.content) for m in from_mcp(payload)] == [
        (Role.SYSTEM, "Rules."),
        (Role.USER, "Resource file:///a.md:\n# A"),
        (Role.ASSISTANT, "Noted."),
    ]
    assert all(isinstance(m, Message) for m in from_mcp(payload))


def test_a_tool_results_structured_content_and_parts_survive_the_round_trip() -> None:
    from llmcore.mcp.format import to_mcp
    from llmcore.parts import DocumentPart, ImagePart, TextPart, ToolResultPart

    result = ToolResultPart(
        call_id="call_1",
        content='{"temperature":21}',
        name="rich__forecast",
        structured={"temperature": 21},
        parts=[
            TextPart("It is 21 degrees."),
            ImagePart(media_type="image/png", data=b"\x89PNG\r\n"),
            DocumentPart(media_type="text/plain", data=b"notes", name="notes://x"),
        ],
    )
    message = Message(role=Role.TOOL, parts=[result])
    (back,) = from_mcp(to_mcp([message], []))
    assert back.parts == [result] and back.content == result.content
