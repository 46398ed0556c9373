"""llmchat sessions: list, show, rename, delete, export (in-process, real SQLite)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from fakes.openai_server import FakeOpenAIServer

Invoke = Callable[..., Result]


def _two_sessions(invoke: Invoke) -> None:
    assert invoke("chat", "-s", "alpha", "--system", "Be brief.", "Hi **there**").exit_code == 0
    assert invoke("chat", "-s", "beta", "Second").exit_code == 0


def test_list_table_and_json(invoke: Invoke, openai_server: FakeOpenAIServer) -> None:
    empty = invoke("sessions", "list")
    assert empty.exit_code == 0
    assert "No sessions yet" in empty.output
    _two_sessions(invoke)
    table = invoke("sessions", "list")
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[0].split() == ["ID", "Name", "Messages", "Updated"]
    assert lines[1].split()[:2] == ["beta", "2"]  # most recent first
    assert lines[2].split()[:2] == ["alpha", "3"]
    data = json.loads(invoke("sessions", "list", "--json").output)
    assert [(s["id"], s["message_count"]) for s in data] == [("beta", 2), ("alpha", 3)]
    assert json.loads(invoke("sessions", "list", "--json", "-n", "1").output)[0]["id"] == "beta"


def test_show_rename_export_delete(
    invoke: Invoke, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    _two_sessions(invoke)
    shown = invoke("sessions", "show", "alpha")
    assert shown.exit_code == 0
    assert "system" in shown.output and "Be brief." in shown.output
    # Not a terminal: the text as stored (Markdown is rendered only on a terminal).
    assert "echo: Hi **there**" in shown.output
    as_json = json.loads(invoke("sessions", "show", "alpha", "--json").output)
    assert [m["role"] for m in as_json["messages"]] == ["system", "user", "assistant"]

    assert (
        invoke("sessions", "rename", "alpha", "My chat").output == "Renamed alpha to 'My chat'.\n"
    )
    names = {s["id"]: s["name"] for s in json.loads(invoke("sessions", "list", "--json").output)}
    assert names == {"alpha": "My chat", "beta": None}

    markdown = invoke("sessions", "export", "alpha", "--format", "markdown").output
    assert markdown.startswith("# My chat\n")
    assert "## User · " in markdown and "Hi **there**" in markdown
    out = tmp_path / "alpha.json"
    assert invoke("sessions", "export", "alpha", "--output", str(out)).exit_code == 0
    exported = json.loads(out.read_text())
    assert exported["id"] == "alpha" and exported["messages"][2]["content"] == "echo: Hi **there**"

    assert invoke("sessions", "delete", "alpha", "--yes").output == "Deleted session alpha.\n"
    assert [s["id"] for s in json.loads(invoke("sessions", "list", "--json").output)] == ["beta"]


def test_missing_sessions_are_errors_with_hints(invoke: Invoke) -> None:
    from llmcore.exceptions import SessionNotFoundError

    for args in (
        ["show", "nope"],
        ["export", "nope"],
        ["rename", "nope", "x"],
        ["delete", "nope", "-y"],
    ):
        result = invoke("sessions", *args, catch_exceptions=True)
        assert isinstance(result.exception, SessionNotFoundError), args


def test_missing_session_exit_code_and_hint(tmp_path: Path) -> None:
    from _llmchat import llmchat_env, run_llmchat

    result = run_llmchat(["sessions", "show", "nope"], llmchat_env(tmp_path, None), tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: No session 'nope' is stored.",
        "Hint: List the stored sessions with: llmchat sessions list (--debug shows the traceback.)",
    ]


def test_delete_without_terminal_needs_yes(invoke: Invoke) -> None:
    _two_sessions(invoke)
    result = invoke("sessions", "delete", "alpha", catch_exceptions=True)
    assert result.exit_code == 2
    assert "Pass --yes" in result.output
    assert len(json.loads(invoke("sessions", "list", "--json").output)) == 2


def test_export_to_an_unwritable_path_is_one_line(invoke: Invoke, tmp_path: Path) -> None:
    _two_sessions(invoke)
    result = invoke("sessions", "export", "beta", "--output", str(tmp_path / "no" / "x.json"))
    assert result.exit_code == 1
    assert "Cannot write" in result.output
