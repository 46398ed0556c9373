"""Per-call context settings: ``context_overrides`` over ``[context_management]``."""

from __future__ import annotations

from typing import Any

from llmcore.config.schema import ContextSettings
from llmcore.turn import Turn

__all__ = ["context_setting"]


def context_setting(turn: Turn, settings: ContextSettings, key: str) -> Any:
    """The value of ``key`` for this turn: the call's override, else the config's."""
    if key in turn.context_overrides:
        return turn.context_overrides[key]
    return getattr(settings, key)
