"""JSON Lines session store: one human-readable file per session.

Files live in one folder (``[storage.session] path``). An append writes the
turn's lines at the end of the file and fsyncs; a crash leaves at most a
torn last append, which readers skip and the next append cuts off (see
:mod:`llmcore.storage.sessions.jsonl`). Files edited by hand stay readable:
a missing last newline or a deleted reply line loses nothing. Renames and
metadata changes write a new file (temporary file, fsync, atomic rename).
Writers to one session are serialised by an in-process lock and a lock file
under ``.locks/`` that other processes respect too. Every file operation
runs in a worker thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import anyio
import anyio.to_thread
import msgspec

from llmcore.exceptions import LLMCoreError, SessionStorageError
from llmcore.models import ChatSession, Message, SessionInfo, utcnow
from llmcore.storage.sessions import jsonl, jsonl_file
from llmcore.storage.sessions.base import (
    BaseSessionStorage,
    MessagePage,
    check_limit,
    check_messages,
    check_metadata,
    check_session_id,
)

__all__ = ["JsonSessionStorage"]

T = TypeVar("T")
logger = logging.getLogger("llmcore.storage")
_SUFFIX = ".jsonl"


class JsonSessionStorage(BaseSessionStorage):
    """Sessions as JSON Lines files in a folder (``[storage.session] path``).

    Args:
        path: the folder (``~`` expanded, created on first write).
        lock_timeout: seconds to wait for another process writing the same
            session before failing.
    """

    backend = "json"

    def __init__(self, path: str | Path, *, lock_timeout: float = 10.0):
        self.folder = Path(path).expanduser()
        self.lock_timeout = lock_timeout
        self._locks: dict[str, anyio.Lock] = {}
        self._index = jsonl_file.ScanIndex()

    # -- plumbing ---------------------------------------------------------

    def _path(self, stem: str) -> Path:
        return self.folder / f"{stem}{_SUFFIX}"

    async def _run(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(fn)
        except LLMCoreError:
            raise
        except jsonl_file.CorruptFile as exc:
            raise SessionStorageError(
                f"JSON session store: {exc}. Move that file out of {str(self.folder)!r} or "
                "restore it from a backup.",
                backend=self.backend,
                operation=operation,
            ) from exc
        except (OSError, ValueError, msgspec.MsgspecError) as exc:
            raise SessionStorageError(
                f"JSON session store {str(self.folder)!r} failed to {operation}: {exc}. Check "
                "storage.session.path and that the folder is writable.",
                backend=self.backend,
                operation=operation,
            ) from exc

    async def _locked(self, session_id: str, operation: str, fn: Callable[[str], T]) -> T:
        """Run ``fn(stem)`` holding the session's in-process and cross-process locks."""
        stem = jsonl.file_stem(check_session_id(session_id, backend=self.backend))
        lock = self._locks.setdefault(stem, anyio.Lock())
        async with lock:
            return await self._run(operation, lambda: self._with_file_lock(stem, fn))

    def _with_file_lock(self, stem: str, fn: Callable[[str], T]) -> T:
        from filelock import FileLock, Timeout

        locks = self.folder / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        # The lock file is never deleted: processes waiting on it must share its inode.
        lock = FileLock(locks / f"{stem}.lock", timeout=self.lock_timeout)
        try:
            lock.acquire(poll_interval=0.002)
        except Timeout:
            raise SessionStorageError(
                f"Another process has held the lock of session file {stem}{_SUFFIX} for "
                f"{self.lock_timeout} s; try again, or remove {locks / (stem + '.lock')} if no "
                "llmcore process is running.",
                backend=self.backend,
                operation="lock",
            ) from None
        try:
            return fn(stem)
        finally:
            lock.release()

    def _blobs(self, stem: str) -> jsonl_file.BlobFolder:
        return jsonl_file.BlobFolder(self.folder / ".blobs" / stem)

    def _stem(self, session_id: str) -> str:
        return jsonl.file_stem(check_session_id(session_id, backend=self.backend))

    def _committed(self, path: Path, f: IO[bytes], start: int) -> jsonl.Tail:
        """Where the committed records of an open file end, as a reader sees them.

        Records after the last end marker that are not a torn append are
        kept (a hand edit removed the lines after them), but a writer between
        two lines of its append looks the same: wait for writers (the
        session's lock file) and look again, so no reader sees half an
        append. A folder that cannot be locked (read-only) is read as it is.
        """
        tail = jsonl.committed_end(f, start, os.fstat(f.fileno()).st_size)
        if tail.marked:
            return tail
        try:
            return self._with_file_lock(
                path.name[: -len(_SUFFIX)],
                lambda _: jsonl.committed_end(f, start, os.fstat(f.fileno()).st_size),
            )
        except (OSError, SessionStorageError):
            return tail

    def _info(self, path: Path) -> SessionInfo | None:
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        with f:
            header, start = jsonl_file.read_header(f, path)
            count, _ = self._index.scan(path, f, header, start, self._committed)
            mtime = os.fstat(f.fileno()).st_mtime_ns
        return SessionInfo(
            id=header.id,
            name=header.name,
            created_at=header.created_at,
            updated_at=datetime.fromtimestamp(mtime / 1e9, UTC),
            message_count=count,
            metadata=header.metadata,
        )

    def _create(self, stem: str, session_id: str, name: str | None, meta: dict[str, Any]) -> bool:
        path = self._path(stem)
        if path.exists():
            return False
        now = utcnow()
        header = jsonl.Header(
            llmcore_session=jsonl.FORMAT_VERSION,
            id=session_id,
            name=name,
            created_at=now,
            updated_at=now,
            metadata=meta,
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        jsonl_file.rewrite(path, header, lambda out: None)
        return True

    # -- writes -----------------------------------------------------------

    async def ensure_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> tuple[SessionInfo, bool]:
        """Return the session's header, creating the session file if absent."""
        path = self._path(self._stem(session_id))
        meta = check_metadata(metadata, backend=self.backend, session_id=session_id)
        info = await self._run("ensure_session", lambda: self._info(path))
        if info is not None:
            return info, False
        created = await self._locked(
            session_id,
            "ensure_session",
            lambda stem: self._create(stem, session_id, name, dict(meta)),
        )
        info = await self._run("ensure_session", lambda: self._info(path))
        assert info is not None
        return info, created

    async def append_messages(self, session_id: str, messages: Sequence[Message]) -> None:
        """Append messages at the end of the file and fsync.

        A message whose id is in the session's last append is skipped, so a
        retried append does not duplicate it.
        """
        await self.append_turn(session_id, messages)

    async def append_turn(
        self,
        session_id: str,
        messages: Sequence[Message],
        *,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Append messages and merge ``metadata`` into the header, in one write.

        Without metadata this is an append; with it (or for a file an older
        release wrote) the file is rewritten with its new header and the
        messages, and renamed into place at once.
        """
        check_session_id(session_id, backend=self.backend)
        batch = check_messages(session_id, messages, backend=self.backend)
        meta = check_metadata(metadata, backend=self.backend, session_id=session_id)
        if not batch and not meta:
            return

        def work(stem: str) -> None:
            self._create(stem, session_id, None, {})
            path = self._path(stem)
            blobs = self._blobs(stem)
            while True:
                with path.open("r+b") as f:
                    header, start = jsonl_file.read_header(f, path)
                    size = os.fstat(f.fileno()).st_size
                    tail = jsonl.committed_end(f, start, size)
                    if not tail.marked:
                        # Its reply line was deleted by hand (or a crash fell between
                        # two lines): mark what is left as committed, then append.
                        jsonl_file.mark_end(path, f, header, start, tail)
                        continue  # the file was replaced: append to the new one
                    if meta or header.llmcore_session < jsonl.FORMAT_VERSION:
                        # A new header; from an older release, the current format
                        # too, so an older reader is not handed lines it misreads.
                        header.llmcore_session = jsonl.FORMAT_VERSION
                        header.metadata = {**header.metadata, **meta}
                        header.updated_at = utcnow()
                        jsonl_file.rewrite_with(path, f, header, start, tail, batch, blobs)
                    else:
                        jsonl_file.append(f, path, tail, size, batch, blobs)
                    return

        await self._locked(session_id, "append_messages", work)

    async def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> bool:
        """Rename a session and/or merge keys into its metadata (rewrites the file)."""
        meta = check_metadata(
            metadata, backend=self.backend, session_id=check_session_id(session_id)
        )

        def work(stem: str) -> bool:
            path = self._path(stem)
            try:
                f = path.open("rb")
            except FileNotFoundError:
                return False
            with f:
                header, start = jsonl_file.read_header(f, path)
                tail = jsonl.committed_end(f, start, os.fstat(f.fileno()).st_size)
                header.name = header.name if name is None else name
                header.metadata = {**header.metadata, **meta}
                header.updated_at = utcnow()

                def body(out: IO[bytes]) -> None:
                    jsonl_file.copy(f, out, start, tail.end)
                    if tail.end > start and not tail.newline:
                        out.write(b"\n")

                jsonl_file.rewrite(path, header, body)
            return True

        return await self._locked(session_id, "update_session", work)

    async def delete_session(self, session_id: str) -> bool:
        """Delete the session's file."""

        def work(stem: str) -> bool:
            path = self._path(stem)
            self._index.forget(path)
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            self._blobs(stem).remove()
            jsonl_file.fsync_dir(self.folder)
            return True

        return await self._locked(session_id, "delete_session", work)

    # -- reads ------------------------------------------------------------

    async def read_recent(
        self, session_id: str, *, limit: int, before: int | None = None
    ) -> MessagePage:
        """Read up to ``limit`` of the newest messages, from the end of the file."""
        path = self._path(self._stem(session_id))
        check_limit(limit, backend=self.backend)

        def work() -> MessagePage:
            try:
                f = path.open("rb")
            except FileNotFoundError:
                return MessagePage([], None)
            with f:
                header, start = jsonl_file.read_header(f, path)
                if before is None:
                    stop = self._committed(path, f, start).end
                else:
                    stop = start + max(0, int(before))
                records: list[tuple[int, jsonl.Record]] = []
                for offset, line in jsonl.lines_backward(f, start, stop):
                    if not line.strip():
                        continue
                    records.append((offset, jsonl_file.read_record(line, path)))
                    if len(records) == limit:
                        break
            records.reverse()
            blobs = self._blobs(path.stem)
            messages = [jsonl.to_message(r, header.id, blobs) for _, r in records]
            first = records[0][0] if records else start
            return MessagePage(messages, first - start if first > start else None)

        return await self._run("read_recent", work)

    async def read_system_messages(self, session_id: str) -> list[Message]:
        """Read the session's system messages (remembered between calls)."""
        path = self._path(self._stem(session_id))

        def work() -> list[Message]:
            try:
                f = path.open("rb")
            except FileNotFoundError:
                return []
            with f:
                header, start = jsonl_file.read_header(f, path)
                _, system = self._index.scan(path, f, header, start, self._committed)
            return [jsonl.to_message(r, header.id, self._blobs(path.stem)) for r in system]

        return await self._run("read_system_messages", work)

    async def get_session(self, session_id: str) -> ChatSession | None:
        """Load a whole session with its messages."""
        path = self._path(self._stem(session_id))

        def work() -> ChatSession | None:
            try:
                f = path.open("rb")
            except FileNotFoundError:
                return None
            with f:
                header, start = jsonl_file.read_header(f, path)
                st = os.fstat(f.fileno())
                end = self._committed(path, f, start).end
                f.seek(start)
                lines = [line for line in f.read(end - start).splitlines() if line.strip()]
            blobs = self._blobs(path.stem)
            return ChatSession(
                id=header.id,
                name=header.name,
                messages=[
                    jsonl.to_message(jsonl_file.read_record(line, path), header.id, blobs)
                    for line in lines
                ],
                created_at=header.created_at,
                updated_at=datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
                metadata=header.metadata,
            )

        return await self._run("get_session", work)

    async def get_session_info(self, session_id: str) -> SessionInfo | None:
        """Load a session's header and message count."""
        path = self._path(self._stem(session_id))
        return await self._run("get_session_info", lambda: self._info(path))

    async def list_sessions(
        self, *, limit: int | None = None, offset: int = 0
    ) -> list[SessionInfo]:
        """List session headers, most recently written first."""

        def work() -> list[SessionInfo]:
            try:
                entries = [
                    (e.stat().st_mtime_ns, e.name)
                    for e in os.scandir(self.folder)
                    if e.name.endswith(_SUFFIX) and not e.name.startswith(".")
                ]
            except FileNotFoundError:
                return []
            entries.sort(key=lambda e: (-e[0], e[1]))
            stop = None if limit is None else offset + limit
            infos = []
            for _, name in entries[offset:stop]:
                try:
                    info = self._info(self.folder / name)
                except jsonl_file.CorruptFile as exc:
                    logger.warning("Skipping %s in the session list: %s", name, exc)
                    continue
                if info is not None:  # None: deleted since the folder was read
                    infos.append(info)
            return infos

        return await self._run("list_sessions", work)
