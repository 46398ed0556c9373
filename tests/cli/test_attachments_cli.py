"""llmchat with attachments: chat -a, /attach, sessions show and export (real CLI, real SQLite)."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from _llmchat import llmchat_env, run_llmchat
from click.testing import Result
from fakes.openai_server import FakeOpenAIServer

Invoke = Callable[..., Result]


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of this size (zlib only, no imaging library)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def sent_parts(server: FakeOpenAIServer) -> list[dict[str, object]]:
    content = server.last_request.json["messages"][-1]["content"]
    assert isinstance(content, list)
    return content


def test_chat_attach_sends_the_file_and_the_session_shows_it(
    invoke: Invoke, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    image = png(40, 30)
    (tmp_path / "photo.png").write_bytes(image)
    result = invoke("chat", "-s", "pics", "-a", "photo.png", "--no-stream", "What is this?")
    assert result.exit_code == 0, result.output
    text, picture = sent_parts(openai_server)
    assert text == {"type": "text", "text": "What is this?"}
    url = base64.b64encode(image).decode()
    assert picture == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{url}"}}

    shown = invoke("sessions", "show", "pics")
    assert f"[image photo.png {round(len(image) / 1000) or 1} KB]" in shown.output

    out = tmp_path / "export" / "pics.md"
    out.parent.mkdir()
    assert (
        invoke("sessions", "export", "pics", "-f", "markdown", "--output", str(out)).exit_code == 0
    )
    markdown = out.read_text()
    [written] = (tmp_path / "export" / "pics_files").iterdir()
    assert written.read_bytes() == image
    assert f"![photo.png](pics_files/{written.name})" in markdown

    data = json.loads(invoke("sessions", "export", "pics").output)
    user = data["messages"][0]
    assert user["parts"][1]["url"] == f"data:image/png;base64,{url}"
    assert "data" not in user["parts"][1]


def test_a_bad_attachment_is_one_error_line_and_nothing_is_sent(
    openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    env = llmchat_env(tmp_path, openai_server)
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01\x02binary")
    result = run_llmchat(["chat", "-s", "bad", "-a", "notes.bin", "Summarise"], env, tmp_path)
    assert result.returncode == 1
    assert "Cannot attach notes.bin" in result.stderr and "Traceback" not in result.stderr
    missing = run_llmchat(["chat", "-a", "nope.png", "Hi"], env, tmp_path)
    assert missing.returncode == 1 and "nope.png" in missing.stderr
    assert openai_server.requests == []
    listed = run_llmchat(["sessions", "list", "--json"], env, tmp_path)
    assert json.loads(listed.stdout) == []


def test_reasoning_option_reaches_the_provider(
    invoke: Invoke, openai_server: FakeOpenAIServer
) -> None:
    assert invoke("chat", "-m", "o4-mini", "--reasoning", "high", "Think").exit_code == 0
    assert openai_server.last_request.json["reasoning_effort"] == "high"


async def test_attach_in_the_repl_is_for_the_next_message(
    make_llm: Callable[..., object], tmp_path: Path
) -> None:
    from llmcore.cli.slash import ReplState, handle

    (tmp_path / "a.png").write_bytes(png(8, 8))
    async with make_llm() as llm:  # type: ignore[attr-defined]
        state = ReplState(provider="openai", model="gpt-4o-mini", session_id="s")
        result = await handle(llm, state, f"/attach {tmp_path / 'a.png'}")
        assert not result.error and "a.png" in result.output
        assert state.chat_kwargs()["attachments"] == [str(tmp_path / "a.png")]
        bad = await handle(llm, state, f"/attach {tmp_path / 'missing.png'}")
        assert bad.error and "missing.png" in bad.output
        assert (await handle(llm, state, "/attach off")).output.startswith("No attachments")
        assert state.attachments == []
