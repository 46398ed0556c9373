"""Blocking operations on one JSON Lines session file; the store does the locking.

:mod:`llmcore.storage.sessions.json` calls these from worker threads,
holding the session's locks for every write: reading the header, appending
a batch after the committed records, rewriting a file atomically, and
counting messages without reading a file again (:class:`ScanIndex`).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

import msgspec

from llmcore.models import Message, Role
from llmcore.storage.sessions import jsonl

__all__ = [
    "BlobFolder",
    "CorruptFile",
    "ScanIndex",
    "append",
    "copy",
    "fsync_dir",
    "mark_end",
    "read_header",
    "read_record",
    "rewrite",
    "rewrite_with",
]

logger = logging.getLogger("llmcore.storage")


class CorruptFile(Exception):
    """A file in the folder is not a readable llmcore session file."""


def read_header(f: IO[bytes], path: Path) -> tuple[jsonl.Header, int]:
    """The header of an open file, and where the messages start."""
    f.seek(0)
    line = f.readline()  # a header alone may lack its newline (an editor stripped it)
    try:
        header = jsonl.decode_header(line)
    except msgspec.DecodeError as exc:
        raise CorruptFile(f"{path} has no valid session header ({exc})") from None
    if header.llmcore_session > jsonl.FORMAT_VERSION:
        raise CorruptFile(
            f"{path} was written by a newer llmcore (session file format "
            f"{header.llmcore_session}; this one reads up to {jsonl.FORMAT_VERSION}); upgrade "
            "llmcore to read it"
        )
    return header, len(line)


def read_record(line: bytes, path: Path) -> jsonl.Record:
    """A committed message line (a damaged one raises :class:`CorruptFile`)."""
    try:
        return jsonl.decode_record(line)
    except msgspec.DecodeError as exc:
        raise CorruptFile(f"{path} has a damaged message line ({exc})") from None


def append(
    f: IO[bytes],
    path: Path,
    tail: jsonl.Tail,
    size: int,
    batch: list[Message],
    blobs: BlobFolder,
) -> None:
    """Write the messages of ``batch`` not in the last append after ``tail``, and fsync.

    Their binary content goes to ``blobs`` first, so a line never refers to
    bytes a crash kept from the disk.
    """
    if tail.end < size:
        logger.warning(
            "%s: dropping the %d bytes after its last complete append (an append cut short "
            "by a crash, or damaged lines)",
            path,
            size - tail.end,
        )
        f.truncate(tail.end)
    new = _new_messages(tail, batch)
    if not new:
        return
    data, found = jsonl.encode_messages(new)
    blobs.write(found)
    if not tail.newline:
        data = b"\n" + data  # the last line lost its newline (an editor stripped it)
    f.seek(tail.end)
    try:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    except BaseException:
        f.truncate(tail.end)
        raise


def _new_messages(tail: jsonl.Tail, batch: list[Message]) -> list[Message]:
    """The messages of ``batch`` not in the last append (a retried append adds nothing)."""
    seen = {r.id for r in tail.last_append}
    new = []
    for m in batch:
        if m.id not in seen:
            seen.add(m.id)
            new.append(m)
    return new


def rewrite_with(
    path: Path,
    f: IO[bytes],
    header: jsonl.Header,
    start: int,
    tail: jsonl.Tail,
    batch: list[Message],
    blobs: BlobFolder,
) -> None:
    """Rewrite the file with ``header`` and ``batch`` appended, in one atomic rename.

    How a header change (merged metadata, the current format version) and
    the turn's messages reach the disk together.
    """
    new = _new_messages(tail, batch)
    data, found = jsonl.encode_messages(new) if new else (b"", {})
    blobs.write(found)

    def body(out: IO[bytes]) -> None:
        copy(f, out, start, tail.end)
        if tail.end > start and not tail.newline:
            out.write(b"\n")
        out.write(data)

    rewrite(path, header, body)


def mark_end(path: Path, f: IO[bytes], header: jsonl.Header, start: int, tail: jsonl.Tail) -> None:
    """Rewrite the file with an end marker on its last record (``tail`` is not marked).

    The records after the last end marker, when no torn line follows them,
    are committed: marked, they stay so even if the next append is cut short.
    """
    logger.info("%s: its last message had no end marker (edited by hand?); adding one", path)
    record = tail.last_append[0]
    record.end = True

    def body(out: IO[bytes]) -> None:
        copy(f, out, start, tail.last_offset)
        out.write(jsonl.encode_record(record))

    rewrite(path, header, body)


def rewrite(path: Path, header: jsonl.Header, body: Callable[[IO[bytes]], None]) -> None:
    """Write a whole file beside ``path``, fsync it, and rename it into place."""
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("wb") as out:
            out.write(jsonl.encode_header(header))
            body(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def copy(src: IO[bytes], dst: IO[bytes], start: int, end: int) -> None:
    """Copy the bytes ``[start, end)`` of ``src`` to ``dst``."""
    src.seek(start)
    remaining = end - start
    while remaining > 0:
        chunk = src.read(min(remaining, 1 << 20))
        if not chunk:
            break
        dst.write(chunk)
        remaining -= len(chunk)


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(slots=True)
class _Scanned:
    """What a forward scan learnt about a file, so the next scan resumes there."""

    key: tuple[int, datetime, int]  # inode, created_at, header length
    scanned_to: int
    count: int = 0
    system: list[jsonl.Record] = field(default_factory=list)


class ScanIndex:
    """Message counts and system messages of the files read last, kept up to date.

    A scan reads only what was appended since the one before. Only whole
    appends (through an end marker) are remembered; records after the last
    one (a hand edit, an append being written) are read again each time.
    """

    def __init__(self, size: int = 512):
        self.size = size
        self._files: OrderedDict[Path, _Scanned] = OrderedDict()
        self._lock = threading.Lock()

    def forget(self, path: Path) -> None:
        """Drop what is known of ``path`` (it was deleted)."""
        with self._lock:
            self._files.pop(path, None)

    def scan(
        self,
        path: Path,
        f: IO[bytes],
        header: jsonl.Header,
        start: int,
        committed: Callable[[Path, IO[bytes], int], jsonl.Tail],
    ) -> tuple[int, list[jsonl.Record]]:
        """Count the messages and collect the system messages of an open file.

        ``committed`` says where the committed records end, asked only when
        the file does not end with a whole append.
        """
        st = os.fstat(f.fileno())
        key = (st.st_ino, header.created_at, start)
        with self._lock:
            known = self._files.get(path)
            if known is not None and known.key == key and known.scanned_to <= st.st_size:
                index = _Scanned(key, known.scanned_to, known.count, list(known.system))
            else:  # a new file, or one cut shorter by hand: start again
                index = _Scanned(key, start)
        f.seek(index.scanned_to)
        pos, pending, pending_system, settled = index.scanned_to, 0, [], True
        for line in f:
            if not line.endswith(b"\n"):
                settled = False
                break
            pos += len(line)
            if not line.strip():
                if not pending:
                    index.scanned_to = pos
                continue
            try:
                peek = jsonl.decode_peek(line)
                if peek.role is Role.SYSTEM:
                    pending_system.append(jsonl.decode_record(line))
            except msgspec.DecodeError:
                settled = False
                break
            pending += 1
            if peek.end:
                index.count += pending
                index.system += pending_system
                index.scanned_to, pending, pending_system = pos, 0, []
        with self._lock:
            self._files[path] = index
            self._files.move_to_end(path)
            while len(self._files) > self.size:
                self._files.popitem(last=False)
        count, system = index.count, list(index.system)
        if settled and not pending:
            return count, system
        end = committed(path, f, start).end
        f.seek(index.scanned_to)
        for line in f.read(max(0, end - index.scanned_to)).splitlines():
            if line.strip():
                record = read_record(line, path)
                count += 1
                if record.role is Role.SYSTEM:
                    system.append(record)
        return count, system


class BlobFolder(Mapping[str, bytes]):
    """One session's binary content: a file per SHA-256, in ``.blobs/<stem>/``.

    Files are written once (temporary file, fsync, rename) and read on
    demand, so a page of messages reads only the blobs it shows.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def __getitem__(self, sha: str) -> bytes:
        try:
            return (self.folder / sha).read_bytes()
        except FileNotFoundError:
            raise KeyError(sha) from None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(p.name for p in self.folder.glob("*") if len(p.name) == 64))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def write(self, blobs: Mapping[str, bytes]) -> None:
        """Store each blob not stored yet, durably."""
        if not blobs:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for sha, data in blobs.items():
            target = self.folder / sha
            if target.exists():
                continue
            tmp = self.folder / f".{sha}.{uuid.uuid4().hex[:8]}.tmp"
            try:
                with tmp.open("wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        fsync_dir(self.folder)

    def remove(self) -> None:
        """Delete the session's blobs (when the session is deleted)."""
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)
