"""The specification's API (issue 14, items 1-2): un-awaited calls fail loudly; its names work."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest

from llmcore import LLMCore, SessionInfo

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]

# Each use the issue names, with what the spec's examples do.
MISUSES: dict[str, Callable[[Any], object]] = {
    "truth test": lambda p: bool(p),
    "if": lambda p: 1 if p else 0,
    "iteration": lambda p: [x for x in p],
    "unpacking": lambda p: [*p],
    "len": len,
    "indexing": lambda p: p[0],
    "key": lambda p: p["id"],
    "in": lambda p: "x" in p,
    "attribute": lambda p: p.messages,
    "str": str,
    "f-string": lambda p: f"{p}",
    "print-style": lambda p: "Available Sessions: " + str(p),
    "repr": repr,
}


def _calls(llm: LLMCore) -> dict[str, Callable[[], object]]:
    return {
        "llm.list_sessions()": llm.list_sessions,
        "llm.get_session(session_id)": lambda: llm.get_session("s1"),
        "llm.delete_session(session_id)": lambda: llm.delete_session("s1"),
        "llm.get_models_for_provider(provider_name)": lambda: llm.get_models_for_provider("openai"),
        "llm.rename_session(session_id, name)": lambda: llm.rename_session("s1", "n"),
    }


@pytest.mark.parametrize("misuse", sorted(MISUSES))
async def test_unawaited_call_raises_type_error_naming_the_await(
    make_llm: MakeLLM, misuse: str
) -> None:
    async with make_llm() as llm:
        await llm.chat("Hello", session_id="s1")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for call, start in _calls(llm).items():
                pending = start()
                with pytest.raises(TypeError) as info:
                    MISUSES[misuse](pending)
                assert f"`await {call}`" in str(info.value)
                assert call.split("(")[0] in str(info.value)
                del pending, info
            gc.collect()
        # The error is the one message: no "coroutine ... was never awaited" on top.
        assert [str(w.message) for w in caught] == []
        # Nothing ran: the session is still there.
        assert await llm.get_session("s1") is not None


async def test_if_delete_session_without_await_deletes_nothing(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        await llm.chat("Hello", session_id="s1")
        with pytest.raises(TypeError, match=r"await llm\.delete_session\(session_id\)"):
            if llm.delete_session("s1"):
                pytest.fail("an un-awaited delete_session must not be true")
        assert await llm.get_session("s1") is not None
        assert await llm.delete_session("s1") is True
        assert await llm.get_session("s1") is None


async def test_awaited_calls_work_in_every_form_the_event_loops_use(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        await llm.chat("Hello", session_id="s1")
        assert [s.id for s in await llm.list_sessions()] == ["s1"]
        found: list[Any] = []

        async def keep(call: Callable[[], Any]) -> None:
            found.append(await call())

        # Task groups (asyncio tasks, trio's nursery.start_soon) take the method itself.
        async with anyio.create_task_group() as tg:
            tg.start_soon(llm.list_sessions)
            tg.start_soon(llm.get_session, "s1")
            tg.start_soon(keep, lambda: llm.get_session("s1"))
        assert found[0].id == "s1"
        assert await llm.get_models_for_provider("openai")


def test_asyncio_create_task_and_gather_accept_the_call(base_overrides: dict[str, Any]) -> None:
    import asyncio

    async def main() -> None:
        async with LLMCore(config_overrides=base_overrides, env_prefix=None) as llm:
            await llm.chat("Hello", session_id="s1")
            task = asyncio.create_task(llm.get_session("s1"))
            session = await task
            assert session is not None and len(session.messages) == 2
            infos, deleted = await asyncio.gather(llm.list_sessions(), llm.delete_session("x"))
            assert [i.id for i in infos] == ["s1"] and deleted is False

    asyncio.run(main())


async def test_a_dropped_call_keeps_pythons_own_warning(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            llm.delete_session("s1")  # the result thrown away: Python's usual warning
            gc.collect()
        assert any("was never awaited" in str(w.message) for w in caught)


async def test_await_llmcore_returns_it(base_overrides: dict[str, Any]) -> None:
    llm = await LLMCore(config_overrides=base_overrides, env_prefix=None)
    try:
        assert isinstance(llm, LLMCore)
        assert await llm.chat("Hi") == "echo: Hi"
    finally:
        await llm.close()


def test_vector_store_error_is_the_spec_name_of_vector_storage_error() -> None:
    from llmcore import VectorStorageError, VectorStoreError
    from llmcore.exceptions import VectorStoreError as FromExceptions

    assert VectorStoreError is VectorStorageError is FromExceptions
    with pytest.raises(VectorStoreError):
        raise VectorStorageError("the store failed")


async def test_session_info_reads_as_the_spec_dicts(make_llm: MakeLLM) -> None:
    async with make_llm() as llm:
        await llm.chat("Hello", session_id="s1")
        await llm.rename_session("s1", "first")
        (info,) = await llm.list_sessions()
    assert isinstance(info, SessionInfo)
    assert info["id"] == "s1" and info.get("name") == "first"
    assert info.get("no_such_key") is None and info.get("no_such_key", 3) == 3
    as_dict = dict(info)
    assert set(as_dict) >= {"id", "name", "created_at", "updated_at"}
    assert as_dict["message_count"] == 2 and "id" in info
    with pytest.raises(KeyError):
        info["nope"]
