"""Pipelines: the Stage protocol, the stage registry, TOML definitions, the runner."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmcore.pipeline.stage import Stage

if TYPE_CHECKING:
    from llmcore.pipeline.definition import PipelineDefinition, StageSpec
    from llmcore.pipeline.registry import BUILTIN_STAGES
    from llmcore.pipeline.runner import Pipeline
    from llmcore.services import Services

__all__ = [
    "BUILTIN_STAGES",
    "Pipeline",
    "PipelineDefinition",
    "PipelineLoader",
    "Stage",
    "StageSpec",
    "builtin_pipelines_dir",
]


_LAZY = {
    "BUILTIN_STAGES": "llmcore.pipeline.registry",
    "Pipeline": "llmcore.pipeline.runner",
    "PipelineDefinition": "llmcore.pipeline.definition",
    "StageSpec": "llmcore.pipeline.definition",
}


def __getattr__(name: str) -> Any:
    # `from llmcore import Stage` imports this package; keep that import cheap.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'llmcore.pipeline' has no attribute {name!r}")


def builtin_pipelines_dir() -> Path:
    """The folder of the definitions that ship with llmcore (``default``...)."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_pipelines"  # inside an installed wheel
    return packaged if packaged.is_dir() else here.parent / "pipelines"  # a source checkout


class PipelineLoader:
    """Loads definitions by name and builds them once, with shared Services.

    Folders are searched in order: each of ``[pipelines] paths``, then the
    built-in definitions, so a user file can shadow a built-in name. A
    stage's ``package.module`` that is not importable is looked for next to
    the definition file, then in ``code_folders`` (the config files' folders).
    """

    def __init__(self, services: Services, paths: list[str], code_folders: Sequence[Path] = ()):
        self.services = services
        self.search_paths = [Path(p).expanduser() for p in paths] + [builtin_pipelines_dir()]
        self.code_folders = list(code_folders)
        self._built: dict[str, Pipeline] = {}

    def definition(self, name: str) -> PipelineDefinition:
        """Load (and resolve) the definition called ``name``."""
        from llmcore.pipeline.definition import load_definition

        return load_definition(name, self.search_paths)

    def load(self, name: str) -> Pipeline:
        """Return the built pipeline ``name``, building it on first use.

        Raises:
            PipelineError: the definition or one of its stages is invalid.
        """
        from llmcore.observability import Telemetry
        from llmcore.pipeline.registry import build_stage
        from llmcore.pipeline.runner import Pipeline

        pipeline = self._built.get(name)
        if pipeline is None:
            definition = self.definition(name)
            search = [Path(definition.source).parent, *self.code_folders]
            stages = [
                (
                    spec.name,
                    build_stage(
                        spec.stage,
                        spec.options,
                        self.services,
                        stage=spec.name,
                        definition=definition.name,
                        search=search,
                    ),
                )
                for spec in definition.stages
            ]
            telemetry = Telemetry(self.services.config)
            pipeline = self._built[name] = Pipeline(definition, stages, telemetry=telemetry)
        return pipeline
