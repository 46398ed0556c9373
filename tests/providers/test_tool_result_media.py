"""An MCP tool's images and PDFs reach every provider's model, each in its own wire format."""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
import pytest
from fakes._server import Reply as FakeReply
from fakes.openai_server import Reply as OpenAIReply
from mcp_client.rich_server import PDF, PNG, make_server

from llmcore import LLMCore, Role
from llmcore.config.schema import ProviderSettings
from llmcore.providers.openai import OpenAIProvider
from llmcore.tokens.attachments import TOKENS_PER_PAGE

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llava",
}
TEXT = (
    "Here is the chart.\n[image: image/png]\nResource notes://chart:\n# Sales\nUp 4%.\n"
    "[resource files://report.pdf: application/pdf]"
)
PNG64 = base64.b64encode(PNG).decode()
PDF64 = base64.b64encode(PDF).decode()


def script(provider: str, server: Any) -> None:
    if provider == "openai":
        call = {"id": "call_1", "type": "function", "function": {"name": "rich__snapshot",
                                                                 "arguments": "{}"}}  # fmt: skip
        server.enqueue(OpenAIReply(tool_calls=[call]), OpenAIReply(text="A chart."))
    else:
        call = {"id": "call_1", "name": "rich__snapshot", "arguments": {}}
        server.enqueue(FakeReply(tool_calls=[call]), FakeReply(text="A chart."))


def second_request(server: Any) -> dict[str, Any]:
    bodies = server.chat_bodies()
    assert len(bodies) == 2
    body: dict[str, Any] = bodies[1]
    return body


@pytest.mark.parametrize("provider", list(MODELS))
async def test_a_tools_image_and_pdf_reach_the_model(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    if provider == "ollama":
        server.add_model("llava", capabilities=["completion", "tools", "vision"])
    script(provider, server)
    async with llm_for() as llm:
        llm.add_mcp_server("rich", make_server())
        reply = await llm.chat(
            "Show me the chart", provider_name=provider, model_name=MODELS[provider]
        )
    assert reply == "A chart."
    body = second_request(server)
    if provider == "openai":
        tool, media = body["messages"][-2:]
        assert tool == {"role": "tool", "tool_call_id": "call_1", "content": TEXT}
        assert media == {
            "role": "user",
            "content": [
                {"type": "text", "text": "(What the tool call call_1 returned:)"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG64}"}},
                {
                    "type": "file",
                    "file": {
                        "filename": "files://report.pdf",
                        "file_data": f"data:application/pdf;base64,{PDF64}",
                    },
                },
            ],
        }
    elif provider == "anthropic":
        (result,) = body["messages"][-1]["content"]
        assert result["type"] == "tool_result" and result["tool_use_id"] == "call_1"
        assert result["content"] == [
            {"type": "text", "text": TEXT},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": PNG64},
            },
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": PDF64},
            },
        ]
    elif provider == "gemini":
        response, image, pdf = body["contents"][-1]["parts"]
        assert response["functionResponse"]["response"] == {"result": TEXT}
        image, pdf = image["inlineData"], pdf["inlineData"]
        assert image.get("mimeType", image.get("mime_type")) == "image/png"
        assert base64.urlsafe_b64decode(image["data"] + "==") == PNG
        assert pdf.get("mimeType", pdf.get("mime_type")) == "application/pdf"
    else:
        tool = body["messages"][-1]
        assert tool["role"] == "tool" and tool["content"] == TEXT
        assert tool["images"] == [PNG64]  # Ollama takes images, not PDFs (named in the text)


async def test_a_tools_image_and_pdf_are_counted(llm_for: MakeLLM, openai_server: Any) -> None:
    script("openai", openai_server)
    async with llm_for() as llm:
        llm.add_mcp_server("rich", make_server())
        await llm.chat("Show me the chart", session_id="s")
        session = await llm.get_session("s")
    assert session is not None
    tool = next(m for m in session.messages if m.role is Role.TOOL)
    result = tool.tool_result
    assert result is not None
    text_only = msgspec.structs.replace(
        tool, parts=[msgspec.structs.replace(result, parts=[])], tokens=None, tokens_by=None
    )
    counter = OpenAIProvider("openai", ProviderSettings())
    extra = counter.message_tokens(tool, "gpt-4o") - counter.message_tokens(text_only, "gpt-4o")
    # OpenAI's formula: 85 + 170 per tile for the 1x1 image, and 1,500 for the PDF's page.
    assert extra == 85 + 170 + TOKENS_PER_PAGE
