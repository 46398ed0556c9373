"""A separate process appending turns to one session (used by the process tests).

Usage: ``python append_worker.py BACKEND LOCATION SESSION WORKER TURNS [PAD]``.
Prints ``done <i>`` (flushed) after each append returns, so a test that kills
this process knows which turns were complete.
"""

from __future__ import annotations

import sys

import anyio

from llmcore.models import Message, Role
from llmcore.storage.sessions import BaseSessionStorage
from llmcore.storage.sessions.json import JsonSessionStorage
from llmcore.storage.sessions.postgres import PostgresSessionStorage
from llmcore.storage.sessions.sqlite import SqliteSessionStorage


def open_store(backend: str, location: str) -> BaseSessionStorage:
    if backend == "json":
        return JsonSessionStorage(location)
    if backend == "sqlite":
        return SqliteSessionStorage(location, busy_timeout=60)
    return PostgresSessionStorage(location, pool_size=2, timeout=60)


async def main(backend: str, location: str, sid: str, worker: str, turns: int, pad: int) -> None:
    store = open_store(backend, location)
    await store.initialize()
    filler = "x" * pad
    for i in range(turns):
        await store.append_messages(
            sid,
            [
                Message(role=Role.USER, content=f"{worker}:{i}:q{filler}"),
                Message(role=Role.ASSISTANT, content=f"{worker}:{i}:a{filler}"),
            ],
        )
        print(f"done {i}", flush=True)
    await store.close()


if __name__ == "__main__":
    backend, location, sid, worker, turns = sys.argv[1:6]
    pad = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    anyio.run(main, backend, location, sid, worker, int(turns), pad)
