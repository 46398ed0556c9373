"""Several processes writing one session, and a process killed mid-append."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from llmcore import Message, Role
from llmcore.storage.sessions.base import BaseSessionStorage
from llmcore.storage.sessions.json import JsonSessionStorage

WORKER = str(Path(__file__).with_name("append_worker.py"))


def spawn(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_4_processes_x_50_turns_on_one_session(
    backend: str, location: str, make_store: Callable[[], BaseSessionStorage]
) -> None:
    workers = [spawn(backend, location, "shared", f"w{n}", 50) for n in range(4)]
    for w in workers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        assert out.count("done") == 50

    async def check() -> None:
        store = make_store()
        session = await store.get_session("shared")
        info = await store.get_session_info("shared")
        await store.close()
        assert session is not None and info is not None
        texts = [m.content for m in session.messages]
        assert len(texts) == info.message_count == 400
        expected = {f"w{n}:{i}:{k}" for n in range(4) for i in range(50) for k in "qa"}
        assert set(texts) == expected
        # Every turn's two messages are adjacent, and each worker's turns keep their order.
        assert [t[:-1] for t in texts[::2]] == [t[:-1] for t in texts[1::2]]
        for n in range(4):
            mine = [int(t.split(":")[1]) for t in texts[::2] if t.startswith(f"w{n}:")]
            assert mine == list(range(50))

    anyio.run(check)


@pytest.mark.slow
def test_a_process_killed_during_json_appends_leaves_every_completed_turn(
    tmp_path: Path,
) -> None:
    folder = str(tmp_path / "sessions")
    # Big messages make each append a long write, so the kill often lands inside one.
    worker = spawn("json", folder, "s", "w", 100_000, 200_000)
    assert worker.stdout is not None
    completed = -1
    deadline = time.monotonic() + 60
    while completed < 20 and time.monotonic() < deadline:
        line = worker.stdout.readline()
        if line.startswith("done"):
            completed = int(line.split()[1])
    time.sleep(0.013)  # somewhere inside a later append
    os.kill(worker.pid, signal.SIGKILL)
    rest, _ = worker.communicate(timeout=30)
    completed = max([completed] + [int(x.split()[1]) for x in rest.splitlines() if x])
    assert completed >= 20

    async def check() -> None:
        store = JsonSessionStorage(folder)
        session = await store.get_session("s")
        assert session is not None
        texts = [m.content[: m.content.index("x")] for m in session.messages]
        turns = len(texts) // 2
        assert len(texts) % 2 == 0
        assert texts == [f"w:{i}:{k}" for i in range(turns) for k in "qa"]
        assert turns >= completed + 1  # every turn reported done is there
        # The next append repairs whatever the kill left and lands after it.
        await store.append_messages("s", [Message(role=Role.USER, content="after")])
        page = await store.read_recent("s", limit=1)
        assert [m.content for m in page.messages] == ["after"]
        info = await store.get_session_info("s")
        assert info is not None and info.message_count == len(texts) + 1

    anyio.run(check)
