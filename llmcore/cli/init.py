"""``llmchat init``: write the user's config file from the few choices a person makes.

The provider (the local model when ``llmcore[local]`` is installed, else
OpenAI), its model, and where sessions are kept. On a terminal each choice
is asked with the default shown; ``--yes`` (or no terminal) takes the
options and defaults as they are. The file written is loaded back before
the command ends, so it is always valid, and an existing file is never
overwritten without ``--force``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from llmcore.cli._common import default_config_path

if TYPE_CHECKING:
    from llmcore.config.schema import ProviderSettings

__all__ = ["init_command"]

PROVIDERS = ("local", "openai", "anthropic", "gemini", "ollama")
STORES = ("sqlite", "json", "postgres")
#: Where each session store keeps its data by default.
STORE_PATHS = {"sqlite": "~/.llmcore/sessions.db", "json": "~/.llmcore/sessions"}
#: The variable each provider's key is read from (the SDK's own also works).
KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
}


def local_installed() -> bool:
    """Whether the local provider can run here (llama-cpp-python is installed)."""
    return importlib.util.find_spec("llama_cpp") is not None


@click.command("init")
@click.option("-p", "--provider", type=click.Choice(PROVIDERS), help="The default provider.")
@click.option("-m", "--model", metavar="NAME", help="Its default model.")
@click.option("--sessions", "store", type=click.Choice(STORES), help="Where sessions are kept.")
@click.option("--db-url", metavar="URL", help="The PostgreSQL URL (with --sessions postgres).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (default: ~/.config/llmcore/config.toml, or --config).",
)
@click.option("-y", "--yes", is_flag=True, help="Ask nothing: take the options and defaults.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_context
def init_command(
    ctx: click.Context,
    provider: str | None,
    model: str | None,
    store: str | None,
    db_url: str | None,
    output: Path | None,
    yes: bool,
    force: bool,
) -> None:
    """Write a config file with your provider, model and session store.

    llmchat (and LLMCore) read it from then on; every other setting keeps
    its default (llmchat config show lists them).
    """
    explicit = (ctx.find_root().obj or {}).get("config_file")
    path = (output or (Path(explicit) if explicit else default_config_path())).expanduser()
    if path.exists() and not force:
        raise click.ClickException(
            f"{path} exists already; edit it, or pass --force to replace it."
        )
    ask = not yes and sys.stdin.isatty()
    provider = provider or _ask(
        ask, "Provider", "local" if local_installed() else "openai", PROVIDERS
    )
    defaults = _defaults(provider)
    model = model or _ask(ask, "Model", defaults.default_model or "")
    store = store or _ask(ask, "Sessions", "sqlite", STORES)
    if store == "postgres" and not db_url:
        if not ask:
            raise click.UsageError("--sessions postgres needs --db-url postgresql://...")
        db_url = click.prompt("PostgreSQL URL", hide_input=True)
    from llmcore.providers.models import check_model_name

    check_model_name(provider, defaults, model)
    text = config_text(provider, model, store, db_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    from llmcore.config.loader import load_config

    load_config(file_path=path, env_prefix=None, user_config=False)  # what was written is valid
    click.echo(f"Wrote {path}: provider {provider} ({model}), sessions in {store}.")
    variable = KEY_VARIABLES.get(provider)
    if variable:
        click.echo(f"Set your key in the environment: export {variable}=...")
    click.echo('Try: llmchat chat "Hello!"')


def _ask(ask: bool, label: str, default: str, choices: tuple[str, ...] | None = None) -> str:
    if not ask:
        return default
    kind = click.Choice(choices) if choices else None
    return str(click.prompt(label, default=default, type=kind, show_choices=bool(choices)))


def _defaults(provider: str) -> ProviderSettings:
    """The packaged defaults of ``provider``: never the user's file, which
    ``--force`` may be here to replace because it is broken."""
    from llmcore.config.loader import load_config

    return load_config(env_prefix=None, user_config=False).config.providers[provider]


def config_text(provider: str, model: str, store: str, db_url: str | None) -> str:
    """The TOML file ``llmchat init`` writes."""

    def q(value: str) -> str:
        return json.dumps(value)  # a JSON string is a TOML basic string

    lines = [
        "# Written by llmchat init. Every key: docs/reference/configuration.md;",
        "# llmchat config show lists each setting and where it comes from.",
        "",
        "[llmcore]",
        f"default_provider = {q(provider)}",
        "",
        f"[providers.{provider}]",
        f"default_model = {q(model)}",
        "",
        "[storage.session]",
        f"type = {q(store)}",
    ]
    if store == "postgres":
        lines.append(f"db_url = {q(db_url or '')}")
    else:
        lines.append(f"path = {q(STORE_PATHS[store])}")
    return "\n".join(lines) + "\n"
