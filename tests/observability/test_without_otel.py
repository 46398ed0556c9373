"""Without a tracer provider, or without OpenTelemetry at all, nothing changes.

Each case runs in a fresh interpreter (this one has the SDK imported by the
other tests): turns plain, streamed, with a tool round and failing, then a
look at ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

SCRIPT = """
import json, sys
{prelude}
import anyio
from llmcore import LLMCore, ProviderError

def get_weather(city: str) -> str:
    \"\"\"The weather.\"\"\"
    return "sunny"

async def main() -> list[str]:
    overrides = {{
        "providers.openai.api_key": "sk-test",
        "providers.openai.base_url": {base_url!r},
        "providers.openai.max_retries": 0,
        "storage.session.path": {db!r},
    }}
    async with LLMCore(config_overrides=overrides, env_prefix=None) as llm:
        replies = [await llm.chat("hi", session_id="s")]
        chunks = await llm.chat("again", session_id="s", stream=True)
        replies.append("".join([c async for c in chunks]))
        replies.append(await llm.chat("weather?", session_id="s", tools=[get_weather]))
        try:
            await llm.chat("fails", session_id="s")
        except ProviderError as exc:
            replies.append(type(exc).__name__)
    return replies

replies = anyio.run(main)
loaded = sorted(
    m for m, module in sys.modules.items() if m.split(".")[0] == "opentelemetry" and module
)
print(json.dumps({{"replies": replies, "opentelemetry": loaded}}))
"""

#: Makes ``import opentelemetry`` fail, as when the ``otel`` extra is not installed.
NOT_INSTALLED = 'sys.modules["opentelemetry"] = None'


def run(prelude: str, server: FakeOpenAIServer, tmp_path: Path) -> dict[str, list[str]]:
    server.enqueue(
        Reply(text="hello"),
        Reply(chunks=["str", "eamed"]),
        Reply(
            tool_calls=[
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ]
        ),
        Reply(text="sunny it is"),
        Reply(status=500),
    )
    code = SCRIPT.format(prelude=prelude, base_url=server.base_url, db=str(tmp_path / "s.db"))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("prelude", ["", NOT_INSTALLED], ids=["installed", "not installed"])
def test_turns_import_nothing_of_opentelemetry_when_nothing_traces(
    openai_server: FakeOpenAIServer, tmp_path: Path, prelude: str
) -> None:
    result = run(prelude, openai_server, tmp_path)
    assert result["replies"] == ["hello", "streamed", "sunny it is", "ProviderError"]
    assert result["opentelemetry"] == []


def test_import_llmcore_loads_no_opentelemetry() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import llmcore; from llmcore import LLMCore"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "llmcore.api" in imported  # the import-time report is the one we think
    assert not [name for name in imported if name.startswith("opentelemetry")]
