"""Near-miss suggestions for unknown names ("did you mean ...?")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from llmcore.exceptions import ConfigError

__all__ = ["did_you_mean", "unknown_name_error"]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def unknown_name_error(kind: str, name: str, choices: Iterable[str], section: str) -> ConfigError:
    """Build the ConfigError for a name that is not configured."""
    known = sorted(choices)
    listed = ", ".join(known) if known else "none"
    return ConfigError(
        f"No {kind} named {name!r} is configured (configured: {listed})."
        f"{did_you_mean(name, known)} Add a [{section}.{name}] section to your config file.",
        key=f"{section}.{name}",
    )
