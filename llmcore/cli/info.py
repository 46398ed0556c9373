"""``llmchat providers`` and ``llmchat models``: what can be chatted with."""

from __future__ import annotations

from typing import Any

import click

from llmcore.cli._common import console, echo_json, json_option, load_resolved, open_llm, run, table

__all__ = ["models_command", "providers_command"]


@click.command("providers")
@json_option
@click.pass_context
def providers_command(ctx: click.Context, as_json: bool) -> None:
    """List the configured providers (API keys are never shown)."""
    config = load_resolved(ctx).config
    rows: list[dict[str, Any]] = []
    for name in sorted(config.providers):
        settings = config.providers[name]
        rows.append(
            {
                "name": name,
                "type": settings.type or name,
                "default_model": settings.default_model,
                "base_url": settings.base_url,
                "api_key_set": bool(settings.api_key),
                "default": name == config.llmcore.default_provider,
            }
        )
    if as_json:
        echo_json(rows)
        return

    grid = table("Name", "Type", "Default model", "Base URL", "API key")
    for row in rows:
        name = f"{row['name']} (default)" if row["default"] else row["name"]
        key = "set" if row["api_key_set"] else "-"
        grid.add_row(name, row["type"], row["default_model"] or "-", row["base_url"] or "-", key)
    console().print(grid)


@click.command("models")
@click.argument("provider", required=False)
@json_option
@click.pass_context
def models_command(ctx: click.Context, provider: str | None, as_json: bool) -> None:
    """List PROVIDER's models (default: the default provider), from its API where it has one."""

    async def body() -> tuple[str, str | None, list[str]]:
        async with open_llm(ctx) as llm:
            name = provider or llm.config.llmcore.default_provider
            default = llm.config.provider(name).default_model
            return name, default, await llm.get_models_for_provider(name)

    name, default, models = run(body)
    if as_json:
        echo_json({"provider": name, "default_model": default, "models": models})
        return
    if not models:
        click.echo(f"Provider {name!r} lists no models.", err=True)
    for model in models:
        click.echo(f"{model} (default)" if model == default else model)
