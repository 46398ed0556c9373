"""Find and build stages by name.

A stage is named by its built-in registry name (``select_history``), by a
``package.module:Object`` path, or by the name of an entry point in the
``llmcore.stages`` group. The object found is a stage class (or any
callable returning a stage), or an ``async def stage(turn)`` function.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmcore._util.loading import import_object, load_entry_point
from llmcore.config.suggest import did_you_mean
from llmcore.exceptions import LLMCoreError, PipelineError
from llmcore.pipeline.runner import is_wrapping
from llmcore.pipeline.stage import AnyStage

if TYPE_CHECKING:
    from llmcore.services import Services

__all__ = ["BUILTIN_STAGES", "build_stage", "resolve_stage"]

BUILTIN_STAGES: dict[str, str] = {
    "load_session": "llmcore.stages.load_session:LoadSession",
    "embed_query": "llmcore.stages.embed_query:EmbedQuery",
    "retrieve": "llmcore.stages.retrieve:Retrieve",
    "select_history": "llmcore.stages.select_history:SelectHistory",
    "truncate": "llmcore.stages.truncate:Truncate",
    "format_mcp": "llmcore.stages.format_mcp:FormatMCP",
    "call_provider": "llmcore.stages.call_provider:CallProvider",
    "persist": "llmcore.stages.persist:Persist",
}


def resolve_stage(ref: str, *, stage: str, definition: str, search: Sequence[Path] = ()) -> Any:
    """Return the object a stage reference names.

    A ``package.module:Object`` that Python cannot find is looked for in the
    ``search`` folders too (the pipeline file's and the config file's), so
    ``llmchat`` finds ``my_app/`` next to them without ``PYTHONPATH``.

    Raises:
        PipelineError: nothing by that name can be found or imported.
    """
    if ref in BUILTIN_STAGES:
        return import_object(BUILTIN_STAGES[ref])
    if ":" in ref or "." in ref:
        try:
            return _import_near(ref, search)
        except (ImportError, AttributeError) as exc:
            raise PipelineError(
                f"Pipeline {definition!r}: stage {stage!r} refers to {ref!r}, which cannot be "
                f"imported ({exc}). Check the module path and that its package is installed.",
                stage=stage,
                definition=definition,
            ) from exc
    found = load_entry_point("llmcore.stages", ref)
    if found is not None:
        return found
    raise PipelineError(
        f"Pipeline {definition!r}: unknown stage {ref!r}.{did_you_mean(ref, BUILTIN_STAGES)} "
        f"Built-in stages: {', '.join(BUILTIN_STAGES)}; or name a 'package.module:Object' "
        "or an 'llmcore.stages' entry point.",
        stage=stage,
        definition=definition,
    )


def _import_near(ref: str, search: Sequence[Path]) -> Any:
    top = ref.partition(":")[0].split(".")[0]
    try:
        return import_object(ref)
    except ModuleNotFoundError as exc:
        folders = [str(f) for f in search if (f / top).is_dir() or (f / f"{top}.py").is_file()]
        if exc.name != top or not folders:
            raise
    # Appended, not prepended: what is installed keeps precedence over a folder's code.
    sys.path.extend(f for f in dict.fromkeys(folders) if f not in sys.path)
    return import_object(ref)


def build_stage(
    ref: str,
    options: dict[str, Any],
    services: Services,
    *,
    stage: str,
    definition: str,
    search: Sequence[Path] = (),
) -> AnyStage:
    """Build the stage ``ref`` names with its options.

    ``search``: folders to find a ``package.module`` in (see :func:`resolve_stage`).

    Raises:
        PipelineError: the stage cannot be found, rejects an option, or is
            not a stage (an object with an async ``__call__(turn)``).
    """
    factory = resolve_stage(ref, stage=stage, definition=definition, search=search)
    where = f"Pipeline {definition!r}, stage {stage!r}"
    if inspect.iscoroutinefunction(factory):
        if options:
            raise PipelineError(
                f"{where}: {ref!r} is a plain async function and takes no options "
                f"(got {', '.join(sorted(options))}). Write a stage class to accept options.",
                stage=stage,
                definition=definition,
            )
        # The runner's rule, so a keyword-only option (``*, verbose=False``) is not call_next.
        if is_wrapping(factory):
            return _WrappingFunctionStage(stage, factory)
        return _FunctionStage(stage, factory)
    if not callable(factory):
        raise PipelineError(
            f"{where}: {ref!r} is not a stage class.", stage=stage, definition=definition
        )
    kwargs = dict(options)
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if "services" in params:
        kwargs["services"] = services
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in options if k not in params and not accepts_any]
    if unknown:
        known = [n for n, p in params.items() if n != "services" and p.kind is p.KEYWORD_ONLY]
        hint = did_you_mean(unknown[0], known)
        raise PipelineError(
            f"{where}: unknown option {unknown[0]!r}.{hint} Options of {ref!r}: "
            f"{', '.join(known) or 'none'}.",
            stage=stage,
            definition=definition,
        )
    try:
        built = factory(**kwargs)
    except (TypeError, ValueError, LLMCoreError) as exc:
        raise PipelineError(
            f"{where}: bad options: {exc}", stage=stage, definition=definition
        ) from exc
    if not callable(built) or not inspect.iscoroutinefunction(built.__call__):
        raise PipelineError(
            f"{where}: {ref!r} did not build a stage (an object with "
            "'async def __call__(self, turn)' or 'async def __call__(self, turn, call_next)').",
            stage=stage,
            definition=definition,
        )
    return built  # type: ignore[no-any-return]


class _FunctionStage:
    """Adapts ``async def stage(turn)`` to the Stage protocol."""

    def __init__(self, name: str, fn: Any):
        self.name = name
        self._fn = fn

    async def __call__(self, turn: Any) -> None:
        await self._fn(turn)


class _WrappingFunctionStage:
    """Adapts ``async def stage(turn, call_next)`` to a wrapping stage."""

    def __init__(self, name: str, fn: Any):
        self.name = name
        self._fn = fn

    async def __call__(self, turn: Any, call_next: Any) -> None:
        await self._fn(turn, call_next)
