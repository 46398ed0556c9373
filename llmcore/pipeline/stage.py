"""The Stage protocol: what the runner calls for each step of a turn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from llmcore.turn import Turn

__all__ = ["Stage"]


@runtime_checkable
class Stage(Protocol):
    """One step of a turn.

    A stage is built once per pipeline from its TOML options (and, if its
    constructor takes a ``services`` argument, the shared
    :class:`~llmcore.services.Services`); the constructor validates the
    options, so a bad option fails when the pipeline loads. Calling it does
    its one job on the :class:`~llmcore.turn.Turn`.

    A stage that must run even when an earlier stage failed (to save what
    can be saved) sets the class attribute ``always_run = True``; it sees
    the failure in ``turn.error``.
    """

    name: str

    async def __call__(self, turn: Turn) -> None:
        """Do this stage's job on ``turn``."""
        ...
