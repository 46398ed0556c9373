"""A turn's OpenTelemetry spans, from the SDK's in-memory exporter: tree, attributes, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import anyio
import pytest
from fakes.openai_server import FakeOpenAIServer, Reply
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from otel_trees import Spans, everything, reset_globals

from llmcore import LLMCore, PipelineError, ProviderError

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

INNER = ["embed_query", "retrieve", "select_history", "truncate", "format_mcp", "call_provider"]
DEFAULT_TREE = ("chat gpt-4o-mini", ["load_session", ("persist", INNER)])
CONTENT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
)


def get_weather(city: str) -> dict[str, object]:
    """Get the current weather in a city.

    Args:
        city: The city's name.
    """
    return {"city": city, "temperature": 21}


def call(name: str, arguments: dict[str, object], call_id: str = "call_1") -> dict[str, object]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def define(tmp_path: Path, name: str, body: str) -> dict[str, Any]:
    (tmp_path / "pipelines").mkdir(exist_ok=True)
    (tmp_path / "pipelines" / f"{name}.toml").write_text(body)
    return {"pipelines.paths": [str(tmp_path / "pipelines")]}


async def test_a_turn_is_a_chat_span_with_a_child_per_stage(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, spans: Spans
) -> None:
    openai_server.enqueue(Reply(text="Paris.", usage={"prompt_tokens": 12, "completion_tokens": 3}))
    async with make_llm() as llm:
        turn = await llm.chat_turn(
            "Capital of France?", session_id="geo", system_message="Be brief.", temperature=0.2
        )
    root = spans.turn()
    assert root.shape() == DEFAULT_TREE
    assert root.span.kind is SpanKind.CLIENT
    assert root.span.parent is None  # no span of the caller's was current
    attributes = root.attributes
    assert {k: v for k, v in attributes.items() if k.startswith("gen_ai.")} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.max_tokens": 500,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.stream": False,
        "gen_ai.conversation.id": "geo",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
    }
    assert attributes["llmcore.provider"] == "openai"
    assert attributes["llmcore.pipeline"] == "default"
    assert root.span.status.status_code is StatusCode.UNSET
    # Each stage: its name, whether it wraps, its notes as events, its own span time.
    persist = root.child("persist")
    assert persist.attributes == {"llmcore.stage.name": "persist", "llmcore.stage.wraps": True}
    assert [e.attributes["llmcore.note"] for e in persist.span.events] == [  # type: ignore[index]
        n for n in turn.trace[1].notes
    ]
    load = root.child("load_session")
    assert [e.attributes for e in load.span.events] == [{"llmcore.note": "new"}]
    assert load.span.start_time >= root.span.start_time  # type: ignore[operator]
    assert persist.span.end_time <= root.span.end_time  # type: ignore[operator]
    # Nothing the user or the model wrote is recorded by default.
    assert not any(key in everything(root) for key in CONTENT_KEYS)
    assert "Capital of France" not in everything(root) and "Paris." not in everything(root)


async def test_the_callers_current_span_is_the_turns_parent(
    make_llm: MakeLLM, spans: Spans
) -> None:
    tracer = trace.get_tracer("app")
    async with make_llm() as llm:
        with tracer.start_as_current_span("handle request") as request:
            await llm.chat("hi")
            assert trace.get_current_span() is request
    (root,) = spans.roots()
    assert root.name == "handle request"
    assert root.child("chat gpt-4o-mini").shape() == DEFAULT_TREE


async def test_content_is_recorded_only_with_capture_content(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, spans: Spans
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("get_weather", {"city": "Paris"})]), Reply(text="21 degrees.")
    )
    async with make_llm(**{"observability.capture_content": True}) as llm:
        await llm.chat(
            "Weather in Paris? My key is sk-abcdefghijklmnop1234",
            system_message="Be brief.",
            tools=[get_weather],
        )
    root = spans.turn()
    attributes = root.attributes
    assert json.loads(attributes["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    sent = json.loads(attributes["gen_ai.input.messages"])
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    # Secrets are masked in content as in logs.
    assert sent[0]["parts"] == [{"type": "text", "content": "Weather in Paris? My key is ***"}]
    assert sent[1]["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    assert sent[2]["parts"][0]["type"] == "tool_call_response"
    assert json.loads(attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "21 degrees."}],
            "finish_reason": "stop",
        }
    ]
    assert json.loads(attributes["gen_ai.tool.definitions"])[0]["name"] == "get_weather"
    (tool,) = root.find("execute_tool get_weather")
    assert json.loads(tool.attributes["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert json.loads(json.loads(tool.attributes["gen_ai.tool.call.result"])) == {
        "city": "Paris",
        "temperature": 21,
    }


@pytest.mark.parametrize("stream", [False, True])
async def test_each_tool_call_is_a_span_under_call_provider(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, spans: Spans, stream: bool
) -> None:
    openai_server.enqueue(
        Reply(
            tool_calls=[
                call("get_weather", {"city": "Paris"}, "call_p"),
                call("get_weather", {"city": "Oslo"}, "call_o"),
                call("no_such_tool", {}, "call_x"),
            ]
        ),
        Reply(text="Mild in both."),
    )
    async with make_llm() as llm:
        if stream:
            async with await llm.chat(
                "Weather?", session_id="w", tools=[get_weather], stream=True
            ) as chunks:
                assert "".join([c async for c in chunks]) == "Mild in both."
        else:
            await llm.chat("Weather?", session_id="w", tools=[get_weather])
    root = spans.turn()
    provider = root.child("persist").child("call_provider")
    tools = provider.children
    assert sorted(t.name for t in tools) == [
        "execute_tool get_weather",
        "execute_tool get_weather",
        "execute_tool no_such_tool",
    ]
    by_id = {t.attributes["gen_ai.tool.call.id"]: t for t in tools}
    assert by_id["call_p"].attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_p",
        "gen_ai.tool.description": "Get the current weather in a city.",
        "gen_ai.tool.type": "function",
    }
    assert by_id["call_p"].span.status.status_code is StatusCode.UNSET
    unknown = by_id["call_x"]
    assert unknown.span.status.status_code is StatusCode.ERROR
    assert unknown.attributes["error.type"] == "unknown_tool"
    assert root.attributes["llmcore.tool_rounds"] == 1
    assert [e.attributes["llmcore.note"] for e in provider.span.events] == [  # type: ignore[index]
        "round 1: ran get_weather, get_weather, no_such_tool"
    ]
    assert not any(key in everything(root) for key in CONTENT_KEYS)


def explode(reason: str) -> str:
    """Fail on purpose."""
    raise RuntimeError(f"failed: password={reason}")


async def test_a_failing_tool_records_its_type_not_its_message(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, spans: Spans
) -> None:
    openai_server.enqueue(
        Reply(tool_calls=[call("explode", {"reason": "hunter2hunter2"})]), Reply(text="Sorry.")
    )
    async with make_llm() as llm:
        assert await llm.chat("Go", tools=[explode]) == "Sorry."
    (tool,) = spans.turn().find("execute_tool explode")
    assert tool.span.status.status_code is StatusCode.ERROR
    assert tool.attributes["error.type"] == "RuntimeError"
    assert [e.attributes for e in tool.span.events] == [{"exception.type": "RuntimeError"}]
    assert "hunter2" not in everything(spans.turn())


async def test_a_failed_turn_sets_the_status_and_the_error_type(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, spans: Spans
) -> None:
    openai_server.enqueue(Reply(status=401))
    async with make_llm() as llm:
        with pytest.raises(ProviderError):
            await llm.chat("hi", session_id="s")
    root = spans.turn()
    assert root.span.status.status_code is StatusCode.ERROR
    assert root.attributes["error.type"] == "llmcore.exceptions.ProviderError"
    assert "answered 401" in (root.span.status.description or "")
    (event,) = root.span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "llmcore.exceptions.ProviderError"  # type: ignore[index]
    provider = root.child("persist").child("call_provider")
    assert provider.span.status.status_code is StatusCode.ERROR
    assert "sk-test-secret" not in everything(root)
    # No stacktrace, no attribute beyond the conventions' and llmcore's own.
    assert "exception.stacktrace" not in everything(root)


async def test_a_stage_error_is_recorded_by_type_never_by_its_text(
    make_llm: MakeLLM, spans: Spans, tmp_path: Path
) -> None:
    paths = define(
        tmp_path,
        "leaky",
        'extends = "default"\n[[insert]]\nname = "leak"\n'
        'stage = "observability.traced_stages:Leak"\nafter = "select_history"\n',
    )
    async with make_llm(**paths) as llm:
        with pytest.raises(PipelineError):
            await llm.chat("hi", session_id="s", pipeline="leaky")
    root = spans.turn()
    leak = root.child("persist").child("leak")
    assert leak.attributes["error.type"] == "RuntimeError"
    assert leak.span.status.description is None
    assert root.attributes["error.type"] == "llmcore.exceptions.PipelineError"
    assert "abcdef1234567890" not in everything(root)  # redacted in the PipelineError too
    assert "call_provider" not in [c.name for c in root.child("persist").children]


async def test_notes_are_events_of_their_stage(
    make_llm: MakeLLM, spans: Spans, tmp_path: Path
) -> None:
    paths = define(
        tmp_path,
        "noted",
        'extends = "default"\n[[insert]]\nname = "noted"\n'
        'stage = "observability.traced_stages:Noted"\nbefore = "call_provider"\n',
    )
    async with make_llm(**paths) as llm:
        await llm.chat("hi", pipeline="noted")
    noted = spans.turn().child("persist").child("noted")
    assert [(e.name, dict(e.attributes or {})) for e in noted.span.events] == [
        ("llmcore.stage.note", {"llmcore.note": "first note"}),
        ("llmcore.stage.note", {"llmcore.note": "second note"}),
    ]


async def test_no_span_without_a_tracer_provider(
    make_llm: MakeLLM, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    from opentelemetry.trace import NoOpTracerProvider

    from llmcore.observability import current_tracer

    reset_globals()  # none set: OpenTelemetry's default proxy provider
    assert current_tracer() is None
    async with make_llm() as llm:
        await llm.chat("hi", session_id="s")
        trace.set_tracer_provider(NoOpTracerProvider())
        assert current_tracer() is None
        await llm.chat("hi again", session_id="s")
        reset_globals()
        trace.set_tracer_provider(spans.provider)  # set after LLMCore was built: used at once
        await llm.chat("and now", session_id="s")
    assert spans.names().count("chat gpt-4o-mini") == 1


def test_the_attribute_names_are_the_installed_conventions() -> None:
    from importlib.metadata import version

    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as conventions
    from opentelemetry.semconv.attributes import error_attributes
    from opentelemetry.semconv.schemas import Schemas

    from llmcore.observability import genai

    assert version("opentelemetry-semantic-conventions") == genai.SEMCONV_VERSION
    assert list(Schemas)[-1].value == genai.SCHEMA_URL
    names = {
        value
        for name, value in vars(genai).items()
        if name.isupper() and isinstance(value, str) and value.startswith(("gen_ai.", "error."))
    }
    known = {v for k, v in vars(conventions).items() if k.startswith("GEN_AI_")}
    assert names - known == {"error.type"}
    assert error_attributes.ERROR_TYPE == genai.ERROR_TYPE
    values = {v.value for v in conventions.GenAiOperationNameValues}
    assert {"chat", "execute_tool", "embeddings"} <= values
    providers = {v.value for v in conventions.GenAiProviderNameValues}
    assert {"openai", "anthropic", "gcp.gemini", "groq"} <= providers
    assert genai.provider_name("gemini", "gemini") == "gcp.gemini"
    assert genai.provider_name("groq", "openai") == "groq"
    assert genai.provider_name("my_vllm", "openai") == "openai"
    assert genai.provider_name("ollama", "ollama") == "ollama"


async def test_concurrent_turns_keep_their_own_trees(make_llm: MakeLLM, spans: Spans) -> None:
    async with make_llm() as llm, anyio.create_task_group() as group:
        for i in range(5):
            group.start_soon(lambda i=i: llm.chat(f"hi {i}", session_id=f"s{i}"))
    turns = [r for r in spans.roots() if r.name.startswith("chat ")]
    assert len(turns) == 5
    assert all(t.shape() == DEFAULT_TREE for t in turns)
    assert sorted(t.attributes["gen_ai.conversation.id"] for t in turns) == [
        f"s{i}" for i in range(5)
    ]
