"""The user's own config file: the layer ``LLMCore()`` reads with no arguments.

``$XDG_CONFIG_HOME/llmcore/config.toml``, which is
``~/.config/llmcore/config.toml`` when ``XDG_CONFIG_HOME`` is unset or empty
(the XDG Base Directory rule), or ``config.json`` in that folder when only
that one exists. ``llmchat`` reads the same file through the library, so the
rule lives here only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["user_config_path"]


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The user's config file (it may not exist).

    Args:
        environ: the environment to read ``XDG_CONFIG_HOME`` from
            (default: ``os.environ``).
    """
    env = os.environ if environ is None else environ
    # XDG: a relative XDG_CONFIG_HOME is invalid and must be ignored.
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base).expanduser() if os.path.isabs(os.path.expanduser(base)) else None
    folder = (root or Path.home() / ".config") / "llmcore"
    toml, js = folder / "config.toml", folder / "config.json"
    return js if js.is_file() and not toml.is_file() else toml
