"""JSON Lines files edited by hand: only a line that fails to parse may be dropped."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from filelock import FileLock

from llmcore import Message, Role
from llmcore.storage.sessions.json import JsonSessionStorage


def turn(i: int) -> list[Message]:
    return [Message(role=Role.USER, content=f"q{i}"), Message(role=Role.ASSISTANT, content=f"a{i}")]


async def texts(store: JsonSessionStorage, sid: str = "s") -> list[str]:
    session = await store.get_session(sid)
    assert session is not None
    return [m.content for m in session.messages]


async def everything(store: JsonSessionStorage, sid: str = "s") -> tuple[list[str], list[str], int]:
    """What every reader says: the whole session, the newest page, and the count."""
    page = await store.read_recent(sid, limit=100)
    info = await store.get_session_info(sid)
    assert info is not None
    return await texts(store, sid), [m.content for m in page.messages], info.message_count


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def two_turns(folder: Path) -> Path:
    store = JsonSessionStorage(folder)
    await store.append_messages("s", turn(0))
    await store.append_messages("s", turn(1))
    return folder / "s.jsonl"


async def test_a_last_line_without_its_newline_is_kept_and_appended_after(
    tmp_path: Path,
) -> None:
    path = await two_turns(tmp_path)
    stripped = path.read_bytes().rstrip(b"\n")  # what an editor saving the file does
    path.write_bytes(stripped)
    store = JsonSessionStorage(tmp_path)
    want = ["q0", "a0", "q1", "a1"]
    assert await everything(store) == (want, want, 4)
    await store.append_messages("s", turn(2))
    assert path.read_bytes().startswith(stripped + b"\n")  # nothing before was touched
    assert [line["content"] for line in lines(path)[1:]] == [*want, "q2", "a2"]
    assert await everything(JsonSessionStorage(tmp_path)) == (
        [*want, "q2", "a2"],
        [*want, "q2", "a2"],
        6,
    )


async def test_a_header_alone_without_its_newline_is_still_a_session(tmp_path: Path) -> None:
    store = JsonSessionStorage(tmp_path)
    await store.ensure_session("s", name="Mine")
    path = tmp_path / "s.jsonl"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    await store.append_messages("s", turn(0))
    info = await JsonSessionStorage(tmp_path).get_session_info("s")
    assert info is not None and (info.name, info.message_count) == ("Mine", 2)
    assert len(lines(path)) == 3


async def test_deleting_the_last_reply_line_keeps_the_question(tmp_path: Path) -> None:
    path = await two_turns(tmp_path)
    watcher = JsonSessionStorage(tmp_path)  # remembers counts from before the edit
    assert (await everything(watcher))[2] == 4
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-1]))  # same inode
    want = ["q0", "a0", "q1"]
    assert await everything(watcher) == (want, want, 3)
    assert await everything(JsonSessionStorage(tmp_path)) == (want, want, 3)
    store = JsonSessionStorage(tmp_path)
    await store.append_messages("s", turn(2))
    assert await everything(store) == ([*want, "q2", "a2"], [*want, "q2", "a2"], 5)
    assert await everything(watcher) == ([*want, "q2", "a2"], [*want, "q2", "a2"], 5)


async def test_a_crash_after_a_hand_edit_keeps_the_edited_file(tmp_path: Path) -> None:
    path = await two_turns(tmp_path)
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-1]).rstrip(b"\n"))
    store = JsonSessionStorage(tmp_path)
    await store.append_messages("s", turn(2))
    # A later append cut short by a crash: its first line whole, its second torn.
    torn = json.dumps(
        {"id": "x3", "role": "user", "content": "q3", "timestamp": "2024-01-01T00:00:00Z"}
    )
    with path.open("ab") as f:
        f.write(torn.encode() + b'\n{"id":"y3","role":"assis')
    want = ["q0", "a0", "q1", "q2", "a2"]
    fresh = JsonSessionStorage(tmp_path)
    assert await everything(fresh) == (want, want, 5)
    await fresh.append_messages("s", turn(4))
    assert await everything(fresh) == ([*want, "q4", "a4"], [*want, "q4", "a4"], 7)
    assert all(line.get("content") != "q3" for line in lines(path))


async def test_resending_a_turn_whose_reply_was_deleted_completes_it(tmp_path: Path) -> None:
    store = JsonSessionStorage(tmp_path)
    await store.append_messages("s", turn(0))
    second = turn(1)
    await store.append_messages("s", second)
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-1]))
    await store.append_messages("s", second)  # the same messages again: the reply is added
    want = ["q0", "a0", "q1", "a1"]
    assert await everything(JsonSessionStorage(tmp_path)) == (want, want, 4)


async def test_a_damaged_last_line_is_the_only_line_dropped(tmp_path: Path) -> None:
    path = await two_turns(tmp_path)
    body = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(body[:-1]) + b"{this is not json}\n")
    store = JsonSessionStorage(tmp_path)
    want = ["q0", "a0", "q1"]
    assert await everything(store) == (want, want, 3)
    await store.append_messages("s", turn(2))
    assert [line["content"] for line in lines(path)[1:]] == [*want, "q2", "a2"]


async def test_blank_lines_are_ignored(tmp_path: Path) -> None:
    path = await two_turns(tmp_path)
    body = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([body[0], b"\n", *body[1:3], b"   \n", *body[3:], b"\n\n"]))
    store = JsonSessionStorage(tmp_path)
    want = ["q0", "a0", "q1", "a1"]
    assert await everything(store) == (want, want, 4)
    await store.append_messages("s", turn(2))
    assert await everything(JsonSessionStorage(tmp_path)) == (
        [*want, "q2", "a2"],
        [*want, "q2", "a2"],
        6,
    )
    page = await store.read_recent("s", limit=3)
    assert [m.content for m in page.messages] == ["a1", "q2", "a2"]
    assert page.next_before is not None
    older = await store.read_recent("s", limit=10, before=page.next_before)
    assert [m.content for m in older.messages] == ["q0", "a0", "q1"]


async def test_a_reader_never_sees_half_of_an_append_being_written(tmp_path: Path) -> None:
    path = await two_turns(tmp_path)
    q2, a2 = (line + b"\n" for line in _encoded(turn(2)))
    lock = FileLock(tmp_path / ".locks" / "s.lock")
    lock.acquire()  # a writer in another process, between the two lines of its append
    released = False
    try:
        with path.open("ab") as f:
            f.write(q2)
        seen: list[list[str]] = []

        async def read() -> None:
            seen.append(await texts(JsonSessionStorage(tmp_path)))

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            await anyio.sleep(0.3)
            assert seen == []  # the reader waits for the writer instead of showing q2 alone
            with path.open("ab") as f:
                f.write(a2)
            lock.release()
            released = True
    finally:
        if not released:
            lock.release()
    assert seen == [["q0", "a0", "q1", "a1", "q2", "a2"]]


def _encoded(messages: list[Message]) -> list[bytes]:
    from llmcore.storage.sessions import jsonl

    data, _blobs = jsonl.encode_messages(messages)
    return data.splitlines()


@pytest.mark.parametrize("cut", [1, 20, -1])
async def test_a_torn_single_line_append_is_dropped_and_nothing_else(
    tmp_path: Path, cut: int
) -> None:
    path = await two_turns(tmp_path)
    good = path.read_bytes()
    (line,) = _encoded([Message(role=Role.USER, content="lost")])
    path.write_bytes(good + line[:cut])
    store = JsonSessionStorage(tmp_path)
    want = ["q0", "a0", "q1", "a1"]
    assert await everything(store) == (want, want, 4)
    await store.append_messages("s", turn(2))
    assert path.read_bytes().startswith(good)
    assert await everything(store) == ([*want, "q2", "a2"], [*want, "q2", "a2"], 6)
