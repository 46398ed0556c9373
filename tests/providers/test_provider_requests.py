"""The exact request each provider sends for the same conversation, and kwargs mapping."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from llmcore import LLMCore, Message, Role

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

CONVERSATION = [
    Message(role=Role.SYSTEM, content="You are terse."),
    Message(role=Role.USER, content="Hi."),
    Message(role=Role.USER, content="Are you there?"),
    Message(role=Role.ASSISTANT, content="Yes."),
    Message(role=Role.USER, content="Name a colour."),
]


async def test_anthropic_system_on_top_and_turns_merged(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for() as llm:
        provider = llm.services.provider("anthropic")
        result = await provider.chat_completion(CONVERSATION, temperature=0.5, stop="END")
    assert result.text == "echo: Name a colour."
    request = servers["anthropic"].requests_to("/v1/messages")[-1]
    # The SDK sends the key as x-api-key (older releases) or a bearer token.
    key = request.headers.get("x-api-key") or request.headers["authorization"]
    assert key.removeprefix("Bearer ") == "sk-ant-test-secret"
    assert "anthropic-version" in request.headers
    assert request.json == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 4096,
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "Hi.\n\nAre you there?"},
            {"role": "assistant", "content": "Yes."},
            {"role": "user", "content": "Name a colour."},
        ],
        "temperature": 0.5,
        "stop_sequences": ["END"],
    }


async def test_gemini_roles_mapped_and_system_instruction(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for() as llm:
        provider = llm.services.provider("gemini")
        result = await provider.chat_completion(
            CONVERSATION, max_tokens=64, stop=["END"], top_p=0.9
        )
    assert result.text == "echo: Name a colour."
    request = servers["gemini"].last_request
    assert request.path.endswith("/models/gemini-2.5-flash:generateContent")
    assert request.headers["x-goog-api-key"] == "gemini-test-secret"
    assert request.json["contents"] == [
        {"role": "user", "parts": [{"text": "Hi."}, {"text": "Are you there?"}]},
        {"role": "model", "parts": [{"text": "Yes."}]},
        {"role": "user", "parts": [{"text": "Name a colour."}]},
    ]
    assert request.json["systemInstruction"]["parts"] == [{"text": "You are terse."}]
    assert request.json["generationConfig"] == {
        "maxOutputTokens": 64,
        "stopSequences": ["END"],
        "topP": 0.9,
    }


async def test_gemini_safety_settings_from_config(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    safety = {"HARM_CATEGORY_HARASSMENT": "BLOCK_ONLY_HIGH"}
    async with llm_for(**{"providers.gemini.safety_settings": safety}) as llm:
        await llm.chat("hello", provider_name="gemini")
    assert servers["gemini"].last_request.json["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
    ]


async def test_ollama_messages_as_they_are_and_options_renamed(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for(**{"providers.ollama.options": {"num_ctx": 4096}}) as llm:
        provider = llm.services.provider("ollama")
        result = await provider.chat_completion(
            CONVERSATION, max_tokens=32, stop="END", temperature=0, keep_alive="5m"
        )
    assert result.text == "echo: Name a colour."
    assert servers["ollama"].last_request.path == "/api/chat"
    assert servers["ollama"].last_request.json == {
        "model": "llama3.2",
        "messages": [{"role": m.role.value, "content": m.content} for m in CONVERSATION],
        "stream": False,
        "keep_alive": "5m",
        "options": {"num_ctx": 4096, "num_predict": 32, "stop": ["END"], "temperature": 0},
    }


async def test_ollama_base_url_with_or_without_api(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    url = servers["ollama"].url
    async with llm_for(**{"providers.ollama.base_url": url + "/api/"}) as llm:
        assert await llm.chat("hi", provider_name="ollama") == "echo: hi"
        assert await llm.get_models_for_provider("ollama") == ["llama3.2:latest", "qwen2.5:0.5b"]
    assert [r.path for r in servers["ollama"].requests] == ["/api/show", "/api/chat", "/api/tags"]


async def test_model_listing(llm_for: MakeLLM) -> None:
    async with llm_for() as llm:
        assert await llm.get_models_for_provider("anthropic") == [
            "claude-haiku-4-5",
            "claude-sonnet-4-6",
        ]
        assert await llm.get_models_for_provider("gemini") == [
            "gemini-2.5-flash",
            "gemini-2.5-pro",
        ]
