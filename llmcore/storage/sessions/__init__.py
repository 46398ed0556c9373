"""Session stores and the factory that picks one from ``[storage.session]``."""

from __future__ import annotations

from llmcore._util.plugins import build_plugin, find_plugin
from llmcore.config.schema import SessionStorageSettings
from llmcore.exceptions import ConfigError
from llmcore.storage.sessions.base import BaseSessionStorage, MessagePage, check_session_id

__all__ = [
    "BaseSessionStorage",
    "MessagePage",
    "check_session_id",
    "create_session_storage",
    "json_folder",
]


def create_session_storage(settings: SessionStorageSettings) -> BaseSessionStorage:
    """Build the session store ``settings.type`` names (not yet opened).

    A type from another package (``"package.module:Class"`` or an
    ``llmcore.session_stores`` entry point) is a
    :class:`~llmcore.storage.sessions.BaseSessionStorage` subclass, built with
    ``Class.from_settings(settings)`` if it has one, else ``Class(settings)``.

    Raises:
        ConfigError: the settings do not describe a usable store (PostgreSQL
            without ``db_url``, a bad ``table_prefix``).
    """
    if settings.type == "sqlite":
        from llmcore.storage.sessions.sqlite import SqliteSessionStorage

        return SqliteSessionStorage(settings.path, busy_timeout=settings.busy_timeout)
    if settings.type == "json":
        from llmcore.storage.sessions.json import JsonSessionStorage

        return JsonSessionStorage(json_folder(settings.path), lock_timeout=settings.busy_timeout)
    if settings.type == "postgres":
        if not settings.db_url:
            raise ConfigError(
                'storage.session.type is "postgres" but storage.session.db_url is not set; set '
                "it (or LLMCORE_STORAGE_SESSION_DB_URL) to e.g. "
                "postgresql://user:password@host:5432/dbname.",
                key="storage.session.db_url",
            )
        from llmcore.storage.sessions.postgres import PostgresSessionStorage

        return PostgresSessionStorage(
            settings.db_url,
            table_name=settings.table_prefix,
            pool_size=settings.pool_size,
            timeout=settings.busy_timeout,
        )
    cls = find_plugin(
        settings.type,
        builtins={},
        group="llmcore.session_stores",
        base=BaseSessionStorage,
        key="storage.session.type",
        what="session store",
    )
    return build_plugin(cls, settings)  # type: ignore[no-any-return]


def json_folder(path: str) -> str:
    """The folder of the JSON store: ``path``, or a folder beside the SQLite default.

    ``path`` defaults to the SQLite file ``~/.llmcore/sessions.db``; a JSON
    store left with that default uses the folder ``~/.llmcore/sessions``.
    """
    return path[: -len(".db")] if path.endswith(".db") else path
