"""``llmchat session`` and ``llmchat delete``: the specification's command names.

Section 7 of the specification names a ``session`` command (list the
sessions, or show one) and a ``delete`` command. They are the same commands
as ``llmchat sessions list`` / ``sessions show ID`` and ``sessions delete ID``,
with the same options.
"""

from __future__ import annotations

import click

from llmcore.cli._common import json_option
from llmcore.cli.sessions import delete_session, list_sessions, show_session

__all__ = ["delete_command", "session_command"]


@click.command("session")
@click.argument("session_id", metavar="[ID]", required=False)
@click.option("-n", "--limit", type=click.IntRange(min=1), help="List at most N sessions.")
@json_option
@click.pass_context
def session_command(
    ctx: click.Context, session_id: str | None, limit: int | None, as_json: bool
) -> None:
    """List sessions, or show session ID (= sessions list / sessions show ID)."""
    if session_id is None:
        ctx.invoke(list_sessions, limit=limit, as_json=as_json)
    elif limit is not None:
        raise click.UsageError("-n/--limit lists sessions: leave it out to show session ID.")
    else:
        ctx.invoke(show_session, session_id=session_id, as_json=as_json)


@click.command("delete")
@click.argument("session_id", metavar="ID")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def delete_command(ctx: click.Context, session_id: str, yes: bool) -> None:
    """Delete session ID and all its messages (= sessions delete ID)."""
    ctx.invoke(delete_session, session_id=session_id, yes=yes)
