"""``llmchat mcp``: use llmcore from other MCP clients, and look at MCP servers."""

from __future__ import annotations

import click

__all__ = ["mcp_group"]


@click.group("mcp")
def mcp_group() -> None:
    """The Model Context Protocol: serve llmcore, list servers' resources."""


@mcp_group.command("serve")
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="stdio for a client that starts llmchat itself; http for streamable HTTP.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP: address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="HTTP: port to listen on.")
@click.pass_context
def serve_command(ctx: click.Context, transport: str, host: str, port: int) -> None:
    """Run llmcore as an MCP server: tools chat and search_documents, sessions as resources.

    For a client such as Claude Desktop, configure the command
    `llmchat mcp serve` (stdio). Over HTTP the endpoint is http://HOST:PORT/mcp.
    """
    from llmcore.api import LLMCore
    from llmcore.mcp.serve import build_server

    server = build_server(LLMCore(config_file_path=ctx.obj["config_file"]))
    if transport == "stdio":
        server.run()
    else:
        server.run("streamable-http", host=host, port=port)


@mcp_group.command("resources")
@click.argument("server", required=False)
@click.pass_context
def resources_command(ctx: click.Context, server: str | None) -> None:
    """List the resources of the configured MCP servers (or of SERVER)."""
    import anyio

    from llmcore.api import LLMCore

    async def run() -> None:
        async with LLMCore(config_file_path=ctx.obj["config_file"]) as llm:
            for info in await llm.list_mcp_resources(server):
                click.echo(f"{info.ref}\t{info.mime_type or ''}\t{info.description or info.name}")

    anyio.run(run)
