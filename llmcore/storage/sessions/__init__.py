"""Session stores and the factory that picks one from ``[storage.session]``."""

from __future__ import annotations

from llmcore.config.schema import SessionStorageSettings
from llmcore.exceptions import ConfigError
from llmcore.storage.sessions.base import BaseSessionStorage, MessagePage

__all__ = ["BaseSessionStorage", "MessagePage", "create_session_storage"]


def create_session_storage(settings: SessionStorageSettings) -> BaseSessionStorage:
    """Build the session store ``settings.type`` names (not yet opened)."""
    if settings.type == "sqlite":
        from llmcore.storage.sessions.sqlite import SqliteSessionStorage

        return SqliteSessionStorage(settings.path, busy_timeout=settings.busy_timeout)
    raise ConfigError(
        f"The {settings.type!r} session store is not available in this version of llmcore; "
        'set storage.session.type = "sqlite".',
        key="storage.session.type",
    )
