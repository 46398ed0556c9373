"""The specification's four examples (SPEC.md section 6), run as written (issue 14, Tests).

``examples/`` beside this file holds them byte for byte. Each runs as a
subprocess with a clean environment: HOME in a temporary folder whose
``~/.config/llmcore/config.toml`` is the specification's own section-4.1
TOML (``spec_config.toml``), the fake servers named through environment
variables, and the working directory there. Nothing in an example is
edited: Examples 1 and 4 print what they should; Examples 2 and 3 stop at
their first un-awaited call with the one-line ``TypeError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _example_runner import example_env, run_example, stored
from fakes.ollama_server import FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer

HERE = Path(__file__).parent
EXAMPLES = HERE / "examples"


@pytest.fixture
def ollama_server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer() as server:
        # The model Example 1 names, as `ollama pull llama3` would provide it.
        server.models["llama3:latest"] = ("llama", 8192, "")
        yield server


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """HOME, with the specification's TOML as the user's config file."""
    config = tmp_path / ".config" / "llmcore"
    config.mkdir(parents=True)
    (config / "config.toml").write_bytes((HERE / "spec_config.toml").read_bytes())
    return tmp_path


@pytest.fixture
def env(
    home: Path,
    openai_server: FakeOpenAIServer,
    ollama_server: FakeOllamaServer,
    minilm_dir: Path,
) -> dict[str, str]:
    return example_env(
        home,
        openai_server.base_url,
        # The spec's file writes api_key = "": the SDK's own variable is what counts.
        OPENAI_API_KEY="sk-spec",
        LLMCORE_PROVIDERS_OLLAMA_BASE_URL=f"{ollama_server.url}/api",
        # The spec's all-MiniLM-L6-v2, from a local folder (no download).
        LLMCORE_EMBEDDING_FASTEMBED_MODEL_PATH=str(minilm_dir),
    )


def run(example: str, env: dict[str, str], cwd: Path) -> str:
    """Run ``examples/<example>`` as written; return what it printed."""
    return run_example(EXAMPLES / example, env, cwd).stdout


def test_example_1_simple_chat(
    env: dict[str, str],
    home: Path,
    openai_server: FakeOpenAIServer,
    ollama_server: FakeOllamaServer,
) -> None:
    out = run("example1_simple_chat.py", env, home)
    assert out.splitlines()[0] == "LLM Response: echo: What is the capital of France?"
    assert "\nOllama Response:\n" in out and "An error occurred" not in out
    (chat,) = openai_server.chat_bodies()
    assert chat["model"] == "gpt-4-turbo"  # the spec's default_model, from the user's file
    assert openai_server.requests[0].headers["authorization"] == "Bearer sk-spec"
    (sent,) = ollama_server.chat_bodies()
    assert sent["model"] == "llama3" and sent["options"]["temperature"] == 0.5
    reply = out.split("Ollama Response:\n", 1)[1].strip()
    assert reply and "recursion" in reply


def test_example_2_session_history_stops_at_the_unawaited_list_sessions(
    env: dict[str, str], home: Path, openai_server: FakeOpenAIServer
) -> None:
    # Its own config file and prefix, as the example says.
    (home / "my_app_config.toml").write_text('[providers.openai]\ndefault_model = "gpt-4o"\n')
    # env_prefix="MYAPP": LLMCORE_ variables are not read, MYAPP_ ones are.
    env = {**env, "MYAPP_PROVIDERS_OPENAI_BASE_URL": openai_server.base_url}
    out = run("example2_session_history.py", env, home)
    lines = out.splitlines()
    assert lines[0].startswith("Starting session: user_conversation_")
    session_id = lines[0].split(": ", 1)[1]
    assert lines[1] == "Tutor: echo: My name is Alex. What is quantum computing?"
    assert lines[2] == "Tutor: echo: How does it relate to my name?"
    # print() writes its first argument before it turns the second into a string.
    assert lines[3:] == [
        "",
        "Available Sessions: An error occurred: llm.list_sessions() was not awaited: its result "
        "was used as a string (print, str(), f-string). It is an async method: write "
        "`await llm.list_sessions()` inside an async function.",
    ]
    first, second = openai_server.chat_bodies()
    assert first["model"] == second["model"] == "gpt-4o"
    # The second turn carried the first: the session's history.
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert stored(home, session_id)[0] == ("system", "You are a helpful physics tutor.")


def test_example_3_streaming_stops_at_the_unawaited_get_session(
    env: dict[str, str], home: Path, openai_server: FakeOpenAIServer
) -> None:
    out = run("example3_streaming.py", env, home)
    assert out.startswith(
        "User: Tell me a short story about a brave knight.\n"
        "Assistant (streaming): echo: Tell me a short story about a brave knight.\n"
        "--- Stream finished ---\n"
    )
    assert out.rstrip().endswith(
        "An error occurred: llm.get_session(session_id) was not awaited: its result was used "
        "as a truth value (if, while, and, or, not). It is an async method: write "
        "`await llm.get_session(session_id)` inside an async function."
    )
    assert "saved with" not in out
    (chat,) = openai_server.chat_bodies()
    assert chat["stream"] is True
    # The stream was saved once it was read to its end.
    assert stored(home, "streaming_test_session") == [
        ("user", "Tell me a short story about a brave knight."),
        ("assistant", "echo: Tell me a short story about a brave knight."),
    ]


def test_example_4_rag(env: dict[str, str], home: Path, openai_server: FakeOpenAIServer) -> None:
    out = run("example4_rag.py", env, home)
    lines = out.splitlines()
    assert lines[0] == "Adding 3 documents to collection 'my_documents'..."
    assert lines[1] == "Added document IDs: ['doc1', 'doc2', 'doc3']"
    assert lines[3] == "Direct search results for 'What language is used for LLMCore?':"
    assert lines[4].startswith("- ID: doc3, Score: 0.")
    assert lines[4].endswith(", Content: The primary programming language used in LLMCore i...")
    assert lines[6] == "--- Chatting with RAG enabled ---"
    question = "What programming language is mentioned in the documents?"
    assert lines[7] == f"RAG Response: echo: {question}"
    assert "An error occurred" not in out
    (chat,) = openai_server.chat_bodies()
    sent = json.dumps(chat["messages"])
    assert "The primary programming language used in LLMCore is Python." in sent
    assert "Answer based *only* on the provided context documents." in sent
