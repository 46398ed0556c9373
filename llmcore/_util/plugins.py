"""One way to find a pluggable class: built in, ``package.module:Class``, or an entry point.

Providers, session stores and vector stores are all found the same way from
their ``type`` setting (``llm``'s lesson: built-ins are plugins too): a
built-in name first, then an import path with a colon, then an entry point
of the kind's group registered by an installed package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmcore._util.loading import import_object, load_entry_point
from llmcore.config.suggest import did_you_mean
from llmcore.exceptions import ConfigError

__all__ = ["build_plugin", "find_plugin"]


def find_plugin(
    kind: str,
    *,
    builtins: Mapping[str, str],
    group: str,
    base: type,
    key: str,
    what: str,
) -> Any:
    """The class ``kind`` names.

    Raises:
        ConfigError: nothing by that name, an import path that fails, or a
            class that does not derive from ``base``; the message names ``key``.
    """
    if kind in builtins:
        found = import_object(builtins[kind])
    elif ":" in kind:
        try:
            found = import_object(kind)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"{key} is {kind!r}, which cannot be imported ({exc}). Check the module path "
                "and that its package is installed.",
                key=key,
            ) from exc
    else:
        found = load_entry_point(group, kind)
        if found is None:
            raise ConfigError(
                f"{key} is {kind!r}, an unknown {what} type.{did_you_mean(kind, builtins)} "
                f"Built-in types: {', '.join(builtins)}; or name a 'package.module:Class', or an "
                f"entry point of the {group!r} group from an installed package.",
                key=key,
            )
    if not (isinstance(found, type) and issubclass(found, base)):
        raise ConfigError(f"{key} is {kind!r}, which is not a {base.__name__} subclass.", key=key)
    return found


def build_plugin(cls: Any, settings: Any) -> Any:
    """Build a store class from its settings section: ``from_settings``, else the constructor."""
    factory = getattr(cls, "from_settings", None)
    return factory(settings) if callable(factory) else cls(settings)
