"""llmchat: the command-line tool built on llmcore.

Commands live in their own modules; this one builds the Click group and
turns llmcore errors into one readable line (and exit code 1) instead of a
traceback, unless ``--debug`` is given.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from llmcore.cli.aliases import delete_command, session_command
from llmcore.cli.chat import chat_command
from llmcore.cli.config import config_group
from llmcore.cli.info import models_command, providers_command
from llmcore.cli.init import init_command
from llmcore.cli.mcp import mcp_group
from llmcore.cli.pipeline import pipeline_group
from llmcore.cli.rag import rag_group
from llmcore.cli.sessions import sessions_group

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="A TOML or JSON config file."
)
@click.option(
    "--debug", is_flag=True, help="Show full tracebacks on errors, and DEBUG logs on stderr."
)
@click.version_option(package_name="llmcore", prog_name="llmchat")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, debug: bool) -> None:
    """Chat with LLMs from OpenAI, Anthropic, Gemini, Ollama and compatible servers."""
    ctx.obj = {"config_file": config_file, "debug": debug}
    if debug:
        from llmcore.cli.debug import show_debug_logs

        show_debug_logs()


for _command in (
    init_command,
    chat_command,
    sessions_group,
    models_command,
    providers_command,
    pipeline_group,
    config_group,
    rag_group,
    mcp_group,
    # The specification's names (section 7): session [ID], delete ID.
    session_command,
    delete_command,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> Any:
    """Run llmchat (the console script entry point)."""
    from llmcore.cli.errors import describe_error, unwrap
    from llmcore.exceptions import LLMCoreError

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, prog_name="llmchat", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BaseException as exc:
        # anyio task groups wrap errors in exception groups; report the one inside.
        inner = unwrap(exc)
        if isinstance(inner, click.ClickException):
            inner.show()
            sys.exit(inner.exit_code)
        if debug or not isinstance(inner, LLMCoreError):
            raise
        message, hint = describe_error(inner)
        click.echo(f"Error: {message}", err=True)
        click.echo(f"Hint: {hint + ' ' if hint else ''}(--debug shows the traceback.)", err=True)
        sys.exit(1)
