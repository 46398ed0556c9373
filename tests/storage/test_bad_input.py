"""Bad metadata and malformed messages: refused before any write, by every store."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from llmcore import InvalidRequestError, Message, Role
from llmcore.storage.sessions import BaseSessionStorage

BAD_METADATA = {
    "object": (object(), "metadata['x'] is a object"),
    "set": ({1, 2}, "metadata['x'] is a set"),
    "bytes": (b"raw", "metadata['x'] is a bytes"),
    "tuple": ((1, 2), "metadata['x'] is a tuple"),
    "nan": (float("nan"), "metadata['x'] is nan"),
    "int key": ({1: "one"}, "metadata['x'] has the key 1"),
    "deep": ({"usage": [{"raw": {3}}]}, "metadata['x']['usage'][0]['raw'] is a set"),
}


def msg(text: str, role: Role = Role.USER, **kwargs: object) -> Message:
    return Message(role=role, content=text, **kwargs)  # type: ignore[arg-type]


async def contents(store: BaseSessionStorage, sid: str = "s") -> list[str]:
    session = await store.get_session(sid)
    assert session is not None
    return [m.content for m in session.messages]


@pytest.mark.parametrize("case", list(BAD_METADATA))
async def test_bad_message_metadata_is_refused_before_the_write(
    store: BaseSessionStorage, make_store: Callable[[], BaseSessionStorage], case: str
) -> None:
    value, problem = BAD_METADATA[case]
    await store.append_messages("s", [msg("kept")])
    reply = msg("reply", Role.ASSISTANT, metadata={"ok": 1, "x": value})
    with pytest.raises(InvalidRequestError) as info:
        await store.append_messages("s", [msg("question"), reply])
    text = str(info.value)
    assert problem in text and repr(reply.id) in text and "session 's'" in text
    assert "nothing was stored" in text
    assert await contents(store) == ["kept"]
    # Nothing is left half-done: this store and another instance go on writing.
    await store.append_messages("s", [msg("next turn")])
    other = make_store()
    try:
        await other.append_messages("s", [msg("elsewhere")])
    finally:
        await other.close()
    assert await contents(store) == ["kept", "next turn", "elsewhere"]
    info_ = await store.get_session_info("s")
    assert info_ is not None and info_.message_count == 3


@pytest.mark.parametrize("case", list(BAD_METADATA))
async def test_bad_session_metadata_is_refused_before_the_write(
    store: BaseSessionStorage, case: str
) -> None:
    value, problem = BAD_METADATA[case]
    with pytest.raises(InvalidRequestError, match="session 'new'") as info:
        await store.ensure_session("new", name="New", metadata={"x": value})
    assert problem in str(info.value)
    assert await store.get_session_info("new") is None
    await store.ensure_session("s", name="Mine", metadata={"k": 1})
    with pytest.raises(InvalidRequestError, match="session 's'") as info:
        await store.update_session("s", name="renamed", metadata={"x": value})
    assert problem in str(info.value)
    header = await store.get_session_info("s")
    assert header is not None and (header.name, header.metadata) == ("Mine", {"k": 1})


async def test_metadata_that_is_not_a_dict_is_refused(store: BaseSessionStorage) -> None:
    with pytest.raises(InvalidRequestError, match="metadata is a list, not a dict"):
        await store.append_messages("s", [msg("x", metadata=["a"])])
    with pytest.raises(InvalidRequestError, match="metadata is a str, not a dict"):
        await store.ensure_session("s", metadata="a")  # type: ignore[arg-type]
    assert await store.list_sessions() == []


async def test_good_metadata_reads_back_equal(store: BaseSessionStorage) -> None:
    metadata = {
        "usage": {"input_tokens": 3, "output_tokens": 2**70},
        "list": [1, 2.5, "x", None, True, {"nested": []}],
        "role": Role.USER,  # a str enum is a str
    }
    await store.append_messages("s", [msg("x", metadata=metadata)])
    session = await store.get_session("s")
    assert session is not None and session.messages[0].metadata == metadata


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (msg(123), "content is a int, not a str"),  # type: ignore[arg-type]
        (msg("x", role="user"), "role is 'user', not a Role"),
        (msg("x", id=""), "id is '', not a non-empty str"),
        (msg("x", timestamp="2024-01-01"), "timestamp is a str, not a datetime"),
        (msg("x", tokens="7"), "tokens is '7', not an int or None"),
        ({"role": "user", "content": "x"}, "a dict is not a Message"),
    ],
    ids=["content", "role", "id", "timestamp", "tokens", "dict"],
)
async def test_a_malformed_message_is_refused_before_the_write(
    store: BaseSessionStorage, bad: object, problem: str
) -> None:
    await store.append_messages("s", [msg("kept")])
    with pytest.raises(InvalidRequestError, match="Cannot append to session 's'") as info:
        await store.append_messages("s", [msg("fine"), bad])  # type: ignore[list-item]
    assert problem in str(info.value)
    assert await contents(store) == ["kept"]
    await store.append_messages("s", [msg("next")])
    assert await contents(store) == ["kept", "next"]
