"""Structured output on every provider: native request shapes, repair, tools, streams, sessions."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from enum import Enum
from typing import Any

import msgspec
import pytest
from fakes._server import Reply as FakeReply
from fakes.openai_server import Reply as OpenAIReply

from llmcore import InvalidRequestError, LLMCore, Role
from llmcore.exceptions import OutputValidationError

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


class Status(Enum):
    PAID = "paid"
    OPEN = "open"


class Line(msgspec.Struct):
    """One line of an invoice."""

    sku: str
    qty: int
    note: str | None = None


class Invoice(msgspec.Struct):
    """An invoice."""

    number: str
    total: float
    status: Status
    lines: list[Line]


class Node(msgspec.Struct):
    """A tree: a type that refers to itself."""

    name: str
    children: list[Node] = []


INVOICE = {
    "number": "INV-7",
    "total": 12.5,
    "status": "paid",
    "lines": [{"sku": "A1", "qty": 2, "note": None}, {"sku": "B2", "qty": 1, "note": "gift"}],
}
EXPECTED = Invoice(
    number="INV-7",
    total=12.5,
    status=Status.PAID,
    lines=[Line("A1", 2), Line("B2", 1, "gift")],
)
#: The model each provider is asked (Anthropic: one with structured outputs).
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2",
}
PROVIDERS = list(MODELS)


def reply(provider: str, text: str) -> Any:
    return OpenAIReply(text=text) if provider == "openai" else FakeReply(text=text)


def structured_field(provider: str, body: dict[str, Any]) -> Any:
    """Where each API takes the schema."""
    if provider == "openai":
        return body["response_format"]
    if provider == "anthropic":
        return body["output_config"]
    if provider == "gemini":
        config = body["generationConfig"]
        return {k: config[k] for k in ("responseMimeType", "responseJsonSchema")}
    return body["format"]


STATUS = {"title": "Status", "enum": ["open", "paid"]}


def line(*, default: bool) -> dict[str, Any]:
    note: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    if default:
        note["default"] = None
    return {
        "title": "Line",
        "description": "One line of an invoice.",
        "type": "object",
        "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}, "note": note},
        "required": ["sku", "qty"],
    }


def invoice(status: Any, items: Any) -> dict[str, Any]:
    return {
        "title": "Invoice",
        "description": "An invoice.",
        "type": "object",
        "properties": {
            "number": {"type": "string"},
            "total": {"type": "number"},
            "status": status,
            "lines": {"type": "array", "items": items},
        },
        "required": ["number", "total", "status", "lines"],
    }


def sealed(schema: dict[str, Any], *, require_all: bool) -> dict[str, Any]:
    """The schema with every object closed (and, for OpenAI strict, all fields required)."""
    out = json.loads(json.dumps(schema))
    for node in _objects(out):
        node["additionalProperties"] = False
        if require_all:
            node["required"] = list(node["properties"])
    return out


def _objects(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _objects(item)


def expected_field(provider: str) -> Any:
    """The request field each API documents for structured output, as llmcore fills it."""
    refs = invoice({"$ref": "#/$defs/Status"}, {"$ref": "#/$defs/Line"})
    refs["$defs"] = {"Status": STATUS, "Line": line(default=False)}
    if provider == "openai":
        schema = sealed(refs, require_all=True)
        return {
            "type": "json_schema",
            "json_schema": {"name": "Invoice", "schema": schema, "strict": True},
        }
    if provider == "anthropic":
        return {"format": {"type": "json_schema", "schema": sealed(refs, require_all=False)}}
    if provider == "gemini":
        schema = invoice(STATUS, line(default=False))
        return {"responseMimeType": "application/json", "responseJsonSchema": schema}
    return invoice(STATUS, line(default=True))  # Ollama: refs inlined, the rest as it is


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_each_provider_gets_its_native_mode(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    server.enqueue(reply(provider, json.dumps(INVOICE)))
    async with llm_for() as llm:
        result = await llm.chat(
            "Extract the invoice: INV-7, paid...",
            output_type=Invoice,
            provider_name=provider,
            model_name=MODELS[provider],
        )
    assert result == EXPECTED
    (body,) = server.chat_bodies()
    assert structured_field(provider, body) == expected_field(provider)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_invalid_reply_is_repaired_once(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    wrong = json.dumps({**INVOICE, "total": "twelve"})
    server.enqueue(reply(provider, wrong), reply(provider, json.dumps(INVOICE)))
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "Extract the invoice",
            output_type=Invoice,
            session_id="s",
            provider_name=provider,
            model_name=MODELS[provider],
        )
        session = await llm.get_session("s")
    assert turn.response.output == EXPECTED
    _, second = server.chat_bodies()
    repair = json.dumps(second)
    assert "Expected `float`, got `str` - at `$.total`" in repair and "twelve" in repair
    assert any("repair round 1" in note for t in turn.trace for note in t.notes)
    # The session keeps the question and the answer that validates, not the repair round.
    assert session is not None
    assert [m.role for m in session.messages] == [Role.USER, Role.ASSISTANT]
    answer = session.messages[-1]
    assert json.loads(answer.content) == INVOICE
    assert answer.metadata["structured"] is True
    assert answer.metadata["output_type"] == "Invoice"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_invalid_twice_raises_and_keeps_the_reply(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    server.enqueue(reply(provider, "not json"), reply(provider, '{"number": "INV-7"}'))
    async with llm_for() as llm:
        with pytest.raises(OutputValidationError) as caught:
            await llm.chat(
                "Extract the invoice",
                output_type=Invoice,
                session_id="s",
                provider_name=provider,
                model_name=MODELS[provider],
            )
        session = await llm.get_session("s")
    error = caught.value
    assert error.raw_text == '{"number": "INV-7"}'
    assert error.attempts == 2
    assert error.errors == ["Object missing required field `total`"]
    assert "output_retries" in str(error)
    assert len(server.chat_bodies()) == 2
    assert session is not None
    assert [m.role for m in session.messages] == [Role.USER, Role.ASSISTANT]
    assert session.messages[-1].content == '{"number": "INV-7"}'
    assert session.messages[-1].metadata["output_valid"] is False
    assert "interrupted" not in session.messages[-1].metadata


async def test_output_retries_zero_and_a_bad_value(llm_for: MakeLLM, openai_server: Any) -> None:
    openai_server.enqueue(OpenAIReply(text="{}"))
    async with llm_for() as llm:
        with pytest.raises(OutputValidationError):
            await llm.chat("x", output_type=Line, output_retries=0)
        assert len(openai_server.chat_bodies()) == 1
        with pytest.raises(InvalidRequestError, match="output_retries must be a whole number"):
            await llm.chat("x", output_type=Line, output_retries=-1)
    openai_server.reset()
    openai_server.enqueue(OpenAIReply(text="{}"), OpenAIReply(text="{}"), OpenAIReply(text="{}"))
    async with llm_for(**{"llmcore.output_retries": 2}) as llm:
        with pytest.raises(OutputValidationError) as caught:
            await llm.chat("x", output_type=Line)
    assert caught.value.attempts == 3


async def test_an_older_claude_gets_a_forced_tool(llm_for: MakeLLM, anthropic_server: Any) -> None:
    call = {"id": "toolu_1", "name": "final_answer", "arguments": INVOICE}
    anthropic_server.enqueue(FakeReply(tool_calls=[call]))
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "Extract the invoice",
            output_type=Invoice,
            session_id="s",
            provider_name="anthropic",
            model_name="claude-3-5-haiku-latest",
        )
        session = await llm.get_session("s")
    assert turn.response.output == EXPECTED
    (body,) = anthropic_server.chat_bodies()
    assert "output_config" not in body
    assert body["tool_choice"] == {"type": "tool", "name": "final_answer"}
    assert [t["name"] for t in body["tools"]] == ["final_answer"]
    assert body["tools"][0]["input_schema"]["properties"]["lines"]["items"] == {
        "$ref": "#/$defs/Line"
    }
    assert any("forced tool (final_answer)" in n for t in turn.trace for n in t.notes)
    # Stored as the JSON text it is: no dangling tool call in the session.
    assert session is not None
    answer = session.messages[-1]
    assert answer.tool_calls == [] and json.loads(answer.content) == INVOICE
    assert answer.metadata["finish_reason"] == "stop"


async def test_a_map_goes_through_a_tool_on_claude_and_non_strict_on_openai(
    llm_for: MakeLLM, anthropic_server: Any, openai_server: Any
) -> None:
    class Prices(msgspec.Struct):
        prices: dict[str, float]

    anthropic_server.enqueue(
        FakeReply(tool_calls=[{"id": "t1", "name": "final_answer", "arguments": {"prices": {}}}])
    )
    openai_server.enqueue(OpenAIReply(text='{"prices": {"a": 1.5}}'))
    async with llm_for() as llm:
        claude = await llm.chat(
            "p", output_type=Prices, provider_name="anthropic", model_name="claude-sonnet-4-5"
        )
        gpt = await llm.chat("p", output_type=Prices)
    assert claude == Prices({}) and gpt == Prices({"a": 1.5})
    (sent,) = openai_server.chat_bodies()
    assert sent["response_format"]["json_schema"]["strict"] is False


async def test_tools_first_then_the_structured_answer(
    llm_for: MakeLLM, openai_server: Any, gemini_server: Any
) -> None:
    def get_price(sku: str) -> str:
        """The price of an article."""
        return "6.25"

    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_price", "arguments": '{"sku":"A1"}'},
    }
    openai_server.enqueue(OpenAIReply(tool_calls=[call]), OpenAIReply(text=json.dumps(INVOICE)))
    gemini_call = {"id": "g1", "name": "get_price", "arguments": {"sku": "A1"}}
    answer = {"id": "g2", "name": "final_answer", "arguments": INVOICE}
    gemini_server.enqueue(FakeReply(tool_calls=[gemini_call]), FakeReply(tool_calls=[answer]))
    async with llm_for() as llm:
        gpt = await llm.chat_turn("Invoice?", output_type=Invoice, tools=[get_price])
        gemini = await llm.chat_turn(
            "Invoice?",
            output_type=Invoice,
            tools=[get_price],
            provider_name="gemini",
            model_name="gemini-2.5-flash",
        )
    assert gpt.response.output == EXPECTED and gemini.response.output == EXPECTED
    first, second = openai_server.chat_bodies()
    assert "response_format" in first and [t["function"]["name"] for t in first["tools"]] == [
        "get_price"
    ]
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_1", "content": "6.25"}
    # Gemini 2.5 takes no JSON response with function calling: a forced tool beside get_price.
    g_first, _ = gemini_server.chat_bodies()
    assert "responseJsonSchema" not in g_first.get("generationConfig", {})
    calling = g_first["toolConfig"]["functionCallingConfig"]
    assert calling == {"mode": "ANY", "allowedFunctionNames": ["get_price", "final_answer"]}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_stream_yields_the_json_and_ends_with_the_object(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    server = servers[provider]
    server.enqueue(reply(provider, json.dumps(INVOICE)))
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "Extract",
            stream=True,
            output_type=Invoice,
            session_id="s",
            provider_name=provider,
            model_name=MODELS[provider],
        )
        assert turn.chunks is not None
        chunks = [c async for c in turn.chunks]
        session = await llm.get_session("s")
    assert len(chunks) > 1 and json.loads("".join(chunks)) == INVOICE
    assert turn.response.output == EXPECTED
    assert session is not None and session.messages[-1].metadata["structured"] is True


async def test_a_forced_tool_streams_its_arguments_as_text(
    llm_for: MakeLLM, anthropic_server: Any
) -> None:
    call = {"id": "toolu_1", "name": "final_answer", "arguments": INVOICE}
    anthropic_server.enqueue(FakeReply(tool_calls=[call]))
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "Extract",
            stream=True,
            output_type=Invoice,
            provider_name="anthropic",
            model_name="claude-3-5-haiku-latest",
        )
        assert turn.chunks is not None
        text = "".join([c async for c in turn.chunks])
    assert json.loads(text) == INVOICE
    assert turn.response.output == EXPECTED
    assert turn.response.finish_reason == "stop"


async def test_a_structured_session_continues_on_another_provider(
    llm_for: MakeLLM, openai_server: Any, anthropic_server: Any
) -> None:
    openai_server.enqueue(OpenAIReply(text=json.dumps(INVOICE)))
    anthropic_server.enqueue(FakeReply(text="It was paid."))
    async with llm_for() as llm:
        await llm.chat("Extract the invoice", output_type=Invoice, session_id="s")
        follow = await llm.chat(
            "Was it paid?",
            session_id="s",
            provider_name="anthropic",
            model_name="claude-3-5-haiku-latest",
        )
    assert follow == "It was paid."
    (body,) = anthropic_server.chat_bodies()
    assert body["messages"][1] == {"role": "assistant", "content": json.dumps(INVOICE)}
    assert "output_config" not in body and "tool_choice" not in body


async def test_a_recursive_type_to_gemini_fails_before_sending(
    llm_for: MakeLLM, gemini_server: Any
) -> None:
    async with llm_for() as llm:
        with pytest.raises(InvalidRequestError, match="refers to itself"):
            await llm.chat("tree", output_type=Node, provider_name="gemini")
    assert gemini_server.chat_bodies() == []


async def test_a_type_that_is_no_schema_is_refused(llm_for: MakeLLM, openai_server: Any) -> None:
    async with llm_for() as llm:
        with pytest.raises(InvalidRequestError, match="cannot be expressed as a JSON schema"):
            await llm.chat("x", output_type=complex)
        with pytest.raises(InvalidRequestError, match="must be a JSON schema object"):
            await llm.chat("x", output_type={})
    assert openai_server.chat_bodies() == []


async def test_thinking_with_a_forced_tool_offers_it_instead(
    llm_for: MakeLLM, anthropic_server: Any
) -> None:
    # Claude Sonnet 4 thinks but has no structured outputs, and the API takes no
    # forced tool with thinking on: the answer tool is offered, with a note.
    call = {"id": "toolu_1", "name": "final_answer", "arguments": INVOICE}
    anthropic_server.enqueue(FakeReply(tool_calls=[call]))
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "Extract",
            output_type=Invoice,
            provider_name="anthropic",
            model_name="claude-sonnet-4-20250514",
            reasoning="low",
            max_tokens=4096,
        )
    assert turn.response.output == EXPECTED
    (body,) = anthropic_server.chat_bodies()
    assert body["tool_choice"] == {"type": "auto"} and body["thinking"]["type"] == "enabled"
    assert any("offered, not forced" in n for t in turn.trace for n in t.notes)


@pytest.mark.parametrize("stream", [False, True])
async def test_an_openai_refusal_raises_at_once(
    llm_for: MakeLLM, openai_server: Any, stream: bool
) -> None:
    openai_server.enqueue(OpenAIReply(refusal="I can't help with that invoice."))
    async with llm_for() as llm:
        with pytest.raises(OutputValidationError, match="the model refused") as caught:
            turn = await llm.chat_turn("Extract", output_type=Invoice, stream=stream)
            assert (turn.chunks is not None) == stream  # a stream exactly when asked for
            if turn.chunks is not None:
                async for _ in turn.chunks:
                    pass
    assert caught.value.raw_text == "I can't help with that invoice."
    assert len(openai_server.chat_bodies()) == 1  # no repair round for a refusal


async def test_an_unscripted_fake_answers_in_the_schema(llm_for: MakeLLM) -> None:
    # What the docs' examples get: the smallest instance of the schema.
    async with llm_for() as llm:
        invoice = await llm.chat("Extract", output_type=Invoice)
    assert invoice == Invoice("text", 1, Status.OPEN, [Line("text", 1, note="text")])
