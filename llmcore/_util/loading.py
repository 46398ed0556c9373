"""Find objects by ``package.module:Object`` path or entry point name."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["import_object", "load_entry_point"]


def import_object(path: str) -> Any:
    """Import ``package.module:Object`` (or ``package.module.Object``).

    Raises:
        ImportError: the module cannot be imported.
        AttributeError: the module has no such object.
    """
    if ":" in path:
        module_name, _, attr = path.partition(":")
    else:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ImportError(f"{path!r} is not of the form 'package.module:Object'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load_entry_point(group: str, name: str) -> Any | None:
    """Load the entry point ``name`` of ``group``, or return None if absent."""
    from importlib.metadata import entry_points  # costs ~20 ms: only when needed

    for ep in entry_points(group=group, name=name):
        return ep.load()
    return None
