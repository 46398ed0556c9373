"""``llmchat mcp``: use llmcore from other MCP clients, and look at MCP servers."""

from __future__ import annotations

import sys

import click

__all__ = ["mcp_group"]


@click.group("mcp")
def mcp_group() -> None:
    """The Model Context Protocol: serve llmcore, list servers' resources, log in to servers."""


@mcp_group.command("serve")
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="stdio for a client that starts llmchat itself; http for streamable HTTP.",
)
@click.option(
    "--host",
    default=None,
    help="HTTP: address to listen on ([mcp.serve] host, default 127.0.0.1). Any "
    "other than loopback needs a token.",
)
@click.option(
    "--port", default=None, type=click.IntRange(1, 65535), help="HTTP: port (default 8000)."
)
@click.option(
    "--token",
    default=None,
    help="HTTP: bearer token every request must carry. Prefer [mcp.serve] token or "
    "LLMCORE_MCP_SERVE_TOKEN: a command line is visible to other users.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="HOST[:PORT]",
    help="HTTP: also accept this Host header (repeatable); loopback names always pass.",
)
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    metavar="ORIGIN",
    help="HTTP: also accept this browser Origin, e.g. https://app.example.com (repeatable).",
)
@click.option(
    "--sessions/--no-sessions",
    default=None,
    help="Publish the stored sessions as read-only resources (default: not published).",
)
@click.option(
    "--sessions-writable/--no-sessions-writable",
    default=None,
    help="Let chat continue any stored session, not only those this server created.",
)
@click.pass_context
def serve_command(
    ctx: click.Context,
    transport: str,
    host: str | None,
    port: int | None,
    token: str | None,
    allow_hosts: tuple[str, ...],
    allow_origins: tuple[str, ...],
    sessions: bool | None,
    sessions_writable: bool | None,
) -> None:
    """Run llmcore as an MCP server: tools chat and search_documents.

    For a client such as Claude Desktop, configure the command
    `llmchat mcp serve` (stdio). Over HTTP the endpoint is http://HOST:PORT/mcp;
    it listens on 127.0.0.1 unless told otherwise, and every other address
    needs a bearer token.
    """
    from llmcore.api import LLMCore
    from llmcore.mcp.serve import build_server

    llm = LLMCore(config_file_path=ctx.obj["config_file"])
    settings = llm.config.mcp.serve
    publish = settings.sessions if sessions is None else sessions
    writable = settings.sessions_writable if sessions_writable is None else sessions_writable
    if transport == "stdio":  # the client that started us is the only one: no token
        build_server(llm, sessions=publish, sessions_writable=writable).run()
        return

    import uvicorn

    from llmcore.mcp.serve_http import http_app, http_options

    options = http_options(
        settings,
        host=host,
        port=port,
        token=token,
        allow_hosts=allow_hosts,
        allow_origins=allow_origins,
    )
    server = build_server(llm, sessions=publish, sessions_writable=writable)
    guard = "bearer token required" if options.token else "no token: this machine only"
    shown = "sessions published read-only" if publish else "sessions not published"
    click.echo(f"llmcore MCP server at {options.url} ({guard}; {shown})", err=True)
    uvicorn.run(http_app(server, options), host=options.host, port=options.port)


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


@mcp_group.command("login")
@click.argument("server")
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds to wait for the login to be finished in the browser.",
)
@click.pass_context
def login_command(ctx: click.Context, server: str, timeout: float) -> None:
    """Log in to the OAuth-protected MCP server SERVER (authorization code with PKCE).

    Prints the URL to open in a browser (none is opened for you) and waits
    for the browser to come back to http://127.0.0.1:PORT/callback. The
    tokens are kept in ~/.config/llmcore/mcp-oauth/, readable only by you,
    and refreshed before they expire. SERVER needs auth = "oauth" and no
    oauth.client_secret in its [mcp.servers.SERVER] section.
    """
    import anyio

    from llmcore.cli._common import load_resolved
    from llmcore.config.suggest import did_you_mean
    from llmcore.mcp.oauth_login import login

    servers = load_resolved(ctx).config.mcp.servers
    settings = servers.get(server)
    if settings is None:
        known = ", ".join(sorted(servers)) or "none"
        raise click.UsageError(
            f"No MCP server named {server!r} (servers: {known}).{did_you_mean(server, servers)}"
        )

    def show(url: str, redirect_uri: str) -> None:
        click.echo(f"Open this URL in a browser to log in to MCP server {server!r}:\n")
        click.echo(f"  {url}\n")
        click.echo(f"Waiting for the browser to come back to {redirect_uri} (Ctrl-C to stop)...")
        sys.stdout.flush()

    path = anyio.run(lambda: login(server, settings, show_url=show, time_limit=timeout))
    click.echo(f"Logged in to {server!r}; its tokens are in {path} (readable only by you).")
