"""Start the real ``llmchat mcp serve`` as a subprocess, for the MCP server tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

LLMCHAT = str(Path(sys.executable).with_name("llmchat"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(home: Path, openai_base_url: str, **settings: str) -> dict[str, str]:
    """The environment of a served llmcore: the fake OpenAI server, sessions in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMCORE_", "OPENAI_"))}
    env.update(
        HOME=str(home),
        LLMCORE_PROVIDERS_OPENAI_API_KEY="sk-serve",
        LLMCORE_PROVIDERS_OPENAI_BASE_URL=openai_base_url,
        LLMCORE_PROVIDERS_OPENAI_MAX_RETRIES="0",
        LLMCORE_STORAGE_SESSION_PATH=str(home / "sessions.db"),
    )
    env.update(settings)
    return env


@dataclass
class Served:
    url: str
    port: int
    _log: IO[str]

    def log(self) -> str:
        """What the server wrote on stderr so far."""
        self._log.seek(0)
        return self._log.read()


@contextmanager
def http_server(args: list[str], env: dict[str, str], port: int) -> Iterator[Served]:
    """Run ``llmchat mcp serve --transport http --port PORT ARGS`` until the block ends."""
    # The log is a file, not a pipe: a full pipe would block the server.
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [LLMCHAT, "mcp", "serve", "--transport", "http", "--port", str(port), *args],
            env=env,
            stderr=log,
        )
        try:
            _wait_for(port, process, log)
            yield Served(f"http://127.0.0.1:{port}/mcp", port, log)
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_for(port: int, process: subprocess.Popen[bytes], log: IO[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"llmchat mcp serve exited: {log.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def listening_addresses(port: int) -> set[str]:
    """The local IPv4 addresses listening on ``port`` (from /proc/net/tcp, Linux)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":  # LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found
