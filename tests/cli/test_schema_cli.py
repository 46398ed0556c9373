"""llmchat chat --schema: the JSON answer on stdout, or exit 1 with what was wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from _llmchat import llmchat_env, run_llmchat
from click.testing import Result
from fakes.openai_server import FakeOpenAIServer, Reply

Invoke = Callable[..., Result]
SCHEMA = {
    "title": "City",
    "type": "object",
    "properties": {"name": {"type": "string"}, "population": {"type": "integer", "minimum": 0}},
    "required": ["name", "population"],
}


def test_schema_prints_the_validated_json(
    invoke: Invoke, openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    (tmp_path / "city.json").write_text(json.dumps(SCHEMA))
    openai_server.enqueue(Reply(text='{"name": "Oslo", "population": 709000}'))
    result = invoke("chat", "--schema", "city.json", "-s", "c", "The capital of Norway?")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"name": "Oslo", "population": 709000}
    sent = openai_server.last_request.json["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "City"


def test_a_reply_that_never_matches_exits_1_with_the_errors(
    openai_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    (tmp_path / "city.json").write_text(json.dumps(SCHEMA))
    bad = '{"name": "Oslo", "population": -3}'
    openai_server.enqueue(Reply(text=bad), Reply(text=bad))
    done = run_llmchat(
        ["chat", "--schema", "city.json", "Norway?"], llmchat_env(tmp_path, openai_server), tmp_path
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "$.population: -3 is less than the minimum of 0" in done.stderr
    assert "output_retries" in done.stderr and bad in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_schema_file_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1]")
    missing = invoke("chat", "--schema", "nope.json", "hi")
    broken = invoke("chat", "--schema", "broken.json", "hi")
    listed = invoke("chat", "--schema", "list.json", "hi")
    assert missing.exit_code == broken.exit_code == listed.exit_code == 2
    assert "cannot read nope.json" in missing.output
    assert "broken.json is not JSON" in broken.output
    assert "must hold a JSON-schema object" in listed.output
