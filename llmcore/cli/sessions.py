"""``llmchat sessions``: list, show, rename, delete and export stored sessions."""

from __future__ import annotations

import json
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
            # Markdown only on a terminal: it pads every line to the console's width.
            markdown = message.role == "assistant" and con.is_terminal
            con.print(Markdown(message.content) if markdown else message.content, markup=False)
            for label in attachment_labels(message):
                con.print(label, style="dim", markup=False)

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
            files = None if output is None else output.with_name(f"{output.stem}_files")
            return session_markdown(session, files)
        import msgspec

        data = msgspec.to_builtins(session)
        for message, stored in zip(session.messages, data["messages"], strict=True):
            stored["parts"] = [_exported_part(p) for p in message.parts]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    text = run(body)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, "utf-8")
    except OSError as exc:
        raise click.ClickException(f"Cannot write {str(output)!r}: {exc.strerror}.") from exc
    click.echo(f"Exported {session_id} to {output}.", err=True)


def _exported_part(part: Any) -> Any:
    """A part for a JSON export: binary content as a ``data:`` URL, the rest as stored."""
    import msgspec

    from llmcore.parts import DocumentPart, ImagePart, base64_of

    out = msgspec.to_builtins(part)
    if isinstance(part, ImagePart | DocumentPart) and part.data is not None:
        out.pop("data", None)
        out["url"] = f"data:{part.media_type};base64,{base64_of(part)}"
    return out


def attachment_labels(message: Any) -> list[str]:
    """``[image photo.png 123 KB]`` for each image or document of a message."""
    from llmcore.parts import ImagePart, binary_parts

    labels = []
    for part in binary_parts(message.parts):
        kind = "image" if isinstance(part, ImagePart) else "document"
        name = part.name or part.url or part.media_type
        size = f" {_size(len(part.data))}" if part.data is not None else ""
        labels.append(f"[{kind} {name}{size}]")
    return labels


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else f"{max(1, round(n / 1000))} KB"


def _export_files(message: Any, folder: Path | None) -> list[str]:
    """Markdown for a message's attachments: links to files written into ``folder``."""
    from llmcore.parts import ImagePart, binary_parts, digest

    lines = []
    for part in binary_parts(message.parts):
        label = part.name or part.url or part.media_type
        if part.url is not None:
            target = part.url
        elif folder is None:
            lines.append(f"[{label}: not exported; use --output FILE to write it beside]")
            continue
        else:
            folder.mkdir(parents=True, exist_ok=True)
            suffix = Path(part.name).suffix if part.name else ""
            path = folder / f"{digest(part)[:12]}{suffix}"
            if not path.exists():
                path.write_bytes(part.data or b"")
            target = f"{folder.name}/{path.name}"
        bang = "!" if isinstance(part, ImagePart) else ""
        lines.append(f"{bang}[{label}]({target})")
    return lines


def session_markdown(session: ChatSession, files: Path | None = None) -> str:
    """A session as a Markdown document: a header, then each message under its role.

    Attachments are linked: to files written into ``files`` (a folder beside
    the document), or to their URLs.
    """
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
        attached = _export_files(message, files)
        if attached:
            lines += ["", *attached]
    return "\n".join(lines) + "\n"
