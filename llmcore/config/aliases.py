"""The specification's key names, and renamed keys, read as the schema's.

Each layer read from a file or passed as overrides goes through
:func:`normalize` before it is merged, so a key written the specification's
way lands on the key the schema has, with the layer's precedence:

- ``embedding.NAME.default_model`` is ``embedding.NAME.model`` (an alias:
  the specification's ``[embedding.openai]`` writes ``default_model``);
- ``storage.session.table_name`` and ``storage.vector.table_name`` are the
  old names of ``table_prefix``: every store keeps several tables named
  ``<prefix>_...``, so the value was always a prefix. The old name still
  works (the same value keeps the same tables) with one warning.

An empty ``api_key = ""`` (as the specification's template writes it)
means "not set"; :mod:`llmcore.config.loader` skips it when merging.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from llmcore.exceptions import ConfigError

__all__ = ["RENAMED_STORAGE_KEYS", "normalize"]

logger = logging.getLogger("llmcore.config")

#: ``[storage.X]`` keys that were renamed: old name -> new name.
RENAMED_STORAGE_KEYS = {"table_name": "table_prefix"}


def normalize(layer: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``layer`` with alias and old key names replaced by the schema's.

    Raises:
        ConfigError: a section sets both names of one key to different values.
    """
    out = dict(layer)
    embedding = out.get("embedding")
    if isinstance(embedding, Mapping):
        out["embedding"] = {
            name: _rename(section, "default_model", "model", f"embedding.{name}", source)
            if isinstance(section, Mapping)
            else section
            for name, section in embedding.items()
        }
    storage = out.get("storage")
    if isinstance(storage, Mapping):
        out["storage"] = dict(storage)
        for kind in ("session", "vector"):
            section = storage.get(kind)
            if not isinstance(section, Mapping):
                continue
            for old, new in RENAMED_STORAGE_KEYS.items():
                if old in section:
                    logger.warning(
                        "storage.%s.%s (from %s) is the old name of storage.%s.%s: llmcore "
                        "keeps several tables named <%s>_..., so write %s = %r instead (the "
                        "same value keeps the same tables).",
                        kind,
                        old,
                        source,
                        kind,
                        new,
                        new,
                        new,
                        section[old],
                    )
                section = _rename(section, old, new, f"storage.{kind}", source)
            out["storage"][kind] = section
    return out


def _rename(
    section: Mapping[str, Any], alias: str, key: str, where: str, source: str
) -> dict[str, Any]:
    found = dict(section)
    if alias not in found:
        return found
    value = found.pop(alias)
    if key in found and found[key] != value:
        raise ConfigError(
            f"{where} sets both {key} = {found[key]!r} and {alias} = {value!r} (from {source}); "
            f"they are the same setting. Keep one of them.",
            key=f"{where}.{key}",
            source=source,
        )
    found[key] = value
    return found
