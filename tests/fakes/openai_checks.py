"""What OpenAI's Chat Completions API refuses, with its 400 messages.

:func:`refusal` looks at a request body the way the real API does and
returns ``(message, param, code)`` for the first thing it would refuse, or
None. The messages are the API's own (as its users report them), except
where a comment says the wording is approximate.

Checked: ``max_tokens`` and ``reasoning_effort`` against the model (the
reasoning models o1/o3/o4/gpt-5 take ``max_completion_tokens`` and
``reasoning_effort``, and ``temperature`` and ``top_p`` only at their default
1; the others refuse ``reasoning_effort``); tool-call ids of at most 40
characters, and every call answered by a ``tool`` message (the calls of the
last assistant message too);
content parts by role (``text`` everywhere, ``image_url`` and ``file`` only
from the user), an ``image_url`` an http(s) URL or a
``data:image/...;base64,`` URL of a PNG, JPEG, GIF or WebP, a ``file`` a
``data:application/pdf;base64,`` URL; an assistant message needs content or
tool calls.
"""

from __future__ import annotations

import re
from typing import Any

from fakes._server import b64decode, image_type

__all__ = ["REASONING_MODELS", "Refusal", "refusal"]

#: Models that take ``max_completion_tokens`` and ``reasoning_effort`` only.
REASONING_MODELS = re.compile(r"^(o\d|gpt-5)")
MAX_ID = 40
_EFFORTS = ("minimal", "low", "medium", "high")
#: What the reasoning models take only at its default (1).
_DEFAULT_ONLY = ("temperature", "top_p")
_PART_TYPES = "'text', 'image_url', 'input_audio', 'refusal', and 'file'"
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,(.*)", re.DOTALL)
_IMAGE_FORMATS = {"image/png", "image/jpeg", "image/gif", "image/webp"}
#: The part types each role may send (after the image and file checks).
_BY_ROLE = {
    "user": ("text", "image_url", "input_audio", "file"),
    "assistant": ("text", "refusal"),
}

#: ``(message, param, code)``
Refusal = tuple[str, str | None, str | None]


def refusal(body: dict[str, Any]) -> Refusal | None:
    """The real API's 400 for ``body``, or None if it would take it."""
    return _settings(body) or _messages(body.get("messages") or [])


def _settings(body: dict[str, Any]) -> Refusal | None:
    model = str(body.get("model", ""))
    reasoning = bool(REASONING_MODELS.match(model))
    if "max_tokens" in body and reasoning:
        return (
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    for name in _DEFAULT_ONLY if reasoning else ():
        value = body.get(name)
        if value is not None and value != 1:
            return (
                f"Unsupported value: '{name}' does not support {value} with this model. "
                "Only the default (1) value is supported.",
                name,
                "unsupported_value",
            )
    if "reasoning_effort" in body:
        if not reasoning:
            return (
                "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                "reasoning_effort",
                "unsupported_parameter",
            )
        effort = body["reasoning_effort"]
        if effort not in _EFFORTS:
            return (
                f"Invalid value: '{effort}'. Supported values are: 'minimal', 'low', 'medium', "
                "and 'high'.",
                "reasoning_effort",
                "invalid_value",
            )
    return None


def _messages(messages: list[Any]) -> Refusal | None:
    pending: list[str] = []  # tool call ids still waiting for their tool message
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"Invalid type for 'messages[{i}]': expected an object.", f"messages[{i}]", None
        role = message.get("role")
        problem = _content(i, message)
        if problem is not None:
            return problem
        if role == "tool":
            call_id = message.get("tool_call_id")
            problem = _id_length(f"messages[{i}].tool_call_id", call_id)
            if problem is not None:
                return problem
            if call_id not in pending:
                return (
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    f"preceeding message with 'tool_calls'. (messages.[{i}].tool_call_id)",
                    f"messages.[{i}].role",
                    None,
                )
            pending.remove(call_id)
            continue
        if pending:
            return _unanswered(pending)
        if role == "assistant":
            calls = message.get("tool_calls") or []
            for k, call in enumerate(calls):
                problem = _id_length(f"messages[{i}].tool_calls[{k}].id", call.get("id"))
                if problem is not None:
                    return problem
            if message.get("content") is None and not calls:
                return (
                    "Invalid value for 'content': expected a string, got null.",
                    f"messages.[{i}].content",
                    None,
                )
            pending = [str(c.get("id")) for c in calls]
    return _unanswered(pending) if pending else None  # the last calls are answered too


def _unanswered(pending: list[str]) -> Refusal:
    return (
        "An assistant message with 'tool_calls' must be followed by tool messages "
        "responding to each 'tool_call_id'. The following tool_call_ids did not have "
        f"response messages: {', '.join(pending)}",
        "messages",
        None,
    )


def _id_length(param: str, value: object) -> Refusal | None:
    if isinstance(value, str) and len(value) > MAX_ID:
        return (
            f"Invalid '{param}': string too long. Expected a string with maximum length "
            f"{MAX_ID}, but got a string with length {len(value)} instead.",
            param,
            "string_above_max_length",
        )
    return None


def _content(i: int, message: dict[str, Any]) -> Refusal | None:
    content = message.get("content")
    if not isinstance(content, list):
        return None
    role = message.get("role")
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        where = f"messages[{i}].content[{j}]"
        if kind not in ("text", "image_url", "input_audio", "refusal", "file"):
            return (
                f"Invalid value: '{kind}'. Supported values are: {_PART_TYPES}.",
                f"{where}.type",
                "invalid_value",
            )
        if kind == "text":
            if not isinstance(part.get("text"), str):
                return f"Missing required parameter: '{where}.text'.", f"{where}.text", None
        elif kind == "image_url":
            if role != "user":
                return (
                    f"Invalid 'messages[{i}]'. Image URLs are only allowed for messages with role "
                    f"'user', but this message with role '{role}' contains an image URL.",
                    f"messages[{i}]",
                    "invalid_value",
                )
            problem = _image_url(where, part.get("image_url"))
            if problem is not None:
                return problem
        elif kind == "file":
            if role != "user":  # approximate wording
                return (
                    f"Invalid 'messages[{i}]'. Files are only allowed for messages with role "
                    f"'user', but this message with role '{role}' contains a file.",
                    f"messages[{i}]",
                    "invalid_value",
                )
            problem = _file(where, part.get("file"))
            if problem is not None:
                return problem
        if kind not in _BY_ROLE.get(str(role), ("text",)):
            allowed = " and ".join(f"'{k}'" for k in _BY_ROLE.get(str(role), ("text",)))
            return (
                f"Invalid value: '{kind}'. Supported values are: {allowed}.",
                f"{where}.type",
                "invalid_value",
            )
    return None


def _image_url(where: str, image: object) -> Refusal | None:
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str):
        return f"Missing required parameter: '{where}.image_url.url'.", where, None
    detail = image.get("detail", "auto") if isinstance(image, dict) else "auto"
    if detail not in ("auto", "low", "high"):
        return (
            f"Invalid value: '{detail}'. Supported values are: 'auto', 'low', and 'high'.",
            f"{where}.image_url.detail",
            "invalid_value",
        )
    if url.startswith(("http://", "https://")):
        return None
    match = _DATA_URL.fullmatch(url)
    data = b64decode(match.group(2)) if match else None
    if match is None or not match.group(1).startswith("image/") or not data:
        return (
            f"Invalid '{where}.image_url.url'. Expected a base64-encoded data URL with an image "
            "MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got an invalid "
            "value.",
            f"{where}.image_url.url",
            "invalid_value",
        )
    if match.group(1) not in _IMAGE_FORMATS or image_type(data) is None:
        return (
            "You uploaded an unsupported image. Please make sure your image is below 20 MB in "
            "size and is of one the following formats: ['png', 'jpeg', 'gif', 'webp'].",
            None,
            "invalid_image_format",
        )
    return None


def _file(where: str, file: object) -> Refusal | None:
    param = f"{where}.file.file_data"
    if not isinstance(file, dict) or not ({"file_data", "file_id"} & set(file)):
        return f"Missing required parameter: '{where}.file.file_data'.", param, None
    if "file_id" in file:
        return None
    match = _DATA_URL.fullmatch(str(file.get("file_data")))
    example = "(e.g. 'data:application/pdf;base64,SGVsbG8sIFdvcmxkIQ==')"
    if match is None:
        return (
            f"Invalid file data: '{param}'. Expected a base64-encoded data URL with an "
            f"application/pdf MIME type {example}, but got an invalid value.",
            param,
            "invalid_value",
        )
    if match.group(1) != "application/pdf":
        return (
            f"Invalid file data: '{param}'. Expected a base64-encoded data URL with an "
            f"application/pdf MIME type {example}, but got unsupported MIME type "
            f"'{match.group(1)}'.",
            param,
            "invalid_value",
        )
    data = b64decode(match.group(2))
    if not data or not data.startswith(b"%PDF-"):
        return (
            f"Invalid file data: '{param}'. Expected a base64-encoded data URL with an "
            f"application/pdf MIME type {example}, but got an invalid base64-encoded value.",
            param,
            "invalid_value",
        )
    return None
