"""Helpers every llmchat command shares: the config file, LLMCore, output.

Only Click is imported at module level; Rich, anyio and :mod:`llmcore.api`
are imported inside the functions, so ``llmchat --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from llmcore.api import LLMCore
    from llmcore.config.loader import ResolvedConfig

__all__ = [
    "console",
    "default_config_path",
    "echo_json",
    "json_option",
    "load_resolved",
    "open_llm",
    "parse_kv",
    "resolve_config_file",
    "run",
    "table",
]

T = TypeVar("T")

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON instead of a table (for scripts)."
)


def default_config_path() -> Path:
    """The user's config file, which the library reads below ``--config``.

    ``$XDG_CONFIG_HOME/llmcore/config.toml`` (``~/.config/llmcore/config.toml``),
    or ``config.json`` in that folder when only that one exists: the
    library's rule, :func:`llmcore.config.user_file.user_config_path`.
    """
    from llmcore.config.user_file import user_config_path

    return user_config_path()


def resolve_config_file(ctx: click.Context) -> str | None:
    """The ``--config`` file, if one was given (LLMCore adds the user's own below it)."""
    obj = ctx.find_root().obj or {}
    explicit: str | None = obj.get("config_file")
    return explicit


@asynccontextmanager
async def open_llm(ctx: click.Context) -> AsyncIterator[LLMCore]:
    """Build the LLMCore a command uses, from the resolved config file."""
    from llmcore.api import LLMCore
    from llmcore.cli.debug import DEBUG_OVERRIDES

    # --debug: LLMCore sets its logger's level from the configuration.
    overrides = DEBUG_OVERRIDES if (ctx.find_root().obj or {}).get("debug") else None
    llm = LLMCore(config_file_path=resolve_config_file(ctx), config_overrides=overrides)
    async with llm:
        yield llm


def run(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run an async command body on the asyncio backend (prompt_toolkit needs it)."""
    import anyio

    return anyio.run(fn, *args)


def console(*, stderr: bool = False) -> Console:
    """A Rich console on stdout (or stderr); plain text when not a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output is for reading by programs and wide pagers: no 80-column cut.
    width = None if stream.isatty() else 400
    return Console(stderr=stderr, highlight=False, width=width)


def table(*headers: str) -> Table:
    """A borderless Rich table whose cells wrap long words instead of cutting them."""
    from rich.table import Table

    grid = Table(box=None, pad_edge=False)
    for header in headers:
        grid.add_column(header, overflow="fold")
    return grid


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (datetimes as ISO strings)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_default))


def _default(value: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(value)


def parse_kv(pairs: tuple[str, ...], *, option: str = "-o") -> dict[str, Any]:
    """Parse ``key=value`` pairs; a value is JSON where it parses, else a string.

    ``temperature=0.2`` gives a float, ``stop=["END"]`` a list, ``user=alex``
    the string ``"alex"``.

    Raises:
        click.BadParameter: a pair has no ``=`` or an empty key.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(
                f"{pair!r} is not key=value (e.g. {option} temperature=0.2).", param_hint=option
            )
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


def load_resolved(ctx: click.Context) -> ResolvedConfig:
    """Load and validate the configuration the way LLMCore does, without building it.

    Diagnostic commands (``config show``, ``pipeline list``) use this so a
    broken pipeline or store does not stop them from showing the settings.

    Raises:
        ConfigError: the configuration is invalid.
    """
    from llmcore.config.loader import load_config

    return load_config(file_path=resolve_config_file(ctx))
