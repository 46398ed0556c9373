"""The JSON Lines session file format, and reading it safely.

A session file is one header line, then one line per message::

    {"llmcore_session": 1, "id": "tutor-1", "name": null, "created_at": "...", ...}
    {"id": "9f..", "role": "user", "content": "Hi", "timestamp": "..."}
    {"id": "a3..", "role": "assistant", "content": "Hello!", "timestamp": "...", "end": true}

An append writes all its messages at once and marks the last one ``"end":
true``. A crash can only cut the *last* append short, and then the file ends
inside a line that does not parse (a torn line). Only such a tail is
uncommitted: the torn line, and the complete lines of the same append before
it (those after the last ``end`` line). Every other record is kept, even
without an end marker after it (someone deleted the reply line by hand) or
without its newline (an editor stripped it). Complete lines that fail to
parse at the very end are dropped too; blank lines are ignored.

Page cursors (``before``) are byte offsets counted from the end of the
header, so they stay valid when a rename rewrites the header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from urllib.parse import quote

import msgspec

from llmcore.exceptions import InvalidRequestError
from llmcore.models import Message, Role
from llmcore.storage.sessions.parts_codec import decode_parts, split_parts

__all__ = [
    "FORMAT_VERSION",
    "Header",
    "Record",
    "Tail",
    "committed_end",
    "decode_header",
    "encode_messages",
    "file_stem",
    "lines_backward",
    "to_message",
]

#: 2: messages may carry ``parts`` (typed content; binary content in the
#: store's ``.blobs`` folder). Version 1 files are read as they are and
#: rewritten with a version 2 header before their first append.
FORMAT_VERSION = 2
_BLOCK = 64 * 1024
_MAX_STEM_BYTES = 150


class Header(msgspec.Struct, kw_only=True):
    """The first line of a session file."""

    llmcore_session: int
    id: str
    name: str | None = None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class Record(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One message line; ``end`` marks the last message of an append.

    ``parts`` is absent for a plain text message (``content`` is all of it).
    """

    id: str
    role: Role
    content: str
    timestamp: datetime
    tokens: int | None = None
    tokens_by: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    parts: list[Any] | None = None
    end: bool = False


class _Peek(msgspec.Struct):
    """The fields a scan needs; msgspec skips the rest of the line."""

    role: Role
    end: bool = False


_encoder = msgspec.json.Encoder()
_decode_header = msgspec.json.Decoder(Header).decode
decode_record = msgspec.json.Decoder(Record).decode
decode_peek = msgspec.json.Decoder(_Peek).decode


def file_stem(session_id: str) -> str:
    """The file name (without ``.jsonl``) of a session, inside the store's folder.

    Raises:
        InvalidRequestError: the id would name a path (``/``, ``\\``, ``..``).
    """
    if "/" in session_id or "\\" in session_id or session_id.strip(".") == "":
        raise InvalidRequestError(
            f"Invalid session id {session_id!r:.80} for the json session store: it names a "
            "file, so it cannot contain '/' or '\\' or be made of dots only. Use an id "
            "such as 'tutor-1'."
        )
    # Percent-encoding keeps every id a distinct, portable file name; '+' never
    # appears in quote() output, so hashed names cannot collide with plain ones.
    stem = quote(session_id, safe="")
    if stem.startswith("."):
        stem = "%2E" + stem[1:]
    if len(stem) > _MAX_STEM_BYTES:
        digest = hashlib.sha256(session_id.encode()).hexdigest()[:24]
        stem = f"{stem[:100]}+{digest}"
    return stem


def encode_header(header: Header) -> bytes:
    """The header line, newline included."""
    return _encoder.encode(header) + b"\n"


def decode_header(line: bytes) -> Header:
    """Parse a header line (raises ``msgspec.DecodeError`` when it is not one)."""
    return _decode_header(line)


def encode_record(record: Record) -> bytes:
    """One message line, newline included."""
    return _encoder.encode(record) + b"\n"


def encode_messages(messages: list[Message]) -> tuple[bytes, dict[str, bytes]]:
    """The lines of one append, the last marked ``end``, and the blobs its parts hold."""
    out = bytearray()
    blobs: dict[str, bytes] = {}
    last = len(messages) - 1
    for i, m in enumerate(messages):
        parts, found = split_parts(m)
        blobs.update(found)
        record = Record(
            id=m.id,
            role=m.role,
            content=m.content,
            timestamp=m.timestamp,
            tokens=m.tokens,
            tokens_by=m.tokens_by,
            metadata=m.metadata,
            parts=parts,
            end=i == last,
        )
        out += _encoder.encode(record)
        out += b"\n"
    return bytes(out), blobs


def to_message(record: Record, session_id: str, blobs: Mapping[str, bytes]) -> Message:
    """The :class:`Message` a stored record describes (``blobs``: its binary content)."""
    return Message(
        id=record.id,
        role=record.role,
        content=record.content,
        parts=decode_parts(
            record.parts, blobs, where=f"Message {record.id!r} of session {session_id!r}"
        ),
        session_id=session_id,
        timestamp=record.timestamp,
        tokens=record.tokens,
        tokens_by=record.tokens_by,
        metadata=record.metadata,
    )


def lines_backward(f: IO[bytes], start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset, line)`` for the lines in ``[start, end)``, newest first.

    Lines are yielded without their newline; the last one may lack it.
    ``start`` must be the start of a line. Reads blocks from the end, so the
    cost is the size of what the caller consumes.
    """
    if end <= start:
        return
    f.seek(end - 1)
    if f.read(1) == b"\n":
        end -= 1  # the newline ends the last line; it does not start an empty one
    buf = b""  # the bytes [pos, end) not yielded yet
    pos = end
    while True:
        idx = buf.rfind(b"\n")
        while idx >= 0:
            yield pos + idx + 1, buf[idx + 1 :]
            buf = buf[:idx]
            idx = buf.rfind(b"\n")
        if pos <= start:
            yield pos, buf
            return
        n = min(_BLOCK, pos - start)
        pos -= n
        f.seek(pos)
        buf = f.read(n) + buf


@dataclass(slots=True)
class Tail:
    """Where a file's committed records end, found by :func:`committed_end`.

    Attributes:
        end: the offset just after the committed records; what follows is
            a torn append or damaged lines, which the next append cuts off.
        newline: the committed part ends with a newline (else the next
            append writes one first).
        marked: the last committed record carries the end marker (True
            when there is no record). False after a hand edit removed the
            lines after it, or while a writer is between lines.
        last_offset: where the last committed record's line starts.
        last_append: the records of the last committed append, newest
            first (used to skip a repeated append).
    """

    end: int
    newline: bool
    marked: bool = True
    last_offset: int = 0
    last_append: list[Record] = field(default_factory=list)


def committed_end(f: IO[bytes], start: int, size: int) -> Tail:
    """Find where the committed records of the file end (see the module doc).

    Reads from the end, usually just the last append's lines.
    """
    torn = damaged = False
    newest = True  # the next non-blank line read is the file's last
    tail = Tail(end=start, newline=True, last_offset=start)
    found = False
    for offset, line in lines_backward(f, start, size):
        if not line.strip():
            continue
        try:
            record = decode_record(line)
        except msgspec.DecodeError:
            if found:
                break  # a damaged line before the last append: readers report it
            if newest and offset + len(line) == size:
                torn = True  # the file ends inside this line: an append cut short
            else:
                damaged = True
            newest = False
            continue
        newest = False
        if not found:
            if torn and not record.end:
                continue  # a complete line of the append the crash cut short
            found = True
            tail.end = min(offset + len(line) + 1, size)
            tail.marked, tail.last_offset = record.end, offset
            tail.last_append.append(record)
            continue
        if record.end:
            break  # the end of the append before
        tail.last_append.append(record)
    if not (torn or damaged):
        tail.end = size  # blank lines after the last record are left as they are
    if tail.end > 0:
        f.seek(tail.end - 1)
        tail.newline = f.read(1) == b"\n"
    return tail
