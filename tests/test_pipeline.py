"""Pipeline definitions: extends and edits, custom stages, bad definitions, tracing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from llmcore import LLMCore, PipelineError, ProviderError
from llmcore.pipeline import builtin_pipelines_dir
from llmcore.pipeline.definition import load_definition

DEFAULT_STAGES = [
    "load_session",
    "persist",
    "embed_query",
    "retrieve",
    "select_history",
    "truncate",
    "format_mcp",
    "call_provider",
]

INSERT = 'extends = "default"\n[[insert]]\nname = "x"\nafter = "persist"\n'

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


def define(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, "utf-8")
    return path


def test_default_definition_has_the_eight_stages_in_order() -> None:
    definition = load_definition("default", [builtin_pipelines_dir()])
    assert definition.stage_names == DEFAULT_STAGES


def test_extends_with_every_edit(tmp_path: Path) -> None:
    define(
        tmp_path,
        "edited",
        """
        extends = "default"
        remove = ["embed_query", "retrieve"]
        [[replace]]
        name = "truncate"
        stage = "custom_stages:Sign"
        [[insert]]
        name = "shout"
        stage = "custom_stages:Shout"
        after = "select_history"
        options = { times = 2 }
        [[insert]]
        name = "first"
        stage = "custom_stages:record_history_size"
        before = "load_session"
        [[move]]
        name = "format_mcp"
        before = "load_session"
        [options.shout]
        times = 3
        """,
    )
    definition = load_definition("edited", [tmp_path, builtin_pipelines_dir()])
    assert definition.stage_names == [
        "first",
        "format_mcp",
        "load_session",
        "persist",
        "select_history",
        "shout",
        "truncate",
        "call_provider",
    ]
    stages = {s.name: s for s in definition.stages}
    assert stages["truncate"].stage == "custom_stages:Sign"
    assert stages["shout"].options == {"times": 3}
    assert definition.extends == "default"


def test_extends_chain(tmp_path: Path) -> None:
    define(tmp_path, "a", 'extends = "default"\nremove = ["embed_query"]\n')
    define(tmp_path, "b", 'extends = "a"\nremove = ["retrieve"]\n')
    definition = load_definition("b", [tmp_path, builtin_pipelines_dir()])
    assert "embed_query" not in definition.stage_names
    assert "retrieve" not in definition.stage_names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            INSERT + 'stage = "no_such_stage"\n',
            "unknown stage 'no_such_stage'",
        ),
        (
            INSERT + 'stage = "select_histroy"\n',
            "Did you mean 'select_history'?",
        ),
        (
            INSERT + 'stage = "custom_stages:Nope"\n',
            "cannot be imported",
        ),
        (
            INSERT + 'stage = "custom_stages:NOT_A_STAGE"\n',
            "not a stage",
        ),
        ('extends = "default"\n[options.select_history]\nstrategy = "everything"\n', "bad options"),
        (
            'extends = "default"\n[options.select_history]\npage_sise = 3\n',
            "Did you mean 'page_size'?",
        ),
        (
            INSERT + 'stage = "custom_stages:Shout"\noptions = { times = 0 }\n',
            "times must be at least 1",
        ),
        ('extends = "default"\nremove = ["nope"]\n', "cannot remove 'nope'"),
        (
            'extends = "default"\n[[insert]]\nname = "x"\nstage = "custom_stages:Shout"\n',
            "exactly one of 'before' or 'after'",
        ),
        (
            'extends = "default"\n[[insert]]\nname = "persist"\nafter = "persist"\n',
            "a stage by that name exists",
        ),
        ('extends = "nowhere"\n', "No pipeline definition named 'nowhere'"),
        ("stages = []\n", "has no stages"),
        ('colour = "red"\n', "malformed"),
        ("[[stages]]\nname = \n", "cannot read"),
    ],
)
async def test_bad_definitions_fail_at_load(
    tmp_path: Path, make_llm: MakeLLM, openai_server: FakeOpenAIServer, text: str, message: str
) -> None:
    define(tmp_path, "bad", text)
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        with pytest.raises(PipelineError, match=message) as info:
            await llm.chat("hi", pipeline="bad")
        assert info.value.definition == "bad"
    assert openai_server.requests == []  # failed before any stage ran


def test_cycle_of_extends(tmp_path: Path) -> None:
    define(tmp_path, "a", 'extends = "b"\n')
    define(tmp_path, "b", 'extends = "a"\n')
    with pytest.raises(PipelineError, match="cycle: a -> b -> a"):
        load_definition("a", [tmp_path])


def test_bad_default_pipeline_fails_when_llmcore_is_built(tmp_path: Path) -> None:
    define(tmp_path, "mine", 'extends = "default"\nremove = ["nope"]\n')
    with pytest.raises(PipelineError, match="cannot remove"):
        LLMCore(
            config_overrides={"pipelines.paths": [str(tmp_path)], "pipelines.default": "mine"},
            env_prefix=None,
        )


@pytest.mark.anyio
async def test_custom_stages_see_and_change_the_turn(
    tmp_path: Path, make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    define(
        tmp_path,
        "loud",
        """
        extends = "default"
        [[insert]]
        name = "shout"
        stage = "custom_stages:Shout"
        after = "select_history"
        options = { times = 2 }
        [[insert]]
        name = "sign"
        stage = "custom_stages:Sign"
        after = "call_provider"
        [[insert]]
        name = "count"
        stage = "custom_stages:record_history_size"
        after = "shout"
        """,
    )
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        turn = await llm.chat_turn("hello there", session_id="s1", pipeline="loud")
        sent = openai_server.last_request.json["messages"]
        assert sent[-1] == {"role": "user", "content": "HELLO THERE!!"}
        assert turn.response.text == "echo: HELLO THERE!! -- llmcore"
        assert turn.state == {"shouted": True, "history_size": 0}
        assert [t.name for t in turn.trace] == [
            *DEFAULT_STAGES[:5],
            "shout",
            "count",
            *DEFAULT_STAGES[5:8],
            "sign",
        ]
        session = await llm.get_session("s1")
        assert session is not None
        assert session.messages[-1].content == "echo: HELLO THERE!! -- llmcore"


@pytest.mark.anyio
async def test_pipeline_file_path_can_be_given_directly(tmp_path: Path, make_llm: MakeLLM) -> None:
    path = define(tmp_path, "direct", 'extends = "default"\nremove = ["format_mcp"]\n')
    async with make_llm() as llm:
        turn = await llm.chat_turn("hi", pipeline=str(path))
    assert "format_mcp" not in [t.name for t in turn.trace]


@pytest.mark.anyio
async def test_unexpected_exception_is_wrapped_and_persist_still_runs(
    tmp_path: Path, make_llm: MakeLLM
) -> None:
    define(
        tmp_path,
        "fragile",
        'extends = "default"\n[[insert]]\nname = "explode"\nstage = "custom_stages:Explode"\n'
        'after = "call_provider"\n',
    )
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        with pytest.raises(PipelineError) as info:
            await llm.chat("hi", session_id="s", pipeline="fragile")
        assert info.value.stage == "explode"
        assert info.value.definition == "fragile"
        assert isinstance(info.value.__cause__, RuntimeError)
        session = await llm.get_session("s")
        assert session is not None
        # The model was called, so the turn is kept: user message and reply.
        assert [m.content for m in session.messages] == ["hi", "echo: hi"]


@pytest.mark.anyio
async def test_trace_records_every_stage_with_durations(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        turn = await llm.chat_turn("hi", session_id="t")
    assert [t.name for t in turn.trace] == DEFAULT_STAGES
    assert all(t.duration >= 0 for t in turn.trace)
    assert turn.duration == pytest.approx(sum(t.duration for t in turn.trace))
    persist = turn.trace[DEFAULT_STAGES.index("persist")]
    assert persist.wraps and "appended 2 messages" in persist.notes


def test_stage_protocol_is_importable() -> None:
    from llmcore import Stage
    from llmcore.stages.persist import Persist

    assert isinstance(Persist(services=None), Stage)  # type: ignore[arg-type]


AROUND = """
extends = "default"
[[insert]]
name = "around"
stage = "custom_stages:Around"
after = "persist"
options = { rescue = RESCUE }
[[insert]]
name = "timed"
stage = "custom_stages:timed"
before = "call_provider"
"""


def around_pipeline(folder: Path, *, rescue: bool = False) -> None:
    define(folder, "around", AROUND.replace("RESCUE", str(rescue).lower()))


async def test_a_wrapping_stage_runs_before_and_after_the_rest(
    tmp_path: Path, make_llm: MakeLLM
) -> None:
    around_pipeline(tmp_path)
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        turn = await llm.chat_turn("hi", session_id="s", pipeline="around")
    assert turn.state["around"] == [("before", "", False), ("after", "echo: hi", True)]
    assert turn.state["timed"] == "done: echo: hi"
    traces = {t.name: t for t in turn.trace}
    assert traces["around"].wraps and traces["timed"].wraps
    assert not traces["call_provider"].wraps
    assert traces["around"].notes == ["wrapped the rest"]  # its note, not the last stage's
    # A wrapper's own time excludes the stages it wrapped.
    assert traces["around"].duration < traces["call_provider"].duration + traces["timed"].duration


async def test_a_wrapping_stage_sees_the_whole_streamed_reply_after_the_stream(
    tmp_path: Path, make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    around_pipeline(tmp_path)
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."]))
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        turn = await llm.chat_turn("story", session_id="s", pipeline="around", stream=True)
        assert turn.chunks is not None
        assert turn.state["around"] == [("before", "", False)]  # not yet: the stream is open
        assert "".join([c async for c in turn.chunks]) == "Once upon a time."
    assert turn.state["around"][-1] == ("after", "Once upon a time.", True)
    assert turn.state["timed"] == "done: Once upon a time."


async def test_a_wrapping_stage_after_part_runs_when_the_stream_is_closed_early(
    tmp_path: Path, make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    around_pipeline(tmp_path)
    openai_server.enqueue(Reply(chunks=["Once ", "upon ", "a time."]))
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        turn = await llm.chat_turn("story", session_id="s", pipeline="around", stream=True)
        assert turn.chunks is not None
        async with turn.chunks as chunks:
            async for _chunk in chunks:
                break
        assert turn.state["around"][-1] == ("after", "Once ", False)
        assert turn.response.interrupted
        session = await llm.get_session("s")
    assert session is not None
    assert [m.content for m in session.messages] == ["story", "Once "]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_wrapping_stage_can_catch_a_later_stages_error(
    tmp_path: Path, make_llm: MakeLLM, openai_server: FakeOpenAIServer, stream: bool
) -> None:
    around_pipeline(tmp_path, rescue=True)
    openai_server.enqueue(Reply(status=503))
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        if stream:  # a stream still, of the one reply the wrapper gave
            text = "".join(
                [
                    c
                    async for c in await llm.chat(
                        "hi", session_id="s", pipeline="around", stream=True
                    )
                ]
            )
        else:
            text = await llm.chat("hi", session_id="s", pipeline="around")
        session = await llm.get_session("s")
    assert text == "Sorry, the model is unavailable."
    assert session is not None
    assert [m.content for m in session.messages] == ["hi", "Sorry, the model is unavailable."]


async def test_a_wrapping_stage_that_does_not_rescue_lets_the_error_through(
    tmp_path: Path, make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    around_pipeline(tmp_path)
    openai_server.enqueue(Reply(status=503))
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        with pytest.raises(ProviderError):
            await llm.chat_turn("hi", session_id="s", pipeline="around")
        session = await llm.get_session("s")
    assert session is not None  # persist, wrapping the rest, kept what was sent
    assert [m.content for m in session.messages] == ["hi"]


async def test_a_plain_always_run_stage_still_runs_after_a_failure(
    tmp_path: Path, make_llm: MakeLLM, openai_server: FakeOpenAIServer
) -> None:
    define(
        tmp_path,
        "cleanup",
        'extends = "default"\n[[insert]]\nname = "cleanup"\nstage = "custom_stages:Cleanup"\n'
        'after = "call_provider"\n',
    )
    openai_server.enqueue(Reply(status=503))
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        with pytest.raises(ProviderError):
            turn_holder = await llm.chat_turn("hi", pipeline="cleanup")
            del turn_holder
    from custom_stages import CLEANED

    assert CLEANED and isinstance(CLEANED[-1], ProviderError)


@pytest.mark.parametrize(
    ("text", "reader", "provider", "field"),
    [
        (
            'extends = "default"\n[[move]]\nname = "truncate"\nbefore = "select_history"\n',
            "truncate",
            "select_history",
            "history",
        ),
        (
            'extends = "default"\n[[move]]\nname = "format_mcp"\nafter = "call_provider"\n',
            "call_provider",
            "format_mcp",
            "mcp_payload",
        ),
        (
            'extends = "default"\n[[move]]\nname = "embed_query"\nafter = "retrieve"\n',
            "retrieve",
            "embed_query",
            "query_embedding",
        ),
    ],
)
async def test_an_order_that_breaks_a_contract_fails_at_load(
    tmp_path: Path,
    make_llm: MakeLLM,
    openai_server: FakeOpenAIServer,
    text: str,
    reader: str,
    provider: str,
    field: str,
) -> None:
    define(tmp_path, "bad", text)
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        with pytest.raises(PipelineError) as info:
            await llm.chat("hi", pipeline="bad")
    message = str(info.value)
    assert f"stage {reader!r} reads turn.{field}" in message
    assert f"stage {provider!r} provides" in message and "Move" in message
    assert (info.value.stage, info.value.definition) == (reader, "bad")
    assert openai_server.requests == []


async def test_a_custom_stage_contract_is_checked_and_undeclared_ones_are_not(
    tmp_path: Path, make_llm: MakeLLM
) -> None:
    define(
        tmp_path,
        "needs",
        'extends = "default"\n[[insert]]\nname = "needs"\nstage = "custom_stages:NeedsVerdict"\n'
        'after = "call_provider"\n',
    )
    define(
        tmp_path,
        "given",
        'extends = "needs"\n[[insert]]\nname = "judge"\nstage = "custom_stages:Judge"\n'
        'after = "call_provider"\n',
    )
    define(
        tmp_path,
        "undeclared",
        'extends = "needs"\n[[insert]]\nname = "maybe"\nstage = "custom_stages:Explode"\n'
        'before = "needs"\n',
    )
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        with pytest.raises(PipelineError, match=r"reads turn\.verdict, which no stage"):
            llm.load_pipeline("needs")
        llm.load_pipeline("given")  # Judge provides it first
        llm.load_pipeline("undeclared")  # Explode declares nothing: it might provide it


KEYWORD_STAGES = """
async def mark(turn, *, verbose=False):
    turn.state["marked"] = verbose


async def around(turn, call_next, *, label="around"):
    turn.state["before"] = label
    await call_next(turn)
    turn.state["after"] = turn.response.text
"""


async def test_a_function_stage_with_keyword_only_parameters_is_plain_not_wrapping(
    tmp_path: Path, make_llm: MakeLLM
) -> None:
    # A keyword-only (defaulted) parameter is not call_next: the stage is called as fn(turn).
    module = f"kw_stages_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(KEYWORD_STAGES, "utf-8")
    define(
        tmp_path,
        "kw",
        f'extends = "default"\n[[insert]]\nname = "mark"\nstage = "{module}:mark"\n'
        f'after = "select_history"\n[[insert]]\nname = "around"\nstage = "{module}:around"\n'
        'after = "persist"\n',
    )
    async with make_llm(**{"pipelines.paths": [str(tmp_path)]}) as llm:
        turn = await llm.chat_turn("hi", pipeline="kw")
    assert turn.state == {"marked": False, "before": "around", "after": "echo: hi"}
    wraps = {t.name: t.wraps for t in turn.trace}
    assert (wraps["mark"], wraps["around"]) == (False, True)
