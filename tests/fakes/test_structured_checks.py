"""The fakes refuse the structured-output requests the real APIs refuse."""

from __future__ import annotations

from typing import Any

import pytest

from fakes import structured_checks as checks
from fakes.openai_server import FakeOpenAIServer
from llmcore import LLMCore, ProviderError

OPEN = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
SEALED = {**OPEN, "additionalProperties": False}


def openai_body(schema: dict[str, Any], *, strict: bool = True, name: str = "out") -> Any:
    spec = {"name": name, "schema": schema, "strict": strict}
    return {"model": "gpt-4o", "response_format": {"type": "json_schema", "json_schema": spec}}


def test_openai_strict_mode() -> None:
    assert checks.openai(openai_body(SEALED)) is None
    assert "'additionalProperties' is required" in str(checks.openai(openai_body(OPEN)))
    assert checks.openai(openai_body(OPEN, strict=False)) is None
    optional = {**SEALED, "required": []}
    assert "Missing 'a'" in str(checks.openai(openai_body(optional)))
    minimum = {**SEALED, "properties": {"a": {"type": "integer", "minLength": 1}}}
    assert "'minLength' is not permitted" in str(checks.openai(openai_body(minimum)))
    assert "does not match pattern" in str(checks.openai(openai_body(SEALED, name="my out")))
    array = {"type": "array", "items": {"type": "string"}}
    assert "got 'type: \"array\"'" in str(checks.openai(openai_body(array, strict=False)))
    forced = {"tool_choice": {"type": "function", "function": {"name": "x"}}, "tools": []}
    assert "only allowed when 'tools'" in str(checks.openai(forced))


def test_anthropic_output_config_and_forced_tools() -> None:
    def body(schema: dict[str, Any], model: str = "claude-sonnet-4-5") -> dict[str, Any]:
        return {
            "model": model,
            "output_config": {"format": {"type": "json_schema", "schema": schema}},
        }

    assert checks.anthropic(body(SEALED)) is None
    assert "must be explicitly set to false" in str(checks.anthropic(body(OPEN)))
    assert "does not support structured outputs" in str(
        checks.anthropic(body(SEALED, "claude-3-5-haiku-latest"))
    )
    ranged = {**SEALED, "properties": {"a": {"type": "integer", "minimum": 0}}}
    assert "'minimum' is not supported" in str(checks.anthropic(body(ranged)))
    tree = {
        "$ref": "#/$defs/T",
        "$defs": {
            "T": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/T"}}},
                "additionalProperties": False,
            }
        },
    }
    assert "Recursive" in str(checks.anthropic(body(tree)))
    forced = {
        "model": "claude-sonnet-4-5",
        "tools": [{"name": "final_answer", "input_schema": OPEN}],
        "tool_choice": {"type": "tool", "name": "final_answer"},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }
    assert (
        checks.anthropic(forced) == "Thinking may not be enabled when tool_choice forces tool use."
    )
    assert "not one of the tools" in str(
        checks.anthropic({**forced, "thinking": None, "tool_choice": {"type": "tool", "name": "x"}})
    )


def test_gemini_and_ollama() -> None:
    config = {"responseJsonSchema": OPEN}
    assert "responseMimeType must be application/json" in str(
        checks.gemini({"generationConfig": config}, "gemini-2.5-flash")
    )
    json_config = {**config, "responseMimeType": "application/json"}
    assert checks.gemini({"generationConfig": json_config}, "gemini-2.5-flash") is None
    with_tools = {
        "generationConfig": json_config,
        "tools": [{"functionDeclarations": [{"name": "f"}]}],
    }
    assert "Function calling with a response mime type" in str(
        checks.gemini(with_tools, "gemini-2.5-flash")
    )
    assert checks.gemini(with_tools, "gemini-3-pro-preview") is None
    auto = {
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["f"]}}
    }
    assert "mode is ANY" in str(checks.gemini(auto, "gemini-2.5-flash"))
    assert checks.ollama({"format": "json"}) is None and checks.ollama({"format": OPEN}) is None
    assert "invalid format" in str(checks.ollama({"format": "yaml"}))


async def test_a_refused_schema_is_a_provider_error_through_the_sdk() -> None:
    with FakeOpenAIServer() as server:
        overrides = {
            "providers.openai.api_key": "sk-test",
            "providers.openai.base_url": server.base_url,
            "providers.openai.max_retries": 0,
            "providers.openai.options": {"response_format": openai_body(OPEN)["response_format"]},
        }
        async with LLMCore(config_overrides=overrides, env_prefix=None, user_config=False) as llm:
            with pytest.raises(ProviderError, match="'additionalProperties' is required") as caught:
                await llm.chat("hi")
    assert caught.value.status_code == 400
