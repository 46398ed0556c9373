"""Showing replies: streamed into a Rich Live Markdown view, or as plain text.

Ctrl-C while a reply streams stops the reply, not the program: the stream
is closed, so llmcore saves what arrived (marked interrupted), and the
caller is told.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from llmcore.pipeline.stream import ChatStream
    from llmcore.turn import Turn

__all__ = ["Interrupt", "footer", "interruptible", "show_stream", "show_text", "stage_table"]


class Interrupt:
    """Whether the user pressed Ctrl-C inside :func:`interruptible`."""

    requested: bool = False


@contextmanager
def interruptible() -> Iterator[Interrupt]:
    """A block that Ctrl-C cancels (setting ``requested``) instead of ending the program.

    Only on asyncio in the main thread, where llmchat runs; elsewhere
    Ctrl-C keeps its default meaning.
    """
    import asyncio
    import threading

    import anyio

    interrupt = Interrupt()
    with anyio.CancelScope() as scope:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # trio
            loop = None
        if loop is None or threading.current_thread() is not threading.main_thread():
            yield interrupt
            return

        def on_sigint() -> None:
            interrupt.requested = True
            scope.cancel()

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            yield interrupt
        finally:
            loop.remove_signal_handler(signal.SIGINT)


async def show_stream(chunks: ChatStream, con: Console | None) -> None:
    """Print a streamed reply as it arrives, then close the stream.

    With a console, the reply is rendered as Markdown in a Live view that
    grows as chunks arrive; without one, chunks are echoed as they come
    (pipes and scripts get the exact text). The stream is closed (shielded
    from cancellation) whatever happens, so the turn's remaining stages,
    saving the session among them, always run.
    """
    import anyio

    text = ""
    try:
        if con is None:
            async for chunk in chunks:
                click.echo(chunk, nl=False)
        else:
            from rich.live import Live
            from rich.markdown import Markdown

            with _no_echo(), Live(Markdown(""), console=con, refresh_per_second=12) as live:
                async for chunk in chunks:
                    text += chunk
                    live.update(Markdown(text))
    finally:
        with anyio.CancelScope(shield=True):
            await chunks.aclose()
        if con is None:
            click.echo()


@contextmanager
def _no_echo() -> Iterator[None]:
    """Keep the terminal from echoing keys (``^C``) into the Live view while it redraws.

    An echoed ``^C`` moves the cursor under Rich's feet: the view then redraws
    one line off and shows the reply's first line twice.
    """
    try:
        import termios
    except ImportError:  # Windows: no echo to switch off
        yield
        return
    fd = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else None
    if fd is None:
        yield
        return
    saved = termios.tcgetattr(fd)
    quiet = list(saved)
    quiet[3] &= ~(termios.ECHO | termios.ECHOCTL)
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


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
    from rich.markup import escape

    line = escape(" · ".join(parts))
    if interrupted or turn.response.interrupted:
        line += " · stopped; the partial reply is saved"
    return f"[dim]{line}[/dim]"


def stage_table(turn: Turn) -> Table:
    """The turn's stages (``--trace``): each one's own time in ms, and its notes.

    A wrapping stage's time is its own, without the stages it wraps; the
    last row is the sum.
    """
    from rich.text import Text

    from llmcore.cli._common import table

    grid = table("stage", "ms", "notes")
    grid.columns[1].justify = "right"
    for step in turn.trace:
        name = f"{step.name} (wraps)" if step.wraps else step.name
        # Text, not markup: a note may hold brackets ("[1]") or a user's words.
        grid.add_row(Text(name), f"{step.duration * 1000:.1f}", Text("; ".join(step.notes)))
    grid.add_row("total", f"{turn.duration * 1000:.1f}", "")
    return grid
