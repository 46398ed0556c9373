"""The Stage protocols: what the runner calls for each step of a turn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    from llmcore.turn import Turn

__all__ = ["AnyStage", "CallNext", "Stage", "WrappingStage"]

#: What a wrapping stage awaits to run the rest of the pipeline.
CallNext: TypeAlias = Callable[["Turn"], Awaitable[None]]


@runtime_checkable
class Stage(Protocol):
    """One step of a turn.

    A stage is built once per pipeline from its TOML options (and, if its
    constructor takes a ``services`` argument, the shared
    :class:`~llmcore.services.Services`); the constructor validates the
    options, so a bad option fails when the pipeline loads. Calling it does
    its one job on the :class:`~llmcore.turn.Turn`.

    A stage that must act after the rest of the turn, or around it (save
    it, time it, catch its errors), is a :class:`WrappingStage` instead.
    The older form of cleanup, a plain stage with the class attribute
    ``always_run = True`` that runs after a failure and sees it in
    ``turn.error``, still works.

    A stage may declare the parts of the Turn it needs and fills in, as
    class attributes ``reads`` and ``provides`` (tuples of Turn field
    names); a pipeline whose order breaks them fails when it loads.
    """

    name: str

    async def __call__(self, turn: Turn) -> None:
        """Do this stage's job on ``turn``."""
        ...


@runtime_checkable
class WrappingStage(Protocol):
    """A stage that runs the rest of the pipeline itself, like Starlette middleware.

    ``await call_next(turn)`` runs every stage after this one; the code
    before it runs first, the code after it once they are done (in a
    streamed turn, once the caller's stream has ended or was closed). It may
    catch what the later stages raise, or not call them at all. In a
    streamed turn, do not keep a cancel scope (``anyio.fail_after``, a task
    group) open across ``call_next``: the caller's own code runs in between.
    """

    name: str

    async def __call__(self, turn: Turn, call_next: CallNext) -> None:
        """Do this stage's job around ``call_next(turn)``."""
        ...


#: Either form of stage.
AnyStage: TypeAlias = Stage | WrappingStage
