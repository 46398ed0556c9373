"""``llmchat config``: the resolved configuration and where each value comes from."""

from __future__ import annotations

import re
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
REDACTED = "***"
# Free-form maps (an MCP server's env, provider options) may hold secrets too.
_SECRET_NAME = re.compile(r"(api_?key|token|secret|passw(or)?d|credential)", re.IGNORECASE)


def flatten_config(config: Any, prefix: str = "") -> dict[str, Any]:
    """The config as ``{dotted.key: value}``, secrets and URL passwords redacted.

    Sections are walked field by field, so each section's own list of
    secret fields decides what is hidden (the same rule as its repr).
    """
    import msgspec

    from llmcore.config.schema import redact_url

    out: dict[str, Any] = {}
    if isinstance(config, msgspec.Struct):
        secrets = getattr(config, "_secret_fields", ())
        urls = getattr(config, "_url_fields", ())
        for name in config.__struct_fields__:
            value = getattr(config, name)
            key = f"{prefix}{name}"
            if name in secrets and value:
                out[key] = REDACTED
            elif name in urls and isinstance(value, str):
                out[key] = redact_url(value)
            else:
                out.update(flatten_config(value, f"{key}."))
        return out
    if isinstance(config, dict) and config:
        for name, value in config.items():
            out.update(flatten_config(value, f"{prefix}{name}."))
        return out
    key = prefix.rstrip(".")
    secret = config and _SECRET_NAME.search(key.rpartition(".")[2])
    out[key] = REDACTED if secret else msgspec.to_builtins(config)
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
