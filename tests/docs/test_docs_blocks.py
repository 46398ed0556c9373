"""Every code block in docs/ is complete and runs as written, or says it is a fragment.

Per page: titled blocks (```` ```python title="my_app/stages.py" ````) are
written as files into one folder; Python blocks run there, in order, in one
process, against the fake OpenAI server (the provider a reader configures);
``title="*.sh"`` blocks run with bash there; TOML blocks are loaded as what
they are (a config file through the config schema, a pipeline definition
through the definition loader); every ``llmchat`` command shown is parsed by
llmchat's own option parser. A block marked ``# fragment`` is only parsed.
``docs/guides/extending.md`` runs in its own test (test_extending_guide.py),
and the examples a page includes (``--8<--``) in tests/examples.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
import warnings
from pathlib import Path

import click
import pytest
from blocks import (
    FRAGMENT_MARKER,
    ROOT,
    Block,
    blocks,
    check_python_parses,
    clean_env,
    run_programs,
)
from fakes.openai_server import FakeOpenAIServer

from llmcore.cli import cli
from llmcore.config.loader import load_config
from llmcore.pipeline import builtin_pipelines_dir
from llmcore.pipeline.definition import load_definition

DOCS = ROOT / "docs"
OWN_TEST = {DOCS / "guides" / "extending.md"}
PAGES = sorted(p for p in DOCS.rglob("*.md") if p not in OWN_TEST and blocks(p))
DEFINITION_KEYS = {"extends", "stages", "insert", "remove", "replace", "move", "description"}


def page_id(page: Path) -> str:
    return str(page.relative_to(DOCS))


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_block_of_the_page_works(
    page: Path, tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    env = clean_env(tmp_path / "home")
    env.update(
        LLMCORE_PROVIDERS_OPENAI_API_KEY="sk-docs",
        LLMCORE_PROVIDERS_OPENAI_BASE_URL=openai_server.base_url,
        LLMCORE_PROVIDERS_OPENAI_MAX_RETRIES="0",
    )
    folder = tmp_path / "page"
    folder.mkdir()
    programs: list[Block] = []
    scripts: list[Block] = []
    for block in blocks(page):
        if block.language == "text":
            continue  # what a program prints
        if "--8<--" in block.text:
            _check_include(block)
        elif block.title:
            if block.title.endswith(".sh"):
                scripts.append(block)
            target = folder / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text)
        elif block.language == "python":
            check_python_parses(block)
            if not block.marked(FRAGMENT_MARKER):
                programs.append(block)
        elif block.language == "toml":
            _check_toml(block, tmp_path)
        elif block.language in ("bash", "sh", "console"):
            _check_commands(block)
        else:
            raise AssertionError(f"{block.where}: no rule for {block.language!r} blocks")
    for block in (b for b in blocks(page) if b.title and b.language == "toml"):
        _check_toml(block, tmp_path, folder / block.title)
    if programs:
        run_programs(programs, folder, env)
    for script in scripts:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", script.title or ""],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (
            f"{script.where}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )


def _check_include(block: Block) -> None:
    for line in block.text.splitlines():
        name = line.split('"')[1].split(":")[0]
        assert (ROOT / name).is_file(), f"{block.where}: includes {name}, which does not exist"


def _check_toml(block: Block, tmp_path: Path, path: Path | None = None) -> None:
    try:
        data = tomllib.loads(block.text)
    except tomllib.TOMLDecodeError as exc:
        raise AssertionError(f"{block.where}: not valid TOML: {exc}") from None
    if "project" in data or "tool" in data:
        return  # a pyproject.toml excerpt
    if path is None:
        path = tmp_path / f"block_{block.line}.toml"
        path.write_text(block.text)
    if DEFINITION_KEYS & set(data):
        load_definition(str(path), [path.parent, builtin_pipelines_dir()])
    else:
        load_config(file_path=path, env_prefix=None, user_config=False)


def _check_commands(block: Block) -> None:
    lines = block.text.splitlines()
    if block.language == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    for line in lines:
        # The command itself: not its comment, redirection or what it is piped into.
        command = re.split(r" #| \| | > | < |; ", line)[0].strip()
        for part in command.split(" && "):
            if part.startswith("llmchat "):
                _parse(part, block)


def _parse(command: str, block: Block) -> None:
    args = shlex.split(command.replace("$EDITOR", "editor"))[1:]
    with warnings.catch_warnings():  # protected_args: Click 8.2 warns, 9.0 folds it into args
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = cli.make_context("llmchat", list(args))
        while isinstance(ctx.command, click.Group) and ctx.protected_args + ctx.args:
            rest = ctx.protected_args + ctx.args
            name, sub, rest = ctx.command.resolve_command(ctx, rest)
            assert sub is not None, f"{block.where}: llmchat has no command {name!r}"
            ctx = sub.make_context(name or "", rest, parent=ctx)
