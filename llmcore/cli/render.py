"""Showing replies: streamed into a Rich Live Markdown view, or as plain text.

Ctrl-C while a reply streams stops the reply, not the program: the stream
is closed, so llmcore saves what arrived (marked interrupted), and the
caller is told.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console

    from llmcore.turn import Turn

__all__ = ["footer", "show_stream", "show_text"]


@contextmanager
def _sigint_cancels(cancel: list[bool], scope_cancel: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGINT calls ``scope_cancel`` instead of raising KeyboardInterrupt."""
    import asyncio
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio): Ctrl-C keeps its default meaning
        yield
        return

    def on_sigint() -> None:
        cancel[0] = True
        scope_cancel()

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def show_stream(
    chunks: AsyncIterator[str],
    con: Console | None,
    *,
    close: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Print a streamed reply; return True if the user stopped it with Ctrl-C.

    With a console, the reply is rendered as Markdown in a Live view that
    grows as chunks arrive; without one, chunks are echoed as they come
    (pipes and scripts get the exact text). ``close`` is the stream's
    ``aclose``, awaited (shielded) whatever happens, so the turn's
    remaining stages (saving the session) always run.
    """
    import anyio

    interrupted = [False]
    text = ""
    try:
        with anyio.CancelScope() as scope, _sigint_cancels(interrupted, scope.cancel):
            if con is None:
                async for chunk in chunks:
                    click.echo(chunk, nl=False)
            else:
                from rich.live import Live
                from rich.markdown import Markdown

                with Live(Markdown(""), console=con, refresh_per_second=12) as live:
                    async for chunk in chunks:
                        text += chunk
                        live.update(Markdown(text))
    finally:
        if close is not None:
            with anyio.CancelScope(shield=True):
                await close()
    if con is None:
        click.echo()
    return interrupted[0]


def show_text(text: str, con: Console | None) -> None:
    """Print a complete reply: Markdown on a terminal, the exact text otherwise."""
    if con is None:
        click.echo(text)
        return
    from rich.markdown import Markdown

    con.print(Markdown(text))


def footer(turn: Turn, *, interrupted: bool = False) -> str:
    """A one-line summary of a turn: model, tokens, time (Rich markup)."""
    parts = [turn.response.model or turn.model]
    usage = turn.response.usage
    if usage is not None:
        parts.append(f"{usage.input_tokens} in / {usage.output_tokens} out tokens")
    parts.append(f"{turn.duration:.1f} s")
    line = " · ".join(parts)
    if interrupted or turn.response.interrupted:
        line += " · stopped; the partial reply is saved"
    return f"[dim]{line}[/dim]"
