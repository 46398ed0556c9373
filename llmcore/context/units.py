"""History units: the pieces of history that are kept or dropped whole.

A unit starts at a user message and runs up to the next one, so a question
stays with its answer, and an assistant's tool call stays with the tool
results and the reply that follow it. Messages before the first user message
(a session that starts with an assistant greeting) form their own unit.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmcore.models import Message, Role

__all__ = ["flatten", "group_units"]


def group_units(messages: Sequence[Message]) -> list[list[Message]]:
    """Split messages (oldest first) into units, oldest first."""
    units: list[list[Message]] = []
    for message in messages:
        if message.role is Role.USER or not units:
            units.append([message])
        else:
            units[-1].append(message)
    return units


def flatten(units: Sequence[Sequence[Message]]) -> list[Message]:
    """The messages of the units, in order."""
    return [m for unit in units for m in unit]
