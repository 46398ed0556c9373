"""The session-store contract, run against every backend on both async backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from llmcore import InvalidRequestError, Message, Role
from llmcore.storage.sessions import BaseSessionStorage


def msg(text: str, role: Role = Role.USER, **kwargs: object) -> Message:
    return Message(role=role, content=text, **kwargs)  # type: ignore[arg-type]


async def contents(store: BaseSessionStorage, sid: str) -> list[str]:
    session = await store.get_session(sid)
    assert session is not None
    return [m.content for m in session.messages]


async def test_a_session_round_trips_every_field(store: BaseSessionStorage) -> None:
    info, created = await store.ensure_session("s1", name="Mine", metadata={"k": [1, 2]})
    assert created and (info.id, info.name, info.metadata, info.message_count) == (
        "s1",
        "Mine",
        {"k": [1, 2]},
        0,
    )
    again, created = await store.ensure_session("s1", name="Other")
    assert not created and again.name == "Mine"
    sent = [
        msg("be brief", Role.SYSTEM),
        msg('héllo\n"quoted" \u2603', tokens=7, tokens_by="tiktoken:o200k_base"),
        msg("hi", Role.ASSISTANT, metadata={"usage": {"input_tokens": 3}, "interrupted": True}),
    ]
    await store.append_messages("s1", sent)
    session = await store.get_session("s1")
    assert session is not None and session.name == "Mine"
    for got, want in zip(session.messages, sent, strict=True):
        assert (got.id, got.role, got.content, got.tokens, got.tokens_by, got.metadata) == (
            want.id,
            want.role,
            want.content,
            want.tokens,
            want.tokens_by,
            want.metadata,
        )
        assert got.session_id == "s1"
        assert abs((got.timestamp - want.timestamp).total_seconds()) < 1e-3
        assert got.timestamp.tzinfo is not None
    assert [m.content for m in await store.read_system_messages("s1")] == ["be brief"]
    info2 = await store.get_session_info("s1")
    assert info2 is not None and info2.message_count == 3
    assert info2.updated_at >= info2.created_at


async def test_missing_sessions(store: BaseSessionStorage) -> None:
    assert await store.get_session("nope") is None
    assert await store.get_session_info("nope") is None
    assert await store.read_system_messages("nope") == []
    page = await store.read_recent("nope", limit=5)
    assert (page.messages, page.next_before) == ([], None)
    assert await store.delete_session("nope") is False
    assert await store.update_session("nope", name="x") is False
    assert await store.list_sessions() == []


async def test_append_creates_the_session(store: BaseSessionStorage) -> None:
    await store.append_messages("new", [msg("a")])
    info = await store.get_session_info("new")
    assert info is not None and info.message_count == 1


async def test_read_recent_pages_back_to_the_start(store: BaseSessionStorage) -> None:
    await store.append_messages("s", [msg("sys", Role.SYSTEM)])
    for i in range(10):
        await store.append_messages("s", [msg(f"u{i}"), msg(f"a{i}", Role.ASSISTANT)])
    page = await store.read_recent("s", limit=4)
    assert [m.content for m in page.messages] == ["u8", "a8", "u9", "a9"]
    seen = [m.content for m in page.messages]
    while page.next_before is not None:
        page = await store.read_recent("s", limit=3, before=page.next_before)
        assert len(page.messages) <= 3
        seen = [m.content for m in page.messages] + seen
    assert seen == await contents(store, "s")
    assert seen[0] == "sys" and len(seen) == 21


async def test_paging_cursor_survives_a_rename(store: BaseSessionStorage) -> None:
    await store.append_messages("s", [msg(f"m{i}") for i in range(6)])
    page = await store.read_recent("s", limit=2)
    await store.update_session("s", name="a much longer name than before", metadata={"x": 1})
    page = await store.read_recent("s", limit=2, before=page.next_before)
    assert [m.content for m in page.messages] == ["m2", "m3"]


async def test_a_repeated_append_stores_each_message_once(store: BaseSessionStorage) -> None:
    turn = [msg("q"), msg("a", Role.ASSISTANT)]
    await store.append_messages("s", turn)
    await store.append_messages("s", turn)
    assert await contents(store, "s") == ["q", "a"]
    info = await store.get_session_info("s")
    assert info is not None and info.message_count == 2


async def test_the_same_message_id_may_live_in_two_sessions(store: BaseSessionStorage) -> None:
    shared = msg("copied")
    await store.append_messages("a", [shared])
    await store.append_messages("b", [shared])
    assert await contents(store, "a") == await contents(store, "b") == ["copied"]


async def test_update_renames_and_merges_metadata(store: BaseSessionStorage) -> None:
    await store.ensure_session("s", metadata={"a": 1})
    await store.append_messages("s", [msg("kept")])
    assert await store.update_session("s", name="N", metadata={"b": 2}) is True
    assert await store.update_session("s", metadata={"a": 3}) is True
    info = await store.get_session_info("s")
    assert info is not None
    assert (info.name, info.metadata, info.message_count) == ("N", {"a": 3, "b": 2}, 1)
    assert await contents(store, "s") == ["kept"]


async def test_delete(store: BaseSessionStorage) -> None:
    await store.append_messages("s", [msg("x")])
    await store.append_messages("t", [msg("y")])
    assert await store.delete_session("s") is True
    assert await store.delete_session("s") is False
    assert await store.get_session("s") is None
    assert [i.id for i in await store.list_sessions()] == ["t"]
    await store.append_messages("s", [msg("again")])
    assert await contents(store, "s") == ["again"]


async def test_list_sessions_newest_first_with_limit_and_offset(
    store: BaseSessionStorage,
) -> None:
    for sid in ["a", "b", "c", "d"]:
        await store.append_messages(sid, [msg(sid)])
        await anyio.sleep(0.01)  # distinct update times on coarse clocks
    await store.append_messages("b", [msg("b2")])
    infos = await store.list_sessions()
    assert [i.id for i in infos] == ["b", "d", "c", "a"]
    assert [i.message_count for i in infos] == [2, 1, 1, 1]
    assert [i.id for i in await store.list_sessions(limit=2)] == ["b", "d"]
    assert [i.id for i in await store.list_sessions(limit=2, offset=1)] == ["d", "c"]
    assert [i.id for i in await store.list_sessions(offset=3)] == ["a"]
    assert await store.list_sessions(limit=0) == []
    assert all(i.updated_at.tzinfo is not None for i in infos)
    assert infos[0].updated_at > infos[-1].updated_at
    assert infos[0].updated_at <= datetime.now(UTC)


async def test_200_concurrent_turns_keep_every_message_once_in_order(
    store: BaseSessionStorage,
) -> None:
    async def turn(i: int) -> None:
        await store.append_messages("s", [msg(f"q{i}"), msg(f"a{i}", Role.ASSISTANT)])

    async with anyio.create_task_group() as tg:
        for i in range(200):
            tg.start_soon(turn, i)
    session = await store.get_session("s")
    assert session is not None
    texts = [m.content for m in session.messages]
    assert sorted(texts) == sorted([f"q{i}" for i in range(200)] + [f"a{i}" for i in range(200)])
    # Each turn's question and answer are adjacent: an append is atomic.
    assert [t[1:] for t in texts[::2]] == [t[1:] for t in texts[1::2]]
    info = await store.get_session_info("s")
    assert info is not None and info.message_count == 400


async def test_two_store_instances_share_the_sessions(
    store: BaseSessionStorage, make_store: Callable[[], BaseSessionStorage]
) -> None:
    other = make_store()
    await other.initialize()
    try:
        async with anyio.create_task_group() as tg:
            for i in range(20):
                s = store if i % 2 else other
                tg.start_soon(s.append_messages, "s", [msg(f"q{i}"), msg(f"a{i}")])
        texts = await contents(other, "s")
        assert len(texts) == 40 and [t[1:] for t in texts[::2]] == [t[1:] for t in texts[1::2]]
        info = await store.get_session_info("s")
        assert info is not None and info.message_count == 40
    finally:
        await other.close()


@pytest.mark.parametrize("bad", ["", "a\x00b", "line\nbreak", "x" * 201, 42, None])
async def test_invalid_session_ids_are_rejected(store: BaseSessionStorage, bad: object) -> None:
    for call in (
        lambda: store.append_messages(bad, [msg("x")]),  # type: ignore[arg-type]
        lambda: store.ensure_session(bad),  # type: ignore[arg-type]
        lambda: store.get_session(bad),  # type: ignore[arg-type]
        lambda: store.read_recent(bad, limit=3),  # type: ignore[arg-type]
        lambda: store.delete_session(bad),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidRequestError, match="session id"):
            await call()
    assert await store.list_sessions() == []


async def test_path_like_ids_never_touch_files_outside_the_store(
    store: BaseSessionStorage, backend: str, tmp_path: Path
) -> None:
    before = set(tmp_path.rglob("*"))
    for bad in ["../../etc/passwd", "../escape", "..", "a/b", "a\\b", "/etc/passwd"]:
        if backend == "json":
            with pytest.raises(InvalidRequestError, match="cannot contain '/'"):
                await store.append_messages(bad, [msg("x")])
            with pytest.raises(InvalidRequestError):
                await store.get_session(bad)
        else:  # a database key, never a path
            await store.append_messages(bad, [msg("x")])
            assert await contents(store, bad) == ["x"]
    outside = {p for p in set(tmp_path.rglob("*")) - before if "sessions" not in p.parts}
    assert outside == set()


async def test_read_recent_rejects_a_bad_limit(store: BaseSessionStorage) -> None:
    with pytest.raises(InvalidRequestError, match="limit"):
        await store.read_recent("s", limit=0)
