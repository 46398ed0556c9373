"""The one rule that keeps secrets out of reprs, ``llmchat config show``, errors and logs.

A value is secret when it sits under a secret-looking name (``api_key``,
``password``, ``Authorization``, ``X-Api-Key``, ``Cookie``, ``access_token``...),
in an ``env`` map (every value of an MCP server's environment), after a
``--token``/``--key``/``--password``-style flag in an ``args`` list, or when it
has the shape of a credential inside a string: the password of a URL's
userinfo, a ``name=value`` pair with a secret name (URL query parameters,
libpq conninfo, ``--token=x``), a ``Bearer`` token, a provider-shaped key
(``sk-...``, ``AIza...``, ``ghp_...``).

Two uses of that rule:

- :func:`redact` copies a configuration value (a schema Struct, dict, list or
  string) with each secret replaced by ``***``; the config reprs and
  ``llmchat config show`` print that copy.
- :func:`redact_text` masks free text (an error message, a log line): every
  value registered by :func:`register_secrets` (called when a config is
  loaded), then the credential shapes above. :class:`~llmcore.exceptions.LLMCoreError`
  passes its message through it, and once a secret is registered a log record
  factory passes every log record through it (see the note above
  ``_install_log_hook``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

__all__ = [
    "REDACTED",
    "is_secret_name",
    "redact",
    "redact_args",
    "redact_text",
    "redact_url",
    "register_secrets",
]

REDACTED = "***"

#: Registered values shorter than this are not searched for in free text:
#: values such as ``1``, ``true`` or ``admin`` would blank out ordinary words.
#: They are still hidden wherever the rule finds them by name or shape.
MIN_SECRET_LENGTH = 6

# A name is secret when one of its words is one of these...
_SECRET_WORDS = frozenset(
    {
        "key",
        "apikey",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "credential",
        "credentials",
        "auth",
        "authorization",
        "cookie",
        "signature",
        "sig",
        "bearer",
    }
)
# ...or when it contains one of these anywhere (``sslpassword``, ``clientsecret``).
# Not "token": ``max_tokens`` and ``tokenizer`` are not secrets.
_SECRET_PARTS = ("password", "passwd", "secret", "apikey", "credential", "passphrase", "cookie")
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_ENV_NAMES = frozenset({"env", "environ", "environment"})
_ARG_NAMES = frozenset({"args", "argv"})


def is_secret_name(name: str) -> bool:
    """Whether a key, header, query parameter or flag of this name holds a secret.

    >>> [is_secret_name(n) for n in ("api_key", "X-Api-Key", "max_tokens", "--token")]
    [True, True, False, True]
    """
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_PARTS):
        return True
    return any(word.lower() in _SECRET_WORDS for word in _WORDS.findall(name))


# -- credential shapes inside a string ----------------------------------------

_QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
# scheme://user:PASSWORD@host, the password ending at the authority's last "@".
_URL_USERINFO = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)(?P<value>[^\s/?#]*)(?P<tail>@)"
)
# name=value: query parameters, conninfo (password='a b'), --token=x, API_KEY=x.
_NAME_EQUALS = re.compile(
    rf"(?<![\w])(?P<name>[A-Za-z_][\w.-]*)(?P<sep>\s*=\s*)(?P<value>{_QUOTED}|[^\s&#;,'\"]+)"
)
# 'api_key': 'x' (dict reprs in SDK debug logs), Authorization: Bearer x (header lines).
# An unquoted value must have a character other than a lowercase letter: prose
# ("needs a token: anyone can...") is left alone; configured values are still
# hidden wherever they appear, by value.
_NAME_COLON = re.compile(
    rf"(?<![\w])(?P<q>['\"]?)(?P<name>[A-Za-z_][\w.-]*)(?P=q)(?P<sep>\s*:\s*)"
    rf"(?P<value>{_QUOTED}|(?:Bearer|Basic|Token)\s+\S+"
    rf"|(?=[^\s,{{}}\[\]()'\"]*[^a-z\s,{{}}\[\]()'\"])[^\s,{{}}\[\]()'\"]+)"
)
# --token VALUE in a command line.
_FLAG_VALUE = re.compile(rf"(?P<name>--?[A-Za-z][\w-]*)(?P<sep>\s+)(?P<value>{_QUOTED}|[^\s-]\S*)")
_BEARER = re.compile(r"(?P<name>\b[Bb]earer)(?P<sep>\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})")
# Keys in the providers' own formats, echoed back in full by some servers.
_KEY_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,})"
)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _masker(found: set[str] | None, *, by_name: bool) -> Callable[[re.Match[str]], str]:
    def mask(match: re.Match[str]) -> str:
        groups = match.groupdict()
        if by_name and not is_secret_name(groups["name"]):
            return match.group(0)
        value = groups["value"]
        if found is not None:
            _remember(found, _unquote(value))
            _remember(found, unquote(_unquote(value)))
        quote = value[0] if value[:1] in ("'", '"') and _unquote(value) != value else ""
        head = match.group(0)[: match.start("value") - match.start()]
        tail = match.group(0)[match.end("value") - match.start() :]
        return f"{head}{quote}{REDACTED}{quote}{tail}"

    return mask


def _mask_shapes(text: str, found: set[str] | None = None) -> str:
    if "://" in text:
        text = _URL_USERINFO.sub(_masker(found, by_name=False), text)
    if "=" in text:
        text = _NAME_EQUALS.sub(_masker(found, by_name=True), text)
    if ":" in text:
        text = _NAME_COLON.sub(_masker(found, by_name=True), text)
    if "-" in text:
        text = _FLAG_VALUE.sub(_masker(found, by_name=True), text)
    text = _BEARER.sub(_masker(found, by_name=False), text)
    if found is not None:
        found.update(_KEY_SHAPES.findall(text))
    return _KEY_SHAPES.sub(REDACTED, text)


def redact_url(url: str) -> str:
    """Hide the credentials of a URL or libpq conninfo string.

    ``postgresql://me:pw@db/x?sslpassword=k`` -> ``postgresql://me:***@db/x?sslpassword=***``;
    ``host=db password='a b'`` -> ``host=db password='***'``.
    """
    return _mask_shapes(url)


# -- configuration values -----------------------------------------------------


_SCHEME_VALUE = re.compile(r"(?:Bearer|Basic|Token)\s+(\S+)", re.IGNORECASE)


def _remember(found: set[str], value: str) -> None:
    """Add a secret, and the credential alone of an ``Authorization``-style value."""
    found.add(value)
    scheme = _SCHEME_VALUE.fullmatch(value.strip())
    if scheme:
        found.add(scheme.group(1))


def _hide(value: Any, found: set[str] | None) -> Any:
    if value is None or value == "" or isinstance(value, bool):
        return value
    if found is not None:
        for text in _strings(value):
            _remember(found, text)
    return REDACTED


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def redact_args(args: Iterable[str], found: set[str] | None = None) -> list[str]:
    """A command line with the value after each secret flag hidden.

    ``["--token", "t", "--key=k", "--max-tokens", "5"]`` ->
    ``["--token", "***", "--key=***", "--max-tokens", "5"]``. Other arguments
    go through the string rule (URLs, ``NAME=value``).
    """
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(_hide(arg, found))
            hide_next = False
        elif arg.startswith("-") and is_secret_name(arg.lstrip("-").partition("=")[0]):
            flag, sep, value = arg.partition("=")
            if sep:
                out.append(f"{flag}={_hide(value, found)}")
            else:
                out.append(arg)
                hide_next = True
        else:
            out.append(_redact_str(arg, found))
    return out


def redact(value: Any, name: str = "", found: set[str] | None = None) -> Any:
    """A copy of a configuration value, as builtins, with every secret as ``***``.

    Args:
        value: a schema Struct, a dict, a list or a scalar.
        name: the key ``value`` sits under (decides secret names, ``env`` maps
            and ``args`` lists).
        found: when given, every hidden value is added to it.
    """
    if name and is_secret_name(name):
        return _hide(value, found)
    fields = getattr(value, "__struct_fields__", None)
    if fields is not None:
        return {field: redact(getattr(value, field), field, found) for field in fields}
    if isinstance(value, Mapping):
        if name.lower() in _ENV_NAMES:
            return {str(k): _hide(v, found) for k, v in value.items()}
        return {str(k): redact(v, str(k), found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if name.lower() in _ARG_NAMES and all(isinstance(a, str) for a in value):
            return redact_args(value, found)
        return [redact(item, "", found) for item in value]
    if isinstance(value, str):
        return _redact_str(value, found)
    return value


# -- the registry of configured secret values, for free text ------------------

_lock = threading.Lock()
_secrets: set[str] = set()
_registered: re.Pattern[str] | None = None


def register_secrets(config: Any) -> None:
    """Remember every secret value ``config`` holds, so free text never shows it.

    Called when a configuration is loaded. The registry is process-wide and
    only grows: a value once configured as a secret stays hidden.
    """
    found: set[str] = set()
    redact(config, found=found)
    found.discard(REDACTED)
    new = {s for s in found if len(s) >= MIN_SECRET_LENGTH} - _secrets
    if not found or (not new and _log_hook_installed):
        return
    global _registered
    with _lock:
        _secrets.update(new)
        if _secrets:
            ordered = sorted(_secrets, key=len, reverse=True)  # longest first
            _registered = re.compile("|".join(map(re.escape, ordered)))
    _install_log_hook()


def _redact_str(text: str, found: set[str] | None = None) -> str:
    pattern = _registered
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _mask_shapes(text, found)


def redact_text(text: str) -> str:
    """Free text with every registered secret and every credential shape as ``***``."""
    return _redact_str(text) if text else text


# -- log records --------------------------------------------------------------

# Every record made in the process is redacted, not only llmcore's: the
# libraries llmcore hands its URLs, keys and commands to log them under their
# own names (httpx/httpx2 log each request URL at INFO, httpcore/httpcore2 and
# the SDKs log requests at DEBUG, mcp logs server URLs). A logging.Filter would
# not do either: a filter on "llmcore" is not consulted for the records of
# "llmcore.providers". So the redaction happens where every record is made, in
# the record factory. Records are only made for enabled levels, and the hook is
# only installed once a secret is configured.
_log_hook_installed = False


def _install_log_hook() -> None:
    global _log_hook_installed
    with _lock:
        if _log_hook_installed:
            return
        previous = logging.getLogRecordFactory()

        def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(make_record)
        _log_hook_installed = True


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it when it emits
        return
    clean = redact_text(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        text = logging.Formatter().formatException(record.exc_info)
        clean = redact_text(text)
        if clean != text:  # formatters print exc_text instead of formatting exc_info
            record.exc_text = clean
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
