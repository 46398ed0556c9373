"""The JSON Lines session file format, and reading it safely.

A session file is one header line, then one line per message::

    {"llmcore_session": 1, "id": "tutor-1", "name": null, "created_at": "...", ...}
    {"id": "9f..", "role": "user", "content": "Hi", "timestamp": "..."}
    {"id": "a3..", "role": "assistant", "content": "Hello!", "timestamp": "...", "end": true}

An append writes all its messages at once and marks the last one ``"end":
true``. A crash can only cut the *last* append short, so a reader ignores
whatever follows the last ``end`` line: a half-written turn is never seen,
and the turns before it are intact. Writers cut such a tail off before they
append (under the session's lock).

Page cursors (``before``) are byte offsets counted from the end of the
header, so they stay valid when a rename rewrites the header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any
from urllib.parse import quote

import msgspec

from llmcore.exceptions import InvalidRequestError
from llmcore.models import Message, Role

__all__ = [
    "FORMAT_VERSION",
    "Header",
    "Record",
    "committed_end",
    "decode_header",
    "encode_messages",
    "file_stem",
    "lines_backward",
    "to_message",
]

FORMAT_VERSION = 1
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
    """One message line; ``end`` marks the last message of an append."""

    id: str
    role: Role
    content: str
    timestamp: datetime
    tokens: int | None = None
    tokens_by: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
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


def encode_messages(messages: list[Message]) -> bytes:
    """The lines of one append, the last marked ``end``."""
    out = bytearray()
    last = len(messages) - 1
    for i, m in enumerate(messages):
        record = Record(
            id=m.id,
            role=m.role,
            content=m.content,
            timestamp=m.timestamp,
            tokens=m.tokens,
            tokens_by=m.tokens_by,
            metadata=m.metadata,
            end=i == last,
        )
        out += _encoder.encode(record)
        out += b"\n"
    return bytes(out)


def to_message(record: Record, session_id: str) -> Message:
    """The :class:`Message` a stored record describes."""
    return Message(
        id=record.id,
        role=record.role,
        content=record.content,
        session_id=session_id,
        timestamp=record.timestamp,
        tokens=record.tokens,
        tokens_by=record.tokens_by,
        metadata=record.metadata,
    )


def lines_backward(f: IO[bytes], start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset, line)`` for the lines in ``[start, end)``, newest first.

    ``end`` must be just after a newline (or equal ``start``). Reads blocks
    from the end, so the cost is the size of what the caller consumes.
    """
    buf = b""
    pos = end
    while True:
        while buf:
            idx = buf.rfind(b"\n", 0, len(buf) - 1)
            if idx < 0:
                if pos > start:
                    break  # the first line may begin before pos: read more
                yield pos, buf[:-1]
                buf = b""
                break
            yield pos + idx + 1, buf[idx + 1 : -1]
            buf = buf[: idx + 1]
        if pos <= start:
            return
        n = min(_BLOCK, pos - start)
        pos -= n
        f.seek(pos)
        buf = f.read(n) + buf


def committed_end(f: IO[bytes], start: int, size: int) -> tuple[int, list[Record]]:
    """Find where the last complete append ends.

    Returns that offset and the records of the newest complete lines read
    to find it (newest first; often the last append, used to skip a repeated
    append). Anything after the offset is a torn or unfinished append.
    """
    end = size
    if size > start:
        f.seek(size - 1)
        if f.read(1) != b"\n":
            end = _after_last_newline(f, start, size)
    found: int | None = None
    last_append: list[Record] = []
    for offset, line in lines_backward(f, start, end):
        try:
            record = decode_record(line)
        except msgspec.DecodeError:
            if found is None:
                continue  # a torn line of the unfinished tail
            break
        if found is None:
            if record.end:  # lines after the last end marker are unfinished
                found = offset + len(line) + 1
                last_append.append(record)
            continue
        if record.end:
            break  # the end of the append before
        last_append.append(record)
    return (start if found is None else found), last_append


def _after_last_newline(f: IO[bytes], start: int, size: int) -> int:
    pos = size
    while pos > start:
        n = min(_BLOCK, pos - start)
        pos -= n
        f.seek(pos)
        idx = f.read(n).rfind(b"\n")
        if idx >= 0:
            return pos + idx + 1
    return start
