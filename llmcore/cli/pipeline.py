"""``llmchat pipeline``: the pipeline definitions and what each stage is built with."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from llmcore.cli._common import console, echo_json, json_option, load_resolved, table

if TYPE_CHECKING:
    from llmcore.config.loader import ResolvedConfig
    from llmcore.pipeline.definition import PipelineDefinition, StageSpec

__all__ = ["pipeline_group", "stage_options"]


def _search_paths(resolved: ResolvedConfig) -> list[Path]:
    from llmcore.pipeline import PipelineLoader
    from llmcore.services import Services

    # Services opens nothing until asked; the loader's search order is the one chat uses.
    return PipelineLoader(Services(resolved.config), resolved.config.pipelines.paths).search_paths


@click.group("pipeline")
def pipeline_group() -> None:
    """Show the pipeline definitions a chat turn can run."""


@pipeline_group.command("list")
@json_option
@click.pass_context
def list_pipelines(ctx: click.Context, as_json: bool) -> None:
    """List the pipeline definitions found, in search order (a name found first wins)."""
    from llmcore.exceptions import PipelineError
    from llmcore.pipeline.definition import load_definition

    resolved = load_resolved(ctx)
    paths = _search_paths(resolved)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for folder in paths:
        for file in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            if file.stem in seen:
                continue
            seen.add(file.stem)
            row: dict[str, Any] = {"name": file.stem, "source": str(file), "error": None}
            try:
                definition = load_definition(file.stem, paths)
                row["description"] = definition.description
                row["stages"] = definition.stage_names
            except PipelineError as exc:
                row.update(description="", stages=[], error=str(exc))
            row["default"] = file.stem == resolved.config.pipelines.default
            rows.append(row)
    if as_json:
        echo_json(rows)
        return

    grid = table("Name", "Stages", "Description", "Source")
    for row in rows:
        name = f"{row['name']} (default)" if row["default"] else row["name"]
        about = f"[red]invalid: {row['error']}[/red]" if row["error"] else row["description"]
        grid.add_row(name, str(len(row["stages"])), about, row["source"])
    console().print(grid)


@pipeline_group.command("show")
@click.argument("name", required=False)
@json_option
@click.pass_context
def show_pipeline(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Show pipeline NAME's stages in order, with each option and where it comes from.

    NAME defaults to the configured default pipeline ([pipelines] default).
    """
    from llmcore.pipeline.definition import load_definition

    resolved = load_resolved(ctx)
    name = name or resolved.config.pipelines.default
    definition = load_definition(name, _search_paths(resolved))
    # Where chat finds a stage's package: next to the definition, then the config files.
    search = [Path(definition.source).parent, *(path.parent for path in resolved.files)]
    stages = [_describe(spec, definition, search) for spec in definition.stages]
    if as_json:
        echo_json(
            {
                "name": definition.name,
                "source": definition.source,
                "description": definition.description,
                "extends": definition.extends,
                "stages": stages,
            }
        )
        return
    _print_pipeline(definition, stages)


def _describe(
    spec: StageSpec, definition: PipelineDefinition, search: list[Path]
) -> dict[str, Any]:
    from llmcore.pipeline.registry import resolve_stage
    from llmcore.pipeline.runner import is_wrapping

    factory = resolve_stage(spec.stage, stage=spec.name, definition=definition.name, search=search)
    return {
        "name": spec.name,
        "stage": spec.stage,
        "origin": spec.origin,
        "wraps": is_wrapping(factory),
        "options": stage_options(spec, definition.name, search),
    }


def stage_options(
    spec: StageSpec, definition: str, search: list[Path] | None = None
) -> list[dict[str, Any]]:
    """A stage's options: those the definition sets (from its file), then the defaults.

    ``search``: folders to find the stage's package in, as chat does.

    Raises:
        PipelineError: the stage cannot be found or imported.
    """
    from llmcore.pipeline.registry import resolve_stage

    factory = resolve_stage(spec.stage, stage=spec.name, definition=definition, search=search or ())
    options = [
        {"name": key, "value": value, "source": spec.origin} for key, value in spec.options.items()
    ]
    if inspect.iscoroutinefunction(factory) or not callable(factory):
        return options
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return options
    for param in params:
        if param.kind is param.KEYWORD_ONLY and param.name not in spec.options:
            default = None if param.default is param.empty else param.default
            source = "required" if param.default is param.empty else "stage default"
            options.append({"name": param.name, "value": default, "source": source})
    return options


def _print_pipeline(definition: PipelineDefinition, stages: list[dict[str, Any]]) -> None:
    from rich.markup import escape

    con = console()
    extends = f", extends {definition.extends}" if definition.extends else ""
    con.print(f"[bold]{escape(definition.name)}[/bold] ({escape(definition.source)}{extends})")
    if definition.description:
        con.print(escape(definition.description))
    grid = table("#", "Stage", "Built from", "Options (source)")
    for i, stage in enumerate(stages, 1):
        lines = [
            f"{o['name']} = {escape(repr(o['value']))} [dim]({escape(_short(o['source']))})[/dim]"
            for o in stage["options"]
        ]
        built = stage["stage"] if stage["stage"] == stage["name"] else f"[b]{stage['stage']}[/b]"
        name = stage["name"] + (" [dim](wraps the stages after it)[/dim]" if stage["wraps"] else "")
        grid.add_row(str(i), name, built, "\n".join(lines) or "[dim]none[/dim]")
    con.print(grid)


def _short(source: str) -> str:
    """A definition file as its name, other sources as they are."""
    return Path(source).name if source.endswith(".toml") else source
