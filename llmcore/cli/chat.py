"""``llmchat chat``: one message and its reply, or an interactive REPL."""

from __future__ import annotations

import sys
from typing import Any

import click

from llmcore.cli._common import console, echo_json, open_llm, parse_kv, run

__all__ = ["chat_command"]


@click.command("chat")
@click.argument("message", required=False)
@click.option(
    "-p", "--provider", metavar="NAME", help="Provider name (a [providers.NAME] section)."
)
@click.option(
    "-m", "--model", metavar="NAME", help="Model name (default: the provider's default_model)."
)
@click.option(
    "-s", "--session", "session_id", metavar="ID", help="Continue (or start) a stored session."
)
@click.option("--system", "system_message", help="A system message for this turn.")
@click.option("--rag", is_flag=True, help="Add documents retrieved from the vector store.")
@click.option(
    "--collection", metavar="NAME", help="The collection to retrieve from (implies --rag)."
)
@click.option(
    "-k",
    "rag_k",
    type=click.IntRange(min=1),
    metavar="N",
    help="How many documents to retrieve (implies --rag).",
)
@click.option(
    "--pipeline", metavar="NAME", help="The pipeline definition to run (a name or a .toml path)."
)
@click.option(
    "--no-stream", is_flag=True, help="Print the reply when complete instead of streaming it."
)
@click.option(
    "--trace", is_flag=True, help="Print each turn's stages (name, ms, notes) under the reply."
)
@click.option(
    "-a",
    "--attach",
    "attachments",
    multiple=True,
    metavar="FILE",
    help="Attach a file to the message: an image, a PDF or a text file (repeatable).",
)
@click.option(
    "--reasoning",
    metavar="EFFORT",
    help="How hard a reasoning model thinks: low, medium, high, or a token budget.",
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Answer as JSON matching this JSON-schema file; prints the JSON (exit 1 if the "
    "model's reply cannot be made to match).",
)
@click.option(
    "--mcp",
    "mcp_servers",
    multiple=True,
    metavar="SERVER",
    help="Offer only the tools of MCP server SERVER, an [mcp.servers.SERVER] (repeatable; "
    "default: every enabled server).",
)
@click.option("--no-mcp", is_flag=True, help="Offer no MCP server's tools.")
@click.option(
    "-o",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A provider option, e.g. -o temperature=0.2 (values are JSON where they parse).",
)
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="A TOML or JSON config file."
)
@click.pass_context
def chat_command(
    ctx: click.Context,
    message: str | None,
    provider: str | None,
    model: str | None,
    session_id: str | None,
    system_message: str | None,
    rag: bool,
    collection: str | None,
    rag_k: int | None,
    pipeline: str | None,
    no_stream: bool,
    trace: bool,
    attachments: tuple[str, ...],
    reasoning: str | None,
    schema_file: str | None,
    mcp_servers: tuple[str, ...],
    no_mcp: bool,
    options: tuple[str, ...],
    config_file: str | None,
) -> None:
    """Send MESSAGE (or text piped on stdin) and print the reply.

    With no MESSAGE and a terminal on stdin, start an interactive chat
    (type /help in it for its commands).
    """
    if config_file is not None:
        ctx.find_root().ensure_object(dict)["config_file"] = config_file
    kwargs: dict[str, Any] = {
        "provider_name": provider,
        "model_name": model,
        "session_id": session_id,
        "system_message": system_message,
        "enable_rag": rag or collection is not None or rag_k is not None,
        "rag_collection_name": collection,
        "rag_retrieval_k": rag_k,
        "pipeline": pipeline,
        # Passed to the provider as they are: -o tools=... is the provider's "tools".
        "provider_options": parse_kv(options),
        "attachments": list(attachments),
    }
    if reasoning is not None:
        kwargs["reasoning"] = (
            {"budget_tokens": int(reasoning)} if reasoning.isdigit() else reasoning.lower()
        )
    if no_mcp and mcp_servers:
        raise click.UsageError("--mcp SERVER and --no-mcp contradict each other: give one.")
    if no_mcp or mcp_servers:
        kwargs["mcp_servers"] = list(dict.fromkeys(mcp_servers))  # [] with --no-mcp: none
    interactive = sys.stdin is not None and sys.stdin.isatty()
    piped = None if sys.stdin is None or interactive else sys.stdin.read()
    if piped and message:
        message = f"{message}\n\n{piped}"
    elif piped:
        message = piped
    if schema_file is not None:
        kwargs["output_type"] = _read_schema(schema_file)
        no_stream = True  # the answer is printed once it validates
    if message is None and interactive:
        if schema_file is not None:
            raise click.UsageError('--schema answers one message: llmchat chat --schema FILE "..."')
        run(_repl, ctx, kwargs, not no_stream, trace)
        return
    if not message or not message.strip():
        raise click.UsageError('Give a message, e.g. llmchat chat "Hello!", or pipe text on stdin.')
    run(_one_shot, ctx, message, kwargs, not no_stream, trace)


async def _one_shot(
    ctx: click.Context, message: str, kwargs: dict[str, Any], stream: bool, trace: bool
) -> None:
    from llmcore.cli.elicit import one_shot_handlers
    from llmcore.cli.render import interruptible, show_stream, show_text, stage_table

    con = console() if sys.stdout.isatty() else None
    turn = None
    async with open_llm(ctx) as llm:
        with interruptible() as interrupt:
            handlers = one_shot_handlers(con)  # MCP servers that ask: a form, or declined
            turn = await llm.chat_turn(message, stream=stream, mcp_handlers=handlers, **kwargs)
            if turn.output is not None:
                echo_json(turn.response.output)
            elif turn.chunks is None:
                show_text(turn.response.text, con)
            else:
                await show_stream(turn.chunks, con)
    if trace and turn is not None:  # on stderr: a piped reply stays exactly the reply
        console(stderr=True).print(stage_table(turn))
    if interrupt.requested:
        click.echo("Stopped.", err=True)
        ctx.exit(130)


def _read_schema(path: str) -> dict[str, Any]:
    """The JSON schema in ``path`` (a usage error, naming the problem, if it is not one)."""
    import json
    from pathlib import Path

    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="--schema"
        ) from None
    except ValueError as exc:
        raise click.BadParameter(f"{path} is not JSON: {exc}", param_hint="--schema") from None
    if not isinstance(schema, dict) or not schema:
        raise click.BadParameter(f"{path} must hold a JSON-schema object", param_hint="--schema")
    return schema


async def _repl(ctx: click.Context, kwargs: dict[str, Any], stream: bool, trace: bool) -> None:
    from llmcore.cli.repl import initial_state, run_repl

    async with open_llm(ctx) as llm:
        await run_repl(llm, initial_state(llm, kwargs), stream=stream, trace=trace)
