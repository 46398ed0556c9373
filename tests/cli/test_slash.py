"""The REPL's slash commands, driven without a terminal against a real LLMCore."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from llmcore import LLMCore
from llmcore.cli.repl import initial_state
from llmcore.cli.slash import ReplState, handle

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


def state() -> ReplState:
    return ReplState(provider="openai", model="gpt-4o-mini", session_id="s-1")


async def test_switching_model_provider_system_and_rag(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        s = state()
        assert (await handle(llm, s, "/model")).output == "Model: openai/gpt-4o-mini."
        await handle(llm, s, "/model gpt-4o")
        assert s.chat_kwargs()["model_name"] == "gpt-4o"
        result = await handle(llm, s, "/provider openai")
        assert result.output == "Provider: openai, model gpt-4o-mini." and not result.error
        bad = await handle(llm, s, "/provider opneai")
        assert bad.error and "Did you mean 'openai'?" in bad.output and s.provider == "openai"
        await handle(llm, s, "/system Be terse.")
        assert s.chat_kwargs()["system_message"] == "Be terse."
        await handle(llm, s, "/system off")
        assert s.system is None
        on = await handle(llm, s, "/rag on my_docs")
        assert on.output == "RAG is on (collection my_docs)."
        assert s.chat_kwargs()["enable_rag"] is True
        assert s.chat_kwargs()["rag_collection_name"] == "my_docs"
        assert (await handle(llm, s, "/RAG off")).output == "RAG is off."
        assert (await handle(llm, s, "/rag maybe")).error


async def test_sessions_clear_help_exit(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        s = state()
        await llm.chat("Hi", session_id="s-2")
        assert (await handle(llm, s, "/session")).output == "Session s-1 (0 messages stored)."
        switched = await handle(llm, s, "/session s-2")
        assert switched.output == "Switched to session s-2 (2 messages)." and s.session_id == "s-2"
        bad = await handle(llm, s, "/session " + "x" * 300)
        assert bad.error and s.session_id == "s-2"
        cleared = await handle(llm, s, "/clear")
        assert cleared.clear_screen and s.session_id.startswith("chat-") and "s-2" in cleared.output
        other = ReplState(provider="openai", model="m", session_id="x")
        await handle(llm, other, "/clear")
        assert other.session_id != s.session_id
        help_text = (await handle(llm, s, "/help")).output
        for command in ("/session", "/model", "/provider", "/system", "/rag", "/clear", "/exit"):
            assert command in help_text
        assert (await handle(llm, s, "/quit")).exit
        unknown = await handle(llm, s, "/modle x")
        assert unknown.error and "Did you mean '/model'?" in unknown.output


async def test_initial_state_from_options(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        s = initial_state(
            llm,
            {
                "provider_name": None,
                "model_name": None,
                "session_id": None,
                "system_message": "Hi",
                "enable_rag": True,
                "rag_collection_name": None,
                "rag_retrieval_k": 2,
                "pipeline": None,
                "provider_options": {"temperature": 0.5},
            },
        )
        assert (s.provider, s.model, s.system, s.rag, s.k) == (
            "openai",
            "gpt-4o-mini",
            "Hi",
            True,
            2,
        )
        assert s.session_id.startswith("chat-")
        assert s.chat_kwargs()["provider_options"] == {"temperature": 0.5}
