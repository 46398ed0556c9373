"""``llmchat sessions``: list, show, rename, delete and export stored sessions."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from llmcore.cli._common import console, echo_json, json_option, open_llm, run, table

if TYPE_CHECKING:
    from llmcore.api import LLMCore
    from llmcore.models import ChatSession

__all__ = ["session_markdown", "sessions_group"]


def _when(value: datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


async def _require(llm: LLMCore, session_id: str) -> ChatSession:
    from llmcore.exceptions import SessionNotFoundError

    session = await llm.get_session(session_id)
    if session is None:
        raise SessionNotFoundError(f"No session {session_id!r} is stored.", session_id=session_id)
    return session


@click.group("sessions")
def sessions_group() -> None:
    """List, show, rename, delete and export stored chat sessions."""


@sessions_group.command("list")
@click.option("-n", "--limit", type=click.IntRange(min=1), help="Show at most N sessions.")
@json_option
@click.pass_context
def list_sessions(ctx: click.Context, limit: int | None, as_json: bool) -> None:
    """List sessions, most recently updated first."""

    async def body() -> None:
        async with open_llm(ctx) as llm:
            sessions = await llm.list_sessions(limit=limit)
        if as_json:
            echo_json(sessions)
            return
        if not sessions:
            click.echo('No sessions yet. Start one with: llmchat chat -s NAME "Hello"')
            return

        grid = table("ID", "Name", "Messages", "Updated")
        for info in sessions:
            grid.add_row(info.id, info.name or "", str(info.message_count), _when(info.updated_at))
        console().print(grid)

    run(body)


@sessions_group.command("show")
@click.argument("session_id", metavar="ID")
@json_option
@click.pass_context
def show_session(ctx: click.Context, session_id: str, as_json: bool) -> None:
    """Print session ID's messages."""

    async def body() -> None:
        async with open_llm(ctx) as llm:
            session = await _require(llm, session_id)
        if as_json:
            echo_json(session)
            return
        from rich.markdown import Markdown
        from rich.markup import escape

        con = console()
        title = f"{session.name} ({session.id})" if session.name else session.id
        con.print(f"[bold]{escape(title)}[/bold] · {len(session.messages)} messages")
        for message in session.messages:
            con.print()
            con.print(f"[bold cyan]{message.role.value}[/] [dim]{_when(message.timestamp)}[/]")
            if message.metadata.get("interrupted"):
                con.print("[dim](interrupted)[/dim]")
            con.print(
                Markdown(message.content) if message.role == "assistant" else message.content,
                markup=False,
            )

    run(body)


@sessions_group.command("rename")
@click.argument("session_id", metavar="ID")
@click.argument("name")
@click.pass_context
def rename_session(ctx: click.Context, session_id: str, name: str) -> None:
    """Give session ID the display name NAME."""

    async def body() -> None:
        from llmcore.exceptions import SessionNotFoundError

        async with open_llm(ctx) as llm:
            if not await llm.rename_session(session_id, name):
                raise SessionNotFoundError(
                    f"No session {session_id!r} is stored.", session_id=session_id
                )
        click.echo(f"Renamed {session_id} to {name!r}.")

    run(body)


@sessions_group.command("delete")
@click.argument("session_id", metavar="ID")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def delete_session(ctx: click.Context, session_id: str, yes: bool) -> None:
    """Delete session ID and all its messages."""
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("Pass --yes to delete without a terminal to confirm on.")
        click.confirm(f"Delete session {session_id} and all its messages?", abort=True)

    async def body() -> None:
        from llmcore.exceptions import SessionNotFoundError

        async with open_llm(ctx) as llm:
            if not await llm.delete_session(session_id):
                raise SessionNotFoundError(
                    f"No session {session_id!r} is stored.", session_id=session_id
                )
        click.echo(f"Deleted session {session_id}.")

    run(body)


@sessions_group.command("export")
@click.argument("session_id", metavar="ID")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["json", "markdown"]),
    default="json",
    show_default=True,
    help="JSON keeps everything (ids, metadata); Markdown is for reading.",
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE, not stdout."
)
@click.pass_context
def export_session(ctx: click.Context, session_id: str, fmt: str, output: Path | None) -> None:
    """Export session ID with all its messages as JSON or Markdown."""

    async def body() -> str:
        async with open_llm(ctx) as llm:
            session = await _require(llm, session_id)
        if fmt == "markdown":
            return session_markdown(session)
        import msgspec

        return msgspec.json.format(msgspec.json.encode(session), indent=2).decode() + "\n"

    text = run(body)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, "utf-8")
    except OSError as exc:
        raise click.ClickException(f"Cannot write {str(output)!r}: {exc.strerror}.") from exc
    click.echo(f"Exported {session_id} to {output}.", err=True)


def session_markdown(session: ChatSession) -> str:
    """A session as a Markdown document: a header, then each message under its role."""
    lines: list[str] = [f"# {session.name or session.id}", ""]
    facts: list[tuple[str, Any]] = [
        ("Session", f"`{session.id}`"),
        ("Created", _when(session.created_at)),
        ("Updated", _when(session.updated_at)),
        ("Messages", len(session.messages)),
    ]
    lines += [f"- {key}: {value}" for key, value in facts]
    for message in session.messages:
        note = " (interrupted)" if message.metadata.get("interrupted") else ""
        lines += ["", f"## {message.role.value.title()} · {_when(message.timestamp)}{note}", ""]
        lines.append(message.content)
    return "\n".join(lines) + "\n"
