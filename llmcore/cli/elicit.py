"""How llmchat answers MCP servers that ask the user something mid-call.

In the REPL (:func:`form_handlers`) the person answers a form built from
the server's schema, one field at a time: each value is checked against its
field's schema (type, enum, bounds, pattern) and asked again when it does
not fit; Enter on an optional field leaves it out; ``/decline`` or
``/cancel`` at any field answers that way; Ctrl-C cancels. A URL-mode
question shows the URL and asks whether to go on (llmchat opens nothing).

Without a terminal (``llmchat chat`` reading a pipe), :func:`declining_handlers`
declines every question and says so on stderr, so a script never hangs
waiting for an answer nobody can give.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from llmcore.mcp.handlers import Elicitation, ElicitationAnswer, MCPHandlers

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from rich.console import Console

__all__ = ["declining_handlers", "form_handlers", "one_shot_handlers", "parse_value"]

_TRUE = {"y", "yes", "true", "1", "on"}
_FALSE = {"n", "no", "false", "0", "off"}


class _Stop(Exception):
    """The person typed /decline or /cancel."""

    def __init__(self, action: str):
        self.action = action


def declining_handlers() -> MCPHandlers:
    """Handlers that decline every question (no terminal to ask on), saying so on stderr."""

    def decline(request: Elicitation) -> ElicitationAnswer:
        print(
            f"MCP server {request.server!r} asked {request.message!r}; declined: there is no "
            "terminal to answer on (run llmchat chat without a message to answer in the chat).",
            file=sys.stderr,
        )
        return ElicitationAnswer.decline()

    return MCPHandlers(on_elicit=decline)


def one_shot_handlers(con: Console | None) -> MCPHandlers:
    """For ``llmchat chat MESSAGE``: a form on a terminal, else declining."""
    if con is None or sys.stdin is None or not sys.stdin.isatty():
        return declining_handlers()
    from prompt_toolkit import PromptSession

    return form_handlers(PromptSession(), con)


def form_handlers(prompt: PromptSession[str], con: Console) -> MCPHandlers:
    """Handlers that ask the person in the REPL, a field at a time."""

    async def ask(request: Elicitation) -> ElicitationAnswer:
        with _live_paused(con):
            try:
                return await _form(prompt, con, request)
            except _Stop as stop:
                return ElicitationAnswer(stop.action)  # type: ignore[arg-type]
            except (KeyboardInterrupt, EOFError):
                con.print("[dim]Cancelled.[/dim]")
                return ElicitationAnswer.cancel()

    return MCPHandlers(on_elicit=ask)


async def _form(
    prompt: PromptSession[str], con: Console, request: Elicitation
) -> ElicitationAnswer:
    from rich.markup import escape

    during = f" (for its tool {request.tool})" if request.tool else ""
    con.print(f"[bold]MCP server {escape(request.server)}{escape(during)} asks:[/bold]")
    con.print(request.message, markup=False)
    if request.url is not None:
        con.print(f"It wants you to open: {request.url}", markup=False)
        answer = await prompt.prompt_async("Go on? [y/N] ")
        if answer.strip().lower() in _TRUE:
            return ElicitationAnswer.accept()
        return ElicitationAnswer.decline()
    con.print("[dim]Type /decline or /cancel to answer no; Enter skips an optional field.[/dim]")
    content: dict[str, Any] = {}
    required = set(request.required)
    for name, schema in request.fields.items():
        value = await _field(prompt, con, name, schema, name in required)
        if value is not None:
            content[name] = value
    return ElicitationAnswer.accept(content)


async def _field(
    prompt: PromptSession[str], con: Console, name: str, schema: dict[str, Any], required: bool
) -> Any:
    label = schema.get("title") or name
    hint = _hint(schema, required)
    if schema.get("description"):
        con.print(f"[dim]{schema['description']}[/dim]", markup=False)
    default = schema.get("default")
    while True:
        text = (await prompt.prompt_async(f"{label} ({hint}): ")).strip()
        if text in ("/decline", "/cancel"):
            raise _Stop(text[1:])
        if not text:
            if default is not None:
                return default
            if not required:
                return None
            con.print("This field is required.", style="red")
            continue
        try:
            return parse_value(text, schema)
        except ValueError as exc:
            con.print(str(exc), style="red", markup=False)


def parse_value(text: str, schema: dict[str, Any]) -> Any:
    """A typed answer to one field from what the person typed.

    Raises:
        ValueError: it does not fit the field (the message says why).
    """
    options = _choices(schema)
    if options:
        if text.isdigit() and 1 <= int(text) <= len(options) and text not in options:
            return options[int(text) - 1]
        if text not in options:
            raise ValueError(f"Choose one of: {', '.join(options)}.")
        return text
    kind = schema.get("type", "string")
    value: Any = text
    if kind == "boolean":
        if text.lower() not in _TRUE | _FALSE:
            raise ValueError("Answer yes or no.")
        value = text.lower() in _TRUE
    elif kind in ("integer", "number"):
        try:
            value = int(text) if kind == "integer" else float(text)
        except ValueError:
            wanted = "a whole number" if kind == "integer" else "a number"
            raise ValueError(f"Give {wanted}.") from None
    from jsonschema import Draft202012Validator

    error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    if error is not None:
        raise ValueError(f"That does not fit: {error.message}.")
    return value


def _choices(schema: dict[str, Any]) -> list[str]:
    if isinstance(schema.get("enum"), list):
        return [str(v) for v in schema["enum"]]
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list):
            return [str(o["const"]) for o in schema[key] if isinstance(o, dict) and "const" in o]
    return []


def _hint(schema: dict[str, Any], required: bool) -> str:
    options = _choices(schema)
    kind = " or ".join(f"{i}={o}" for i, o in enumerate(options, 1)) if options else None
    kind = kind or {"boolean": "yes/no", "integer": "whole number"}.get(
        schema.get("type", ""), schema.get("type", "text")
    )
    parts = [str(kind).replace("string", "text")]
    if "default" in schema:
        parts.append(f"default {schema['default']}")
    elif not required:
        parts.append("optional")
    return ", ".join(parts)


@contextmanager
def _live_paused(con: Console) -> Iterator[None]:
    """Stop a streaming reply's Live view while the form asks (it would redraw over it)."""
    lives = list(getattr(con, "_live_stack", ()))  # Rich keeps no public list of them
    for live in reversed(lives):
        live.stop()
    try:
        yield
    finally:
        for live in lives:
            live.start()
