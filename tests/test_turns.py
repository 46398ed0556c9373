"""End-to-end chat turns against the fake OpenAI server, on asyncio and trio."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, aclosing

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import (
    ConfigError,
    ContextLengthError,
    InvalidRequestError,
    LLMCore,
    ProviderError,
    Role,
)

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


async def test_one_off_chat_is_not_stored(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm() as llm:
        assert await llm.chat("What is the capital of France?") == (
            "echo: What is the capital of France?"
        )
        assert await llm.list_sessions() == []
    request = openai_server.last_request
    assert request is not None
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-secret"
    assert request.json == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "max_tokens": 500,  # reserved_response_tokens: what the budget kept for the reply
    }


async def test_session_round_trip(make_llm: MakeLLM, openai_server: FakeOpenAIServer) -> None:
    sid = "tutor-1"
    async with make_llm() as llm:
        await llm.chat(
            "My name is Alex.", session_id=sid, system_message="You are a physics tutor."
        )
        chunks = [c async for c in await llm.chat("What is my name?", session_id=sid, stream=True)]
        assert "".join(chunks) == "echo: What is my name?"
        assert len(chunks) > 1
        # The second request carried the whole conversation.
        assert openai_server.last_request.json["messages"] == [
            {"role": "system", "content": "You are a physics tutor."},
            {"role": "user", "content": "My name is Alex."},
            {"role": "assistant", "content": "echo: My name is Alex."},
            {"role": "user", "content": "What is my name?"},
        ]
        [info] = await llm.list_sessions()
        assert (info.id, info.message_count) == (sid, 5)
        session = await llm.get_session(sid)
    assert session is not None
    assert [m.role for m in session.messages] == [
        Role.SYSTEM,
        Role.USER,
        Role.ASSISTANT,
        Role.USER,
        Role.ASSISTANT,
    ]
    reply = session.messages[-1]
    assert reply.content == "echo: What is my name?"
    assert reply.metadata["usage"]["output_tokens"] > 0
    assert reply.metadata["model"] == "gpt-4o-mini"
    assert "interrupted" not in reply.metadata
    assert all(m.session_id == sid for m in session.messages)
    assert all(m.tokens and m.tokens_by for m in session.messages)


async def test_sessions_survive_a_new_instance(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm() as llm:
        await llm.chat("first", session_id="keep")
    async with make_llm() as llm:
        await llm.chat("second", session_id="keep")
        session = await llm.get_session("keep")
    assert session is not None
    assert [m.content for m in session.messages] == [
        "first",
        "echo: first",
        "second",
        "echo: second",
    ]


async def test_streaming_saves_the_full_reply_after_the_last_chunk(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a ", "time."]))
    async with make_llm() as llm:
        stream = await llm.chat("Tell a story", session_id="s", stream=True)
        received = []
        async for chunk in stream:
            received.append(chunk)
            # Nothing is stored (not even the new session) until the stream ends.
            assert await llm.get_session("s") is None
        session = await llm.get_session("s")
    assert received == ["Once ", "upon ", "a ", "time."]
    assert session is not None
    assert [m.content for m in session.messages] == ["Tell a story", "Once upon a time."]
    assert session.messages[-1].metadata["usage"]["input_tokens"] > 0
    assert openai_server.last_request.json["stream_options"] == {"include_usage": True}


async def test_consumer_stopping_early_keeps_the_partial_reply(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a ", "time."]))
    async with make_llm() as llm:
        async with aclosing(await llm.chat("Tell a story", session_id="s", stream=True)) as stream:
            async for chunk in stream:
                assert chunk == "Once "
                break
        session = await llm.get_session("s")
    assert session is not None
    user, reply = session.messages
    assert user.content == "Tell a story"
    assert reply.content == "Once "
    assert reply.metadata["interrupted"] is True


async def test_stream_cut_by_the_server_keeps_the_turn_and_raises(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(chunks=["one ", "two ", "three"], cut_after=2))
    async with make_llm() as llm:
        received = []
        with pytest.raises(ProviderError) as info:
            async for chunk in await llm.chat("count", session_id="s", stream=True):
                received.append(chunk)
        assert info.value.kind == "stream_interrupted"
        assert info.value.retryable
        session = await llm.get_session("s")
    assert received == ["one ", "two "]
    assert session is not None
    assert [m.content for m in session.messages] == ["count", "one two "]
    assert session.messages[-1].metadata["interrupted"] is True


async def test_chat_turn_returns_the_whole_turn(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        await llm.chat("earlier", session_id="s")
        turn = await llm.chat_turn("now", session_id="s", temperature=0.2)
    assert turn.response.text == "echo: now"
    assert turn.response.usage is not None and turn.response.usage.output_tokens > 0
    assert turn.response.finish_reason == "stop"
    assert turn.response.complete and not turn.response.interrupted
    assert [m.content for m in turn.history] == ["earlier", "echo: earlier"]
    assert turn.context.kept == [m.id for m in turn.history]
    assert turn.context.dropped == []
    assert turn.budget.limit == 128_000
    assert turn.budget.reserved == 500
    assert set(turn.budget.used) == {"system", "user", "overhead", "history"}
    assert turn.provider_kwargs == {"temperature": 0.2}


async def test_provider_kwargs_are_passed_through(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm(**{"providers.openai.options": {"seed": 7}}) as llm:
        await llm.chat("hi", temperature=0.3, max_tokens=42, stop=["\n"])
    body = openai_server.last_request.json
    assert (body["temperature"], body["max_tokens"], body["stop"], body["seed"]) == (
        0.3,
        42,
        ["\n"],
        7,
    )


async def test_history_selection_keeps_system_and_drops_oldest(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    # A tiny window: the system message, the new message, and only the newest turns fit.
    async with make_llm(
        **{
            "providers.openai.context_lengths": {"gpt-4o-mini": 200},
            "context_management.reserved_response_tokens": 50,
        }
    ) as llm:
        for i in range(10):
            await llm.chat(
                f"message number {i} " + "word " * 5, session_id="s", system_message="Be brief."
            )
        turn = await llm.chat_turn("the last question", session_id="s")
    sent = openai_server.last_request.json["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[-1] == {"role": "user", "content": "the last question"}
    history = sent[1:-1]
    assert 2 <= len(history) < 20
    assert history[0]["role"] == "user"  # a pair is never split
    assert history[-1]["content"].startswith("echo: message number 9")
    assert turn.context.dropped
    assert turn.budget.total_used <= turn.budget.available
    assert any("dropped" in reason for reason in turn.context.reasons)


async def test_last_n_messages_strategy(make_llm: MakeLLM, openai_server: FakeOpenAIServer) -> None:
    async with make_llm() as llm:
        for i in range(5):
            await llm.chat(f"m{i}", session_id="s")
        await llm.chat(
            "now",
            session_id="s",
            context_overrides={
                "history_selection_strategy": "last_n_messages",
                "max_history_messages": 4,
            },
        )
    contents = [m["content"] for m in openai_server.last_request.json["messages"]]
    assert contents == ["m3", "echo: m3", "m4", "echo: m4", "now"]


async def test_system_message_replace_and_supplement(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm() as llm:
        await llm.chat("a", session_id="s", system_message="First rules.")
        await llm.chat("b", session_id="s", system_message="New rules.")
        assert openai_server.last_request.json["messages"][0]["content"] == "New rules."
        assert [m["role"] for m in openai_server.last_request.json["messages"]].count("system") == 1
        await llm.chat(
            "c", session_id="s", context_overrides={"system_message_strategy": "supplement"}
        )
        systems = [m for m in openai_server.last_request.json["messages"] if m["role"] == "system"]
        assert [m["content"] for m in systems] == ["First rules.", "New rules."]
        # The same system message again is not stored twice.
        await llm.chat("d", session_id="s", system_message="New rules.")
        session = await llm.get_session("s")
    assert session is not None
    assert [m.content for m in session.system_messages] == ["First rules.", "New rules."]


async def test_save_session_false_leaves_storage_untouched(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        await llm.chat("hello", session_id="s")
        await llm.chat("not saved", session_id="s", save_session=False)
        await llm.chat("not created", session_id="other", save_session=False)
        session = await llm.get_session("s")
        assert session is not None and len(session.messages) == 2
        assert await llm.get_session("other") is None


async def test_session_listing_and_deleting(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        assert await llm.get_session("missing") is None
        assert await llm.delete_session("missing") is False
        for sid in ("a", "b", "c"):
            await llm.chat("hi", session_id=sid)
        assert [s.id for s in await llm.list_sessions()] == ["c", "b", "a"]
        assert [s.id for s in await llm.list_sessions(limit=1, offset=1)] == ["b"]
        assert await llm.rename_session("b", "Bee") is True
        assert (await llm.list_sessions())[0].name == "Bee"
        assert await llm.delete_session("b") is True
        assert [s.id for s in await llm.list_sessions()] == ["c", "a"]


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (401, "authentication", False),
        (429, "rate_limit", True),
        (500, "server", True),
        (404, "not_found", False),
    ],
)
async def test_provider_errors_are_mapped_and_the_user_message_kept(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer, status: int, kind: str, retryable: bool
) -> None:
    openai_server.enqueue(Reply(status=status, headers={"retry-after": "0"}))
    async with make_llm() as llm:
        with pytest.raises(ProviderError) as info:
            await llm.chat("hello", session_id="s")
        session = await llm.get_session("s")
    error = info.value
    assert (error.status_code, error.kind, error.retryable) == (status, kind, retryable)
    assert error.provider == "openai" and error.model == "gpt-4o-mini"
    assert "sk-test-secret" not in str(error)
    assert session is not None
    assert [m.content for m in session.messages] == ["hello"]


async def test_streaming_request_errors_raise_from_chat(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(status=401))
    async with make_llm() as llm:
        with pytest.raises(ProviderError, match="401"):
            await llm.chat("hello", stream=True)


async def test_malformed_reply_is_a_provider_error(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(malformed=True))
    async with make_llm() as llm:
        with pytest.raises(ProviderError) as info:
            await llm.chat("hello")
    assert info.value.kind == "malformed"


async def test_timeout_is_a_retryable_provider_error(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(delay=1.0))
    async with make_llm(**{"providers.openai.timeout": 0.2}) as llm:
        with pytest.raises(ProviderError) as info:
            await llm.chat("hello")
    assert (info.value.kind, info.value.retryable) == ("timeout", True)


async def test_context_length_error_when_the_message_cannot_fit(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm(**{"providers.openai.context_length": 100}) as llm:
        with pytest.raises(ContextLengthError) as info:
            await llm.chat("word " * 200, session_id="s", system_message="rules")
        session = await llm.get_session("s")
    assert info.value.limit == 0  # a 100-token window minus the 500 reserved
    assert info.value.needed > 200
    assert "reserved" in str(info.value)
    assert openai_server.requests == []
    assert session is None  # nothing was sent, nothing stored: not even an empty session


async def test_missing_api_key_is_a_config_error_naming_the_setting(
    openai_server: FakeOpenAIServer,
) -> None:
    async with LLMCore(env_prefix=None) as llm:
        with pytest.raises(ConfigError) as info:
            await llm.chat("hi")
    message = str(info.value)
    assert "providers.openai.api_key" in message
    assert "LLMCORE_PROVIDERS_OPENAI_API_KEY" in message
    assert "OPENAI_API_KEY" in message


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"message": ""}, "non-empty string"),
        ({"message": "hi", "session_id": ""}, "Invalid session id"),
        ({"message": "hi", "session_id": "a\x00b"}, "Invalid session id"),
        ({"message": "hi", "rag_retrieval_k": 0}, "rag_retrieval_k"),
        ({"message": "hi", "context_overrides": {"nope": 1}}, "Unknown context_overrides"),
    ],
)
async def test_bad_arguments_raise_invalid_request(
    make_llm: MakeLLM, kwargs: dict[str, object], fragment: str
) -> None:
    async with make_llm() as llm:
        with pytest.raises(InvalidRequestError, match=fragment):
            await llm.chat(**kwargs)  # type: ignore[arg-type]


async def test_openai_compatible_server_by_configuration(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm(
        **{
            "providers.local_vllm": {
                "type": "openai",
                "base_url": openai_server.base_url,
                "default_model": "my-llama",
            },
        }
    ) as llm:
        assert "local_vllm" in llm.get_available_providers()
        assert await llm.chat("hi", provider_name="local_vllm") == "echo: hi"
        assert openai_server.last_request.json["model"] == "my-llama"
        assert await llm.get_models_for_provider("local_vllm") == [
            "gpt-3.5-turbo",
            "gpt-4o",
            "gpt-4o-mini",
        ]


async def test_closed_instance_refuses_new_work(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        pass
    with pytest.raises(Exception, match="closed"):
        await llm.chat("hi", provider_name="anthropic")


async def test_provider_context_window_error_is_a_context_length_error(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(status=400))  # code: context_length_exceeded
    async with make_llm() as llm:
        with pytest.raises(ContextLengthError, match="context window") as info:
            await llm.chat("hello")
    assert info.value.limit == 128_000


def test_the_chat_parameters_are_declared_once() -> None:
    import inspect
    import typing

    from llmcore.chat_options import LLMCORE_OPTIONS, PROVIDER_OPTIONS, ChatOptions
    from llmcore.cli.slash import ReplState

    declared = set(typing.get_type_hints(ChatOptions))
    for method in (LLMCore.chat, LLMCore.chat_turn):
        params = inspect.signature(method).parameters
        # output_type is a keyword of its own: chat's overloads return its type.
        assert list(params) == ["self", "message", "stream", "output_type", "options"]
        assert params["options"].kind is inspect.Parameter.VAR_KEYWORD
    assert declared == LLMCORE_OPTIONS | PROVIDER_OPTIONS | {"provider_options"}
    # The REPL builds its turns from the same declaration.
    state = ReplState(provider="openai", model="m", session_id="s")
    assert set(state.chat_kwargs()) <= declared


async def test_provider_options_reach_the_provider_and_keywords_win(
    make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    async with make_llm() as llm:
        await llm.chat(
            "Hi",
            provider_options={"temperature": 0.9, "logit_bias": {"50256": -100}},
            temperature=0.1,
            user="abc",  # not declared: still passed on, as the specification allows
        )
    body = openai_server.last_request.json
    assert (body["temperature"], body["logit_bias"], body["user"]) == (0.1, {"50256": -100}, "abc")
