"""Each example in examples/ runs as written, against the fake servers, by configuration alone.

The examples are started as subprocesses with a clean environment: no
``LLMCORE_*``/``OPENAI_*`` variables but the ones pointing the OpenAI
provider at the fake server, ``HOME`` in a temporary folder (so sessions go
to ``~/.llmcore`` there) and the working directory there too (no ``.env``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from _example_runner import example_env, run_example, stored
from fakes.openai_server import FakeOpenAIServer, Reply
from minilm_fixture import MODEL_ID

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def env(tmp_path: Path, openai_server: FakeOpenAIServer) -> dict[str, str]:
    """A clean environment: the fake server as the OpenAI provider, HOME in tmp."""
    return example_env(
        tmp_path, openai_server.base_url, LLMCORE_PROVIDERS_OPENAI_API_KEY="sk-example"
    )


def run(script: str, env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run ``examples/<script>`` and return its stdout; fail with its stderr."""
    return run_example(EXAMPLES / script, env, cwd, *args).stdout


def test_simple_chat(env: dict[str, str], tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    out = run("simple_chat.py", env, tmp_path)
    assert "LLM Response: echo: What is the capital of France?" in out
    first, second = openai_server.chat_bodies()
    assert first["model"] == "gpt-4o-mini"
    assert (second["temperature"], second["max_tokens"]) == (0.5, 300)
    assert not (tmp_path / ".llmcore").exists()  # one-off questions: nothing stored


def test_simple_chat_with_a_provider_and_model(
    env: dict[str, str], tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    run("simple_chat.py", env, tmp_path, "openai", "gpt-4o")
    assert [c["model"] for c in openai_server.chat_bodies()] == ["gpt-4o", "gpt-4o"]


def test_simple_chat_reports_a_missing_key_clearly(env: dict[str, str], tmp_path: Path) -> None:
    del env["LLMCORE_PROVIDERS_OPENAI_API_KEY"]
    del env["LLMCORE_PROVIDERS_OPENAI_BASE_URL"]
    done = run_example(EXAMPLES / "simple_chat.py", env, tmp_path, returncode=1, timeout=60)
    assert "OPENAI_API_KEY" in done.stderr and "Traceback" not in done.stderr


def test_session_chat_with_a_config_file(
    env: dict[str, str], tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    config = tmp_path / "my_app_config.toml"
    config.write_text(
        f'[providers.openai]\napi_key = "sk-file"\nbase_url = "{openai_server.base_url}"\n'
        f'[storage.session]\npath = "{tmp_path / "app.db"}"\n'
    )
    for key in ("API_KEY", "BASE_URL"):
        del env[f"LLMCORE_PROVIDERS_OPENAI_{key}"]
    out = run("session_chat.py", env, tmp_path, str(config))
    assert "Tutor: echo: How does it relate to my name?" in out
    _, second = openai_server.chat_bodies()
    assert [m["role"] for m in second["messages"]] == [
        "system", "user", "assistant", "user"
    ]  # fmt: skip
    assert second["messages"][1]["content"] == "My name is Alex. What is quantum computing?"
    assert "messages" in out and "[system] You are a helpful physics tutor." in out
    assert (tmp_path / "app.db").exists()
    assert not (tmp_path / ".llmcore").exists()  # the file's storage path, not the default


def test_streaming_chat(
    env: dict[str, str], tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.enqueue(Reply(chunks=["Once upon ", "a time, ", "a knight."]))
    out = run("streaming_chat.py", env, tmp_path)
    assert "Assistant (streaming): Once upon a time, a knight.\n--- Stream finished ---" in out
    assert "saved with 2 messages" in out
    assert openai_server.chat_bodies()[0]["stream"] is True
    assert stored(tmp_path, "streaming_test_session")[-1] == (
        "assistant",
        "Once upon a time, a knight.",
    )


def test_rag_example(
    env: dict[str, str], tmp_path: Path, openai_server: FakeOpenAIServer, minilm_dir: Path
) -> None:
    env |= {
        "LLMCORE_LLMCORE_DEFAULT_EMBEDDING_MODEL": MODEL_ID,
        "LLMCORE_EMBEDDING_FASTEMBED_MODEL_PATH": str(minilm_dir),
        "LLMCORE_EMBEDDING_FASTEMBED_THREADS": "1",
    }
    out = run("rag_example.py", env, tmp_path)
    assert "Added document IDs: ['doc1', 'doc2', 'doc3']" in out
    assert "- ID: doc3, Score: " in out  # the real model finds the Python document
    (request,) = openai_server.chat_bodies()
    system = "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")
    assert "The primary programming language used in LLMCore is Python." in system
    assert "Eiffel" not in system  # k=1
    assert (tmp_path / ".llmcore" / "chroma_db").is_dir()
    # Run again: the same ids replace the documents instead of adding copies.
    run("rag_example.py", env, tmp_path)


def test_custom_stage_pipeline(
    env: dict[str, str], tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    out = run("custom_stage_pipeline.py", env, tmp_path)
    (request,) = openai_server.chat_bodies()
    sent = request["messages"][-1]["content"]
    assert sent == "Please write to [e-mail] that the release is ready."
    assert "Reply words: 10" in out  # "echo: Please write to [e-mail] that the release is ready."
    assert "redact_emails" in out and "masked 1 e-mail address(es)" in out
    assert "embed_query" not in out and "reply_stats" in out
    assert re.search(r"Reply took \d+ ms", out)  # the wrapping stage's after-part ran
    # The session keeps what the user wrote; only the model saw the mask.
    assert stored(tmp_path, "guarded-demo")[0] == (
        "user",
        "Please write to ada@example.com that the release is ready.",
    )


def test_mcp_tools(env: dict[str, str], tmp_path: Path, openai_server: FakeOpenAIServer) -> None:
    def call(call_id: str, item: str) -> dict[str, Any]:
        arguments = json.dumps({"item": item})
        return {
            "id": call_id,
            "type": "function",
            "function": {"name": "inventory__stock_level", "arguments": arguments},
        }

    openai_server.enqueue(
        Reply(tool_calls=[call("c1", "apples"), call("c2", "pears")]),
        Reply(text="12 apples and no pears."),
    )
    out = run("mcp_tools.py", env, tmp_path)
    assert "tool result: 12" in out and "tool result: 0" in out
    assert "Reply: 12 apples and no pears." in out
    first, second, third = openai_server.chat_bodies()
    assert [t["function"]["name"] for t in first["tools"]] == ["inventory__stock_level"]
    results = {m["tool_call_id"]: m["content"] for m in second["messages"] if m["role"] == "tool"}
    assert results == {"c1": "12", "c2": "0"}
    assert any("apples, pears, plums" in m["content"] for m in third["messages"])


def test_openai_compatible_server(
    env: dict[str, str], tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    del env["LLMCORE_PROVIDERS_OPENAI_API_KEY"]
    del env["LLMCORE_PROVIDERS_OPENAI_BASE_URL"]
    env["LLMCORE_PROVIDERS_MYSERVER_BASE_URL"] = openai_server.base_url
    out = run("openai_compatible_server.py", env, tmp_path)
    assert f"Provider 'myserver' at {openai_server.base_url}" in out
    assert "echo: Say hello in three languages." in out
    (request,) = openai_server.chat_bodies()
    assert request["model"] == "Qwen/Qwen2.5-7B-Instruct" and request["stream"] is True
    chat = next(r for r in openai_server.requests if r.path.endswith("/chat/completions"))
    assert chat.headers.get("authorization", chat.headers.get("Authorization")) == (
        "Bearer not-needed"
    )
