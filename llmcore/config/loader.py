"""Layered configuration loading.

Layers, lowest precedence first (confy's order):

1. the packaged ``defaults.toml``;
2. the provider SDKs' own variables (``OPENAI_API_KEY``...) as fallbacks;
3. the user's config file, ``$XDG_CONFIG_HOME/llmcore/config.toml``
   (``~/.config/llmcore/config.toml``; see :mod:`llmcore.config.user_file`),
   unless ``user_config=False``;
4. the file given as ``config_file_path`` (TOML or JSON);
5. a ``.env`` file (``LLMCORE_``-prefixed keys);
6. the process environment (``LLMCORE_``-prefixed keys);
7. ``config_overrides`` (dot keys, e.g. ``"providers.openai.timeout"``).

Keys written the specification's way (``embedding.NAME.default_model``,
``storage.*.table_name``) are read as the schema's
(:mod:`llmcore.config.aliases`), and an empty ``api_key = ""`` means "not
set". The merged dict is checked against the schema (unknown keys get a "did you
mean" hint) and converted into :class:`~llmcore.config.schema.LLMCoreConfig`.
Every leaf remembers which layer set it, so errors and ``llmchat config show``
can name the source.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from llmcore._util.redact import register_secrets
from llmcore.config import aliases, envkeys
from llmcore.config.schema import LLMCoreConfig
from llmcore.config.suggest import did_you_mean
from llmcore.config.user_file import user_config_path
from llmcore.exceptions import ConfigError

__all__ = ["ResolvedConfig", "load_config"]

logger = logging.getLogger("llmcore.config")

Path_ = tuple[str, ...]

# The SDKs' own variables, honoured when no llmcore layer sets the key.
SDK_KEY_FALLBACKS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}


@dataclass(frozen=True)
class ResolvedConfig:
    """The validated configuration and, for each leaf key, where it came from."""

    config: LLMCoreConfig
    sources: Mapping[str, str] = field(default_factory=dict)
    #: The config files read, lowest precedence first (their folders hold the user's stages).
    files: tuple[Path, ...] = ()


def load_config(
    *,
    overrides: Mapping[str, Any] | None = None,
    file_path: str | os.PathLike[str] | None = None,
    env_prefix: str | None = "LLMCORE",
    dotenv_path: str | os.PathLike[str] | None = ".env",
    environ: Mapping[str, str] | None = None,
    user_config: bool = True,
) -> ResolvedConfig:
    """Load, merge and validate the configuration layers.

    Args:
        overrides: highest-precedence values; dot keys or nested dicts.
        file_path: a TOML (``.toml``) or JSON (``.json``) file.
        env_prefix: prefix of the environment variables to read; ``None``
            disables both the environment and ``.env`` layers, ``""`` reads
            every variable that names a configuration key.
        dotenv_path: the ``.env`` file to read (relative to the working
            directory); a missing file is skipped. ``None`` skips the layer.
        environ: the environment to read (defaults to ``os.environ``).
        user_config: read the user's config file
            (``$XDG_CONFIG_HOME/llmcore/config.toml``) when it exists, below
            ``file_path``; ``False`` skips it.

    Raises:
        ConfigError: for a missing or malformed file, an unknown key, or a
            value of the wrong type; the message names the key and source.
    """
    env = os.environ if environ is None else environ
    dotenv: dict[str, str] = {}
    if env_prefix is not None and dotenv_path is not None and Path(dotenv_path).is_file():
        import io

        from dotenv import dotenv_values

        text = _decode(Path(dotenv_path).read_bytes(), Path(dotenv_path), ".env file")
        dotenv = {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}
    merged: dict[str, Any] = {}
    sources: dict[Path_, str] = {}

    _merge(merged, sources, _read_defaults(), "defaults")
    _merge(merged, sources, _sdk_fallbacks(merged, env, dotenv), None)
    files = [] if file_path is None else [Path(file_path).expanduser()]
    user_path = user_config_path(env) if user_config else None
    if user_path is not None and user_path.is_file() and user_path not in files:
        files.insert(0, user_path)  # below the file the caller names
    for path in files:
        _merge(merged, sources, aliases.normalize(_read_file(path), str(path)), str(path))
    if env_prefix is not None:
        _merge_env(merged, sources, dotenv, env_prefix, f".env file {dotenv_path}")
        _merge_env(merged, sources, env, env_prefix, "environment")
    if overrides:
        layer = aliases.normalize(_expand_dot_keys(overrides), "overrides")
        _merge(merged, sources, layer, "overrides")

    flat_sources = {".".join(p): s for p, s in sources.items()}
    _check_unknown_keys(merged, LLMCoreConfig, (), flat_sources)
    _check_named_sections(merged, flat_sources)
    try:
        config = msgspec.convert(merged, LLMCoreConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise _validation_error(exc, (), flat_sources) from None
    # From now on errors and logs show this config's secret values as ***.
    register_secrets(config)
    return ResolvedConfig(config=config, sources=flat_sources, files=tuple(files))


def _read_defaults() -> dict[str, Any]:
    text = resources.files("llmcore.config").joinpath("defaults.toml").read_text("utf-8")
    return tomllib.loads(text)


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(
            f"Config file {str(path)!r} does not exist. Check the path passed as "
            "config_file_path (or --config), or create the file.",
            source=str(path),
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"Cannot read config file {str(path)!r}: {exc}", source=str(path)
        ) from exc
    text = _decode(raw, path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"Config file {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}.",
                source=str(path),
            ) from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"Config file {str(path)!r} is not valid TOML: {exc}. Fix the line named, "
                "or use a .json file name for JSON.",
                source=str(path),
            ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {str(path)!r} must hold a table/object at the top level.")
    return _paths_from_folder(data, path.resolve().parent)


#: Keys whose relative paths are read from the config file's folder ("*": any section name).
FILE_RELATIVE_KEYS = (
    ("storage", "session", "path"),
    ("storage", "vector", "path"),
    ("pipelines", "paths"),
    ("providers", "*", "model_path"),
    ("embedding", "*", "model_path"),
)


def _paths_from_folder(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Make the file's relative paths absolute from its folder, not the working directory.

    ``~/...`` and absolute paths stay as they are, and so does SQLite's ``:memory:``.
    """

    def fix(value: Any) -> Any:
        if isinstance(value, list):
            return [fix(v) for v in value]
        if not isinstance(value, str) or not value or value.startswith(("~", ":")):
            return value
        return value if Path(value).is_absolute() else str(folder / value)

    def walk(node: Any, key: tuple[str, ...]) -> None:
        if not isinstance(node, dict) or not key:
            return
        head, rest = key[0], key[1:]
        names = list(node) if head == "*" else [head] if head in node else []
        for name in names:
            if rest:
                walk(node[name], rest)
            else:
                node[name] = fix(node[name])

    for key in FILE_RELATIVE_KEYS:
        walk(data, key)
    return data


def _decode(raw: bytes, path: Path, what: str = "Config file") -> str:
    """The file's text: UTF-8 (a leading byte-order mark, as Notepad writes, is dropped)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        found = "it is UTF-16 text" if utf16 else f"it has byte 0x{raw[exc.start]:02x}"
        raise ConfigError(
            f"{what} {str(path)!r} is not UTF-8: {found} at line {line}, column {column} "
            f"(byte offset {exc.start}). Save the file as UTF-8 and try again.",
            source=str(path),
        ) from None


def _sdk_fallbacks(
    merged: dict[str, Any], env: Mapping[str, str], dotenv: Mapping[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, variables in SDK_KEY_FALLBACKS.items():
        if name not in merged.get("providers", {}):
            continue
        found = [(env[v], f"environment variable {v}") for v in variables if env.get(v)]
        found += [(dotenv[v], f".env file variable {v}") for v in variables if dotenv.get(v)]
        if found:
            out.setdefault("providers", {})[name] = {"api_key": found[0]}
    return out


def _merge(
    target: dict[str, Any],
    sources: dict[Path_, str],
    layer: Mapping[str, Any],
    source: str | None,
    path: Path_ = (),
) -> None:
    """Deep-merge ``layer`` into ``target``, recording each leaf's source.

    With ``source=None`` each leaf is a ``(value, source)`` pair.
    """
    for key, value in layer.items():
        key_path = (*path, str(key))
        if key == "api_key" and (value[0] if source is None else value) == "":
            continue  # api_key = "" (the specification's template) means "not set"
        if isinstance(value, Mapping):
            existing = target.get(key)
            if not isinstance(existing, dict):
                existing = target[key] = {}
                _forget(sources, key_path)
            _merge(existing, sources, value, source, key_path)
        else:
            if source is None:
                value, leaf_source = value
            else:
                leaf_source = source
            target[key] = value
            _forget(sources, key_path)
            sources[key_path] = leaf_source


def _forget(sources: dict[Path_, str], prefix: Path_) -> None:
    for p in [p for p in sources if p[: len(prefix)] == prefix]:
        del sources[p]


def _merge_env(
    merged: dict[str, Any],
    sources: dict[Path_, str],
    env: Mapping[str, str],
    prefix: str,
    origin: str,
) -> None:
    head = f"{prefix.upper()}_" if prefix else ""
    names = [n for n in env if n.upper().startswith(head) and n.upper() != head]
    # Short forms (LLMCORE_DEFAULT_PROVIDER) first, so the full name wins when both are set.
    names.sort(key=lambda n: not envkeys.is_short_form(n[len(head) :]))
    for name in names:
        raw = env[name]
        rest = name[len(head) :]
        resolved = envkeys.resolve(rest, merged, short_forms=bool(prefix))
        if resolved is None:
            if prefix:
                logger.warning(
                    "Ignoring %s variable %s: it names no configuration key.%s",
                    origin,
                    name,
                    did_you_mean(rest.lower().replace("__", "."), envkeys.all_keys(merged)),
                )
            continue
        key_path, wants_text = resolved
        value: Any = raw if wants_text else _parse_env_value(raw)
        layer: dict[str, Any] = {}
        node = layer
        for part in key_path[:-1]:
            node = node.setdefault(part, {})
        node[key_path[-1]] = (value, f"{origin} variable {name}")
        _merge(merged, sources, layer, None)


def _parse_env_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _expand_dot_keys(overrides: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"Override keys must be non-empty strings, got {key!r}.")
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"Override {key!r} conflicts with another override.", key=key)
            node = child
        if isinstance(value, Mapping):
            node.setdefault(parts[-1], {}).update(_expand_dot_keys(value))
        else:
            node[parts[-1]] = value
    return out


def _check_unknown_keys(data: Any, tp: Any, path: Path_, sources: Mapping[str, str]) -> None:
    """Raise ConfigError for the first key the schema does not know."""
    if not isinstance(data, dict):
        return
    kind, fields = envkeys.describe(tp)
    if kind == "struct":
        for key, value in data.items():
            if key not in fields:
                dotted = ".".join((*path, key))
                source = _source_of(dotted, sources)
                raise ConfigError(
                    f"Unknown configuration key {dotted!r} (from {source})."
                    f"{did_you_mean(key, fields) or _option_hint(path, key, value)} Valid keys "
                    f"here: {', '.join(sorted(fields))}.",
                    key=dotted,
                    source=source,
                )
            _check_unknown_keys(value, fields[key], (*path, key), sources)
    elif kind == "dict_of_struct":
        value_type = fields["*"]
        for key, value in data.items():
            _check_unknown_keys(value, value_type, (*path, key), sources)


def _option_hint(path: Path_, key: str, value: Any) -> str:
    """For ``temperature = 0.2`` under ``[providers.NAME]``: where model options go."""
    if len(path) != 2 or path[0] != "providers":
        return ""
    shown = json.dumps(value) if isinstance(value, (int, float, str, bool)) else "..."
    return (
        f" An option sent to the model goes under options: [providers.{path[1]}.options] "
        f"{key} = {shown} (or -o {key}=... for one llmchat call, {key}=... in chat())."
    )


def _check_named_sections(merged: dict[str, Any], sources: Mapping[str, str]) -> None:
    """Validate each entry of the named sections on its own.

    msgspec reports a bad value inside a dict as ``providers[...]``; checking
    each entry separately lets the error name the provider.
    """
    for section in (("providers",), ("embedding",), ("mcp", "servers")):
        node: Any = merged
        tp: Any = LLMCoreConfig
        for part in section:
            node = node.get(part, {}) if isinstance(node, dict) else {}
            tp = envkeys.describe(tp)[1][part]
        value_type = envkeys.describe(tp)[1]["*"]
        for name, entry in node.items() if isinstance(node, dict) else ():
            try:
                msgspec.convert(entry, value_type, strict=False)
            except msgspec.ValidationError as exc:
                raise _validation_error(exc, (*section, name), sources) from None


def _source_of(dotted: str, sources: Mapping[str, str]) -> str:
    if dotted in sources:
        return sources[dotted]
    below = [s for k, s in sources.items() if k.startswith(dotted + ".")]
    return below[0] if below else "defaults"


_AT_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _validation_error(
    exc: msgspec.ValidationError, prefix: Path_, sources: Mapping[str, str]
) -> ConfigError:
    text = str(exc)
    match = _AT_PATH.search(text)
    inner = re.sub(r"\[(\d+)\]", r".\1", match.group("path")).lstrip(".") if match else ""
    dotted = ".".join(p for p in (*prefix, inner) if p)
    detail = text[: match.start()] if match else text
    # A section's own check names its field first ("type: unknown ..."): point at it.
    field = re.match(r"(?P<name>[a-z_]+): ", detail)
    if field:
        dotted = f"{dotted}.{field.group('name')}" if dotted else field.group("name")
        detail = detail[field.end() :]
    if detail.startswith("Invalid enum value"):
        allowed = envkeys.literal_choices(dotted)
        if allowed:
            detail += f"; expected one of {', '.join(map(repr, allowed))}"
    source = _source_of(dotted.split("[")[0], sources)
    return ConfigError(
        f"Invalid value for {dotted!r} (from {source}): {detail}.", key=dotted, source=source
    )
