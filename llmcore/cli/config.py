"""``llmchat config``: the resolved configuration and where each value comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from llmcore.cli._common import (
    console,
    default_config_path,
    echo_json,
    json_option,
    load_resolved,
    resolve_config_file,
    table,
)

__all__ = ["config_group", "flatten_config"]

#: The source shown for a key no layer set: the schema's own default.
SCHEMA_DEFAULT = "built-in default"


def flatten_config(config: Any) -> dict[str, Any]:
    """The config as ``{dotted.key: value}``, with secrets hidden.

    The config is first redacted by the one rule every repr, error and log
    uses (:func:`llmcore._util.redact.redact`), then flattened; an empty
    map or a list is one leaf.
    """
    from llmcore._util.redact import redact

    out: dict[str, Any] = {}

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, dict) and value:
            for name, item in value.items():
                walk(item, f"{prefix}{name}.")
        else:
            out[prefix.rstrip(".")] = value

    walk(redact(config), "")
    return out


@click.group("config")
def config_group() -> None:
    """Show the resolved configuration, or the config file's path."""


@config_group.command("show")
@click.argument("prefix", required=False)
@json_option
@click.pass_context
def show_config(ctx: click.Context, prefix: str | None, as_json: bool) -> None:
    """Show every setting, its value (secrets redacted) and the layer it came from.

    PREFIX limits the output to keys under it, e.g. ``providers.openai``.
    """
    resolved = load_resolved(ctx)
    rows = [
        {"key": key, "value": value, "source": resolved.sources.get(key, SCHEMA_DEFAULT)}
        for key, value in flatten_config(resolved.config).items()
        if prefix is None or key == prefix or key.startswith(f"{prefix.rstrip('.')}.")
    ]
    if prefix is not None and not rows:
        raise click.BadParameter(f"no setting is named {prefix!r} or starts with it.")
    if as_json:
        echo_json(rows)
        return
    import json

    from rich.markup import escape

    grid = table("Key", "Value", "Source")
    for row in rows:
        value = json.dumps(row["value"], ensure_ascii=False)
        grid.add_row(row["key"], escape(value), f"[dim]{escape(row['source'])}[/dim]")
    console().print(grid)


@config_group.command("path")
@json_option
@click.pass_context
def config_path(ctx: click.Context, as_json: bool) -> None:
    """Print the config file llmchat reads (--config, else the default location)."""
    explicit = resolve_config_file(ctx)
    path = Path(explicit) if explicit else default_config_path()
    if as_json:
        echo_json(
            {
                "path": str(path),
                "exists": path.is_file(),
                "default": str(default_config_path()),
                "dotenv": str(Path(".env").resolve()),
            }
        )
        return
    click.echo(str(path))
    if not path.is_file():
        click.echo("(it does not exist yet; create it to configure llmchat)", err=True)
