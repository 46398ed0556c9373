"""create_session_storage picks the store from [storage.session], and LLMCore uses it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer

from llmcore import ConfigError, LLMCore
from llmcore.config.schema import SessionStorageSettings
from llmcore.storage.sessions import create_session_storage, json_folder
from llmcore.storage.sessions.json import JsonSessionStorage
from llmcore.storage.sessions.postgres import PostgresSessionStorage
from llmcore.storage.sessions.sqlite import SqliteSessionStorage


def test_each_type_builds_its_store(tmp_path: Path) -> None:
    folder = str(tmp_path / "s")
    assert isinstance(
        create_session_storage(SessionStorageSettings(type="json", path=folder)),
        JsonSessionStorage,
    )
    assert isinstance(create_session_storage(SessionStorageSettings()), SqliteSessionStorage)
    pg = create_session_storage(
        SessionStorageSettings(type="postgres", db_url="postgresql://u:pw@h/db", pool_size=3)
    )
    assert isinstance(pg, PostgresSessionStorage) and pg.pool_size == 3


def test_postgres_without_a_url_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="db_url") as info:
        create_session_storage(SessionStorageSettings(type="postgres"))
    assert info.value.key == "storage.session.db_url"


def test_the_json_store_turns_the_sqlite_default_into_a_folder() -> None:
    assert json_folder("~/.llmcore/sessions.db") == "~/.llmcore/sessions"
    assert json_folder("/data/chats") == "/data/chats"


@pytest.mark.parametrize("kind", ["json", "postgres"])
async def test_chat_turns_are_stored_in_the_configured_store(
    make_llm: Callable[..., AbstractAsyncContextManager[LLMCore]],
    openai_server: FakeOpenAIServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    kind: str,
) -> None:
    where = (
        {"storage.session.path": str(tmp_path / "chats")}
        if kind == "json"
        else {"storage.session.db_url": request.getfixturevalue("pg_db_url")}
    )
    async with make_llm(**{"storage.session.type": kind, **where}) as llm:
        await llm.chat("first", session_id="c1", system_message="be brief")
        await llm.chat("second", session_id="c1")
        session = await llm.get_session("c1")
        assert session is not None
        assert [m.role.value for m in session.messages] == [
            "system",
            "user",
            "assistant",
            "user",
            "assistant",
        ]
        # The second turn sent the first one as history.
        sent = openai_server.last_request.json["messages"]  # type: ignore[union-attr]
        assert [m["content"] for m in sent[:2]] == ["be brief", "first"]
        assert await llm.rename_session("c1", "Named") is True
        assert [(i.id, i.name) for i in await llm.list_sessions()] == [("c1", "Named")]
        assert await llm.delete_session("c1") is True
    if kind == "json":
        assert (tmp_path / "chats" / ".locks").is_dir()
