"""Pipeline definitions: TOML files naming stages, in order, with options.

A definition either lists its stages::

    description = "The default chat turn."
    [[stages]]
    name = "load_session"
    [[stages]]
    name = "select_history"
    options = { strategy = "last_n_messages" }

or ``extends`` another one and edits it by stage name::

    extends = "default"
    remove = ["embed_query", "retrieve"]
    [[insert]]
    name = "audit"
    stage = "my_app.stages:Audit"
    after = "call_provider"
    [[replace]]
    name = "select_history"
    stage = "my_app.stages:KeepEverything"
    [[move]]
    name = "truncate"
    before = "select_history"
    [options.persist]
    some_option = 1

Edits apply in the order remove, replace, insert, move, options. A stage
entry's ``stage`` (what to build) defaults to its ``name``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from llmcore.exceptions import PipelineError

__all__ = ["PipelineDefinition", "StageSpec", "find_definition", "load_definition"]


@dataclass(frozen=True, slots=True)
class StageSpec:
    """One stage of a definition.

    Attributes:
        name: its name in the pipeline (unique; used in traces and edits).
        stage: what to build: a registry name, ``module:Object`` or entry point.
        options: keyword arguments for the stage's constructor.
        origin: the definition file that declared or last changed it.
    """

    name: str
    stage: str
    options: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass(frozen=True, slots=True)
class PipelineDefinition:
    """A resolved definition: its stages in order, ``extends`` applied."""

    name: str
    stages: tuple[StageSpec, ...]
    source: str
    description: str = ""
    extends: str | None = None

    @property
    def stage_names(self) -> list[str]:
        """The stages' names, in order."""
        return [s.name for s in self.stages]


class _Entry(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    stage: str | None = None
    options: dict[str, Any] = {}


class _Insert(_Entry, forbid_unknown_fields=True):
    before: str | None = None
    after: str | None = None


class _Move(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    before: str | None = None
    after: str | None = None


class _File(msgspec.Struct, forbid_unknown_fields=True):
    description: str = ""
    extends: str | None = None
    stages: list[_Entry] | None = None
    remove: list[str] = []
    replace: list[_Entry] = []
    insert: list[_Insert] = []
    move: list[_Move] = []
    options: dict[str, dict[str, Any]] = {}


def find_definition(name: str, search_paths: list[Path]) -> Path:
    """Return the file of the definition ``name``: a path, or ``NAME.toml`` in a folder.

    Raises:
        PipelineError: no such definition in any folder searched.
    """
    if name.endswith(".toml"):
        path = Path(name).expanduser()
        if path.is_file():
            return path
        raise PipelineError(f"Pipeline file {name!r} does not exist.", definition=name)
    for folder in search_paths:
        path = folder / f"{name}.toml"
        if path.is_file():
            return path
    known = sorted(
        {p.stem for folder in search_paths if folder.is_dir() for p in folder.glob("*.toml")}
    )
    raise PipelineError(
        f"No pipeline definition named {name!r} (known: {', '.join(known) or 'none'}). Add "
        f"{name}.toml to a folder listed in pipelines.paths.",
        definition=name,
    )


def load_definition(name: str, search_paths: list[Path]) -> PipelineDefinition:
    """Load a definition by name (or path), resolving ``extends``.

    Raises:
        PipelineError: the file is missing or malformed, ``extends`` forms a
            cycle, or an edit names a stage that is not there.
    """
    return _load(name, search_paths, ())


def _load(name: str, search_paths: list[Path], chain: tuple[str, ...]) -> PipelineDefinition:
    path = find_definition(name, search_paths)
    key = str(path.resolve())
    if key in chain:
        names = " -> ".join([*(Path(c).stem for c in chain), path.stem])
        raise PipelineError(
            f"Pipeline definitions extend each other in a cycle: {names}.", definition=name
        )
    spec = _parse(path, name)
    if spec.extends is not None:
        if spec.stages is not None:
            raise PipelineError(
                f"Pipeline {name!r} ({path}) both extends {spec.extends!r} and lists [[stages]]; "
                "use one or the other.",
                definition=name,
            )
        parent_paths = [path.parent, *search_paths]
        try:
            find_definition(spec.extends, parent_paths)
        except PipelineError as exc:
            raise PipelineError(
                f"Pipeline {name!r} extends {spec.extends!r}: {exc}", definition=name
            ) from None
        base = _load(spec.extends, parent_paths, (*chain, key))
        stages = list(base.stages)
    else:
        stages = [_spec(e, str(path)) for e in (spec.stages or [])]
        if not stages:
            raise PipelineError(f"Pipeline {name!r} ({path}) has no stages.", definition=name)
    stages = _apply_edits(stages, spec, name, str(path))
    return PipelineDefinition(
        name=path.stem if name.endswith(".toml") else name,
        stages=tuple(stages),
        source=str(path),
        description=spec.description,
        extends=spec.extends,
    )


def _parse(path: Path, name: str) -> _File:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PipelineError(
            f"Pipeline {name!r}: cannot read {path}: {exc}", definition=name
        ) from exc
    try:
        return msgspec.convert(raw, _File)
    except msgspec.ValidationError as exc:
        raise PipelineError(
            f"Pipeline {name!r} ({path}) is malformed: {exc}. Allowed top-level keys: description, "
            "extends, stages, remove, replace, insert, move, options.",
            definition=name,
        ) from exc


def _spec(entry: _Entry, origin: str) -> StageSpec:
    return StageSpec(entry.name, entry.stage or entry.name, dict(entry.options), origin)


def _index(stages: list[StageSpec], target: str, name: str, action: str) -> int:
    for i, s in enumerate(stages):
        if s.name == target:
            return i
    raise PipelineError(
        f"Pipeline {name!r}: cannot {action} {target!r}: there is no stage by that name "
        f"(stages: {', '.join(s.name for s in stages)}).",
        stage=target,
        definition=name,
    )


def _position(stages: list[StageSpec], entry: _Insert | _Move, name: str) -> int:
    if (entry.before is None) == (entry.after is None):
        raise PipelineError(
            f"Pipeline {name!r}: stage {entry.name!r} needs exactly one of 'before' or 'after'.",
            stage=entry.name,
            definition=name,
        )
    if entry.before is not None:
        return _index(stages, entry.before, name, "place a stage before")
    assert entry.after is not None
    return _index(stages, entry.after, name, "place a stage after") + 1


def _apply_edits(stages: list[StageSpec], spec: _File, name: str, origin: str) -> list[StageSpec]:
    for target in spec.remove:
        del stages[_index(stages, target, name, "remove")]
    for entry in spec.replace:
        stages[_index(stages, entry.name, name, "replace")] = _spec(entry, origin)
    for ins in spec.insert:
        if any(s.name == ins.name for s in stages):
            raise PipelineError(
                f"Pipeline {name!r}: cannot insert {ins.name!r}: a stage by that name exists; "
                "give the new stage another name, or use [[replace]].",
                stage=ins.name,
                definition=name,
            )
        stages.insert(_position(stages, ins, name), _spec(ins, origin))
    for mv in spec.move:
        moving = stages.pop(_index(stages, mv.name, name, "move"))
        stages.insert(_position(stages, mv, name), moving)
    for target, options in spec.options.items():
        i = _index(stages, target, name, "set options of")
        old = stages[i]
        stages[i] = StageSpec(old.name, old.stage, {**old.options, **options}, origin)
    seen: set[str] = set()
    for s in stages:
        if s.name in seen:
            raise PipelineError(
                f"Pipeline {name!r}: two stages are named {s.name!r}; names must be unique.",
                stage=s.name,
                definition=name,
            )
        seen.add(s.name)
    return stages
