"""Summaries are written once and reused; units keep pairs and tool calls whole."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import ContextLengthError, LLMCore, Message, Role
from llmcore.context.units import group_units

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


def summary_requests(server: FakeOpenAIServer) -> int:
    return sum("concise summaries" in json.dumps(r.json) for r in server.requests)


async def test_summary_is_stored_once_and_reused(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    settings = {
        "providers.openai.context_lengths": {"gpt-4o-mini": 300},
        "context_management.reserved_response_tokens": 40,
        "context_management.history_selection_strategy": "summarize",
        "context_management.summary_keep_share": 0.5,
    }
    async with make_llm(**settings) as llm:
        turns_before_summary = 0
        while summary_requests(openai_server) == 0:
            openai_server.enqueue(Reply(text="short answer " * 3))
            # When the summary call comes, the queue's next reply is the summary.
            await llm.chat(f"question {turns_before_summary} " + "and more " * 5, session_id="s")
            turns_before_summary += 1
            assert turns_before_summary < 30
        session = await llm.get_session("s")
        assert session is not None
        record = session.metadata["summary"]
        assert record["covers"] >= 2
        assert record["through"] in [m.id for m in session.messages]
        assert record["model"] == "gpt-4o-mini"
        # The next turns reuse the stored summary instead of writing a new one.
        openai_server.reset()
        for i in range(2):
            turn = await llm.chat_turn(f"follow-up {i}", session_id="s")
            assert turn.summary is not None
            assert turn.summary.content.endswith(record["text"])
            assert turn.payload[0] is turn.summary
            covered = {
                m.id
                for m in session.messages[
                    : session.messages.index(
                        next(m for m in session.messages if m.id == record["through"])
                    )
                    + 1
                ]
            }
            assert not covered & {m.id for m in turn.history}  # covered messages are not resent
        assert summary_requests(openai_server) == 0
        # A new LLMCore (a restart) finds the summary in the session.
    async with make_llm(**settings) as llm:
        turn = await llm.chat_turn("after restart", session_id="s")
        assert turn.summary is not None and turn.summary.content.endswith(record["text"])


async def test_summary_writer_can_be_another_provider(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm(
        **{
            "providers.cheap": {
                "type": "openai",
                "base_url": openai_server.base_url,
                "default_model": "tiny",
            },
            "providers.openai.context_lengths": {"gpt-4o-mini": 200},
            "context_management.reserved_response_tokens": 20,
            "context_management.history_selection_strategy": "summarize",
            "context_management.summary_provider": "cheap",
        }
    ) as llm:
        for i in range(8):
            await llm.chat(f"message {i} " + "filler " * 8, session_id="s")
        models = [
            r.json["model"]
            for r in openai_server.requests
            if "concise summaries" in json.dumps(r.json)
        ]
        session = await llm.get_session("s")
    assert models and set(models) == {"tiny"}
    assert session is not None and session.metadata["summary"]["provider"] == "cheap"


def test_units_keep_pairs_and_tool_calls_together() -> None:
    def m(role: Role, text: str) -> Message:
        return Message(role=role, content=text)

    messages = [
        m(Role.ASSISTANT, "Welcome!"),
        m(Role.USER, "q1"),
        m(Role.ASSISTANT, "calling a tool"),
        m(Role.TOOL, "tool result"),
        m(Role.ASSISTANT, "a1"),
        m(Role.USER, "q2"),
        m(Role.ASSISTANT, "a2"),
    ]
    units = group_units(messages)
    assert [[x.content for x in u] for u in units] == [
        ["Welcome!"],
        ["q1", "calling a tool", "tool result", "a1"],
        ["q2", "a2"],
    ]


async def test_dropping_is_logged_once_at_info(
    make_llm: MakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_llm(
        **{
            "providers.openai.context_lengths": {"gpt-4o-mini": 150},
            "context_management.reserved_response_tokens": 20,
        }
    ) as llm:
        for i in range(6):
            await llm.chat(f"message {i} " + "filler " * 8, session_id="s")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="llmcore.context"):
            turn = await llm.chat_turn("last", session_id="s")
    lines = [r for r in caplog.records if r.name == "llmcore.context"]
    assert len(lines) == 1 and "dropped" in lines[0].getMessage()
    assert turn.context.reasons and turn.context.dropped


async def test_max_tokens_is_the_reserve(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        turn = await llm.chat_turn("hi", max_tokens=1234)
    assert turn.budget.reserved == 1234


async def test_context_length_error_says_what_to_change(make_llm: MakeLLM) -> None:
    async with make_llm(
        **{
            "providers.openai.context_lengths": {"gpt-4o-mini": 1000},
            "context_management.reserved_response_tokens": 900,
        }
    ) as llm:
        with pytest.raises(ContextLengthError) as info:
            await llm.chat("word " * 150, system_message="Follow the rules.")
    error = info.value
    assert error.limit == 100
    assert error.needed > 150
    assert error.dropped == []
    for hint in ("reserved_response_tokens", "max_tokens", "larger window"):
        assert hint in str(error)


SUMMARIZE = {
    "providers.openai.context_lengths": {"gpt-4o-mini": 300},
    "context_management.reserved_response_tokens": 40,
    "context_management.history_selection_strategy": "summarize",
    "context_management.summary_keep_share": 0.5,
}


async def test_persist_is_the_one_writer_of_the_summary(
    tmp_path: Path, make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "no_save.toml").write_text('extends = "default"\nremove = ["persist"]\n')
    plain = {"history_selection_strategy": "last_n_tokens"}
    async with make_llm(**SUMMARIZE, **{"pipelines.paths": [str(tmp_path / "p")]}) as llm:
        for i in range(8):  # history longer than the window, no summary yet
            await llm.chat(
                f"question {i} " + "and more " * 5, session_id="s", context_overrides=plain
            )
        # Without persist, the turn makes a summary but nothing writes it.
        openai_server.enqueue(Reply(text="The user asked eight questions."), Reply(text="ok"))
        turn = await llm.chat_turn("next " + "and more " * 5, session_id="s", pipeline="no_save")
        assert "summary" in turn.session_updates
        unsaved = await llm.get_session("s")
        assert unsaved is not None and "summary" not in unsaved.metadata
        # With persist, the summary is stored with the turn's messages.
        openai_server.enqueue(Reply(text="The user asked nine questions."), Reply(text="ok"))
        turn = await llm.chat_turn("again " + "and more " * 5, session_id="s")
        saved = await llm.get_session("s")
    assert saved is not None
    assert saved.metadata["summary"] == turn.session_updates["summary"]
    assert saved.messages[-2].content.startswith("again")
