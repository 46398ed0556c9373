"""Where llmcore keeps the OAuth tokens of MCP servers: one private file per server.

``$XDG_CONFIG_HOME/llmcore/mcp-oauth/NAME-HASH.json`` (``~/.config/...``
by default), mode 0600 in a 0700 folder, written atomically. ``HASH`` is
taken from the server's URL, so tokens got for one URL are never sent to
another the section is later pointed at. The file holds the tokens, when
the access token expires, and the client registration (its id, and the
secret a dynamic registration issued). Every value read or written is
registered with :mod:`llmcore._util.redact`, so no error or log line shows it.

:class:`TokenFile` is the SDK's ``TokenStorage``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import anyio.to_thread

from llmcore._util.redact import register_secrets

__all__ = ["LoginRequired", "TokenFile", "token_folder"]


class LoginRequired(Exception):
    """An authorization-code server has no usable token: someone has to log in."""

    def __init__(self, server: str):
        super().__init__(f"it needs you to log in first: run `llmchat mcp login {server}`")
        self.server = server


def token_folder() -> Path:
    """The folder of the token files (``$XDG_CONFIG_HOME/llmcore/mcp-oauth``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "llmcore" / "mcp-oauth"


class TokenFile:
    """One server's OAuth tokens and client registration, in a private file.

    Args:
        server: the server's name (``[mcp.servers.NAME]``).
        url: its URL (part of the file's name).
        folder: where the file lives (default: :func:`token_folder`).
    """

    def __init__(self, server: str, url: str, folder: Path | None = None):
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", server)[:60]
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        self.path = (folder or token_folder()) / f"{stem}-{digest}.json"
        self.server = server

    def __repr__(self) -> str:
        return f"TokenFile({str(self.path)!r})"

    # -- the SDK's TokenStorage --------------------------------------------

    async def get_tokens(self) -> Any:
        """The stored tokens (``expires_in`` counted from now), or None."""
        from mcp.shared.auth import OAuthToken

        data = await self._read()
        tokens = data.get("tokens")
        if not tokens:
            return None
        expires_at = data.get("expires_at")
        if expires_at is not None:
            tokens = {**tokens, "expires_in": max(int(expires_at - time.time()), 0)}
        return OAuthToken.model_validate(tokens)

    async def set_tokens(self, tokens: Any) -> None:
        """Store new tokens, and when the access token expires."""
        data = await self._read()
        data["tokens"] = tokens.model_dump(mode="json", exclude_none=True)
        expires = tokens.expires_in
        data["expires_at"] = None if expires is None else time.time() + int(expires)
        await self._write(data)

    async def get_client_info(self) -> Any:
        """The stored client registration, or None."""
        from mcp.shared.auth import OAuthClientInformationFull

        info = (await self._read()).get("client_info")
        return None if not info else OAuthClientInformationFull.model_validate(info)

    async def set_client_info(self, client_info: Any) -> None:
        """Store the client registration (a dynamic registration's id and secret)."""
        data = await self._read()
        data["client_info"] = client_info.model_dump(mode="json", exclude_none=True)
        await self._write(data)

    # -- llmcore's own use -------------------------------------------------

    async def forget_client_info(self) -> None:
        """Forget the client registration (and its tokens): the next login registers again."""
        data = await self._read()
        for key in ("client_info", "tokens", "expires_at"):
            data.pop(key, None)
        await self._write(data)

    async def expires_at(self) -> float | None:
        """When the stored access token expires (epoch seconds), if the server said."""
        value = (await self._read()).get("expires_at")
        return None if value is None else float(value)

    async def has_tokens(self) -> bool:
        """Whether there are tokens to use (or refresh)."""
        return bool((await self._read()).get("tokens"))

    async def clear_tokens(self) -> None:
        """Forget the tokens (keep the client registration): a fresh login follows."""
        data = await self._read()
        if data.pop("tokens", None) is not None or "expires_at" in data:
            data.pop("expires_at", None)
            await self._write(data)

    # -- the file ----------------------------------------------------------

    async def _read(self) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(self._read_sync)

    def _read_sync(self) -> dict[str, Any]:
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            return {}  # damaged: as if absent, so a login replaces it
        if not isinstance(data, dict):
            return {}
        _register(data)
        return data

    async def _write(self, data: dict[str, Any]) -> None:
        _register(data)
        data["server"] = self.server
        await anyio.to_thread.run_sync(self._write_sync, data)

    def _write_sync(self, data: dict[str, Any]) -> None:
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = folder / f".{self.path.name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)  # O_CREAT's mode is masked by the umask; this is not
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)


def _register(data: dict[str, Any]) -> None:
    """Hide the file's secrets in every error and log line from now on."""
    tokens = data.get("tokens") or {}
    info = data.get("client_info") or {}
    register_secrets(
        {
            "access_token": tokens.get("access_token"),
            "refresh_token": tokens.get("refresh_token"),
            "client_secret": info.get("client_secret"),
        }
    )
