"""JSON Lines store specifics: the file format, torn writes, damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmcore import Message, Role, SessionStorageError
from llmcore.storage.sessions.json import JsonSessionStorage


def turn(i: int) -> list[Message]:
    return [Message(role=Role.USER, content=f"q{i}"), Message(role=Role.ASSISTANT, content=f"a{i}")]


async def test_the_file_is_a_header_then_one_message_per_line(tmp_path: Path) -> None:
    store = JsonSessionStorage(tmp_path)
    await store.ensure_session("tutor 1", name="Tutor")
    await store.append_messages("tutor 1", turn(0))
    lines = (tmp_path / "tutor%201.jsonl").read_text().splitlines()
    header, *messages = (json.loads(line) for line in lines)
    assert (header["id"], header["name"], header["llmcore_session"]) == ("tutor 1", "Tutor", 2)
    assert [(m["role"], m["content"]) for m in messages] == [("user", "q0"), ("assistant", "a0")]
    assert "end" not in messages[0] and messages[1]["end"] is True


async def test_a_torn_last_append_is_skipped_and_repaired(tmp_path: Path) -> None:
    store = JsonSessionStorage(tmp_path)
    await store.append_messages("s", turn(0))
    path = tmp_path / "s.jsonl"
    good = path.read_bytes()
    await store.append_messages("s", turn(1))
    whole = path.read_bytes()
    # A crash inside the second append: its first line complete, the second cut short.
    cut = good + whole[len(good) :].split(b"\n")[0] + b"\n" + b'{"id":"x","ro'
    path.write_bytes(cut)
    fresh = JsonSessionStorage(tmp_path)
    session = await fresh.get_session("s")
    assert session is not None and [m.content for m in session.messages] == ["q0", "a0"]
    page = await fresh.read_recent("s", limit=10)
    assert [m.content for m in page.messages] == ["q0", "a0"]
    info = await fresh.get_session_info("s")
    assert info is not None and info.message_count == 2
    await fresh.append_messages("s", turn(2))
    session = await fresh.get_session("s")
    assert session is not None
    assert [m.content for m in session.messages] == ["q0", "a0", "q2", "a2"]
    assert all(json.loads(line) for line in path.read_text().splitlines())


async def test_counts_and_system_messages_follow_appends_from_elsewhere(tmp_path: Path) -> None:
    a, b = JsonSessionStorage(tmp_path), JsonSessionStorage(tmp_path)
    await a.append_messages("s", [Message(role=Role.SYSTEM, content="one"), *turn(0)])
    assert [m.content for m in await b.read_system_messages("s")] == ["one"]
    await a.append_messages("s", [Message(role=Role.SYSTEM, content="two"), *turn(1)])
    assert [m.content for m in await b.read_system_messages("s")] == ["one", "two"]
    await a.update_session("s", name="renamed")  # a new file: b must not trust its memory
    await a.append_messages("s", turn(2))
    info = await b.get_session_info("s")
    assert info is not None and (info.name, info.message_count) == ("renamed", 8)


async def test_a_damaged_header_is_a_clear_error_and_listing_skips_it(tmp_path: Path) -> None:
    store = JsonSessionStorage(tmp_path)
    await store.append_messages("ok", turn(0))
    (tmp_path / "bad.jsonl").write_text("not json\n")
    with pytest.raises(SessionStorageError, match="no valid session header") as info:
        await store.get_session("bad")
    assert (info.value.backend, info.value.operation) == ("json", "get_session")
    assert [i.id for i in await store.list_sessions()] == ["ok"]


async def test_leftover_temporary_files_are_ignored(tmp_path: Path) -> None:
    store = JsonSessionStorage(tmp_path)
    await store.append_messages("s", turn(0))
    (tmp_path / ".s.1234abcd.tmp").write_text("half a rewrite")
    assert [i.id for i in await store.list_sessions()] == ["s"]


async def test_long_and_unusual_ids_get_distinct_safe_file_names(tmp_path: Path) -> None:
    store = JsonSessionStorage(tmp_path / "sessions")
    ids = ["é" * 200, "é" * 199 + "e", ".hidden", "%2E", "a:b*?<>|", "CON"]
    for sid in ids:
        await store.append_messages(sid, [Message(role=Role.USER, content=sid)])
    for sid in ids:
        session = await store.get_session(sid)
        assert session is not None and [m.content for m in session.messages] == [sid]
    names = [p.name for p in (tmp_path / "sessions").iterdir() if p.suffix == ".jsonl"]
    assert len(names) == len(ids) and all(len(n.encode()) < 200 for n in names)
    assert not any(n.startswith(".") for n in names)
    assert sorted(i.id for i in await store.list_sessions()) == sorted(ids)


async def test_a_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = JsonSessionStorage(blocker)
    with pytest.raises(SessionStorageError, match=r"storage\.session\.path") as info:
        await store.append_messages("s", turn(0))
    assert (info.value.backend, info.value.operation) == ("json", "append_messages")
