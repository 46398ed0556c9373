"""``llmchat chat``: send a message and print the reply."""

from __future__ import annotations

import sys
from typing import Any

import click

__all__ = ["chat_command"]


@click.command("chat")
@click.argument("message", required=False)
@click.option("-p", "--provider", help="Provider name (a [providers.NAME] section).")
@click.option("-m", "--model", help="Model name (default: the provider's default_model).")
@click.option("-s", "--session", "session_id", help="Continue (or start) a stored session.")
@click.option("--system", "system_message", help="A system message for this turn.")
@click.option(
    "--no-stream", is_flag=True, help="Print the reply when complete instead of streaming it."
)
@click.pass_context
def chat_command(
    ctx: click.Context,
    message: str | None,
    provider: str | None,
    model: str | None,
    session_id: str | None,
    system_message: str | None,
    no_stream: bool,
) -> None:
    """Send MESSAGE (or text piped on stdin) and print the reply."""
    piped = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    if piped and message:
        message = f"{message}\n\n{piped}"
    elif piped:
        message = piped
    if not message or not message.strip():
        raise click.UsageError('Give a message, e.g. llmchat chat "Hello!", or pipe text on stdin.')

    import anyio

    options: dict[str, Any] = {
        "provider_name": provider,
        "model_name": model,
        "session_id": session_id,
        "system_message": system_message,
    }
    anyio.run(_chat, ctx.obj["config_file"], message, options, not no_stream)


async def _chat(
    config_file: str | None, message: str, options: dict[str, Any], stream: bool
) -> None:
    from llmcore.api import LLMCore

    async with LLMCore(config_file_path=config_file) as llm:
        if not stream:
            click.echo(await llm.chat(message, **options))
            return
        chunks = await llm.chat(message, stream=True, **options)
        try:
            async for chunk in chunks:
                click.echo(chunk, nl=False)
        finally:
            await chunks.aclose()
        click.echo()
