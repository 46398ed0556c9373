"""What the Gemini API refuses, with its 400 ``INVALID_ARGUMENT`` messages.

:func:`refusal` reads a ``generateContent`` (or ``countTokens``) body the way
the real API does and returns the message of the first thing it would
refuse, or None. The wording is the API's own (as its users report it),
except where a comment says it is approximate. Field names are taken in
either JSON form (``inlineData`` or ``inline_data``), as the API's parser
takes them.

Checked: roles; one data field per part; ``inlineData`` base64 of a MIME
type Gemini reads (PNG, JPEG, WebP, HEIC, HEIF images, PDF, text; not GIF)
whose bytes are what it says; function calls only from the model, after a
user turn, and answered by as many function responses in the next turn;
``thinkingConfig`` only for models that think, within their budget; and the
thought signatures: a function call this fake signed must come back with
its signature, unchanged ("Function call is missing a thought_signature",
"Corrupted thought signature."), and on a Gemini 3 model every function
call of the current turn needs one.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from fakes._server import b64decode, image_type, verify

__all__ = ["call_fingerprint", "field", "refusal"]

_DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse",
                "executableCode", "codeExecutionResult")  # fmt: skip
_IMAGES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")
_OTHER = ("application/pdf", "text/plain", "text/html", "text/csv", "text/markdown")
#: Signatures the API documents for calls it did not sign (another model's history).
DUMMY_SIGNATURES = ("skip_thought_signature_validator", "context_engineering_is_the_way_to_go")
_NO_THINKING = re.compile(r"^gemini-(1\.|2\.0)")
_SIGNATURE_DOCS = "https://ai.google.dev/gemini-api/docs/thought-signatures"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def field(obj: Any, name: str, default: Any = None) -> Any:
    """``obj[name]`` under its camelCase or snake_case JSON name."""
    if not isinstance(obj, dict):
        return default
    if name in obj:
        return obj[name]
    return obj.get(_snake(name), default)


def call_fingerprint(call: dict[str, Any]) -> str:
    """What a function call's thought signature covers: its name and arguments."""
    return json.dumps([field(call, "name"), field(call, "args") or {}], sort_keys=True)


def refusal(
    body: dict[str, Any], model: str, signed: set[str] | None = None, *, count: bool = False
) -> str | None:
    """The real API's 400 message for ``body`` sent to ``model``, or None.

    ``signed``: the fingerprints of the function calls this fake signed.
    ``count``: a ``countTokens`` body (signatures and settings not checked).
    """
    if not count:
        problem = _thinking(field(field(body, "generationConfig"), "thinkingConfig"), model)
        if problem is not None:
            return problem
    contents = field(body, "contents") or []
    for i, content in enumerate(contents):
        problem = _content(i, content, contents)
        if problem is not None:
            return problem
    if count:
        return None
    return _signatures(contents, model, signed or set())


def _thinking(config: Any, model: str) -> str | None:
    if config is None:
        return None
    if _NO_THINKING.match(model):
        return "thinking_config is not supported."
    budget = field(config, "thinkingBudget")
    low, high = (128, 32768) if "pro" in model else (0, 24576)
    if isinstance(budget, int) and budget != -1 and not low <= budget <= high:
        return (  # approximate wording
            f"The thinking budget {budget} is invalid. Please choose a value between {low} and "
            f"{high}."
        )
    return None


def _content(i: int, content: Any, contents: list[Any]) -> str | None:
    role = field(content, "role", "user")
    if role not in ("user", "model"):
        return "Please use a valid role: user, model."
    parts = field(content, "parts") or []
    if not parts:
        return f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n"
    calls = responses = 0
    for j, part in enumerate(parts):
        kinds = [k for k in _DATA_FIELDS if field(part, k) is not None]
        if len(kinds) != 1:
            return (
                f"* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof field "
                "'data' must have one initialized field\n"
            )
        kind = kinds[0]
        if kind == "inlineData":
            problem = _inline(f"contents[{i}].parts[{j}].inline_data", field(part, kind))
            if problem is not None:
                return problem
        elif kind == "fileData":
            mime = field(field(part, kind), "mimeType")
            if mime not in _IMAGES + _OTHER:
                return f"Unsupported MIME type: {mime}"
        calls += kind == "functionCall"
        responses += kind == "functionResponse"
    if calls:
        before = contents[i - 1] if i else None
        if role != "model" or before is None or field(before, "role", "user") != "user":
            return (
                "Please ensure that function call turn comes immediately after a user turn or "
                "after a function response turn."
            )
    if responses:
        before = contents[i - 1] if i else None
        asked = sum(field(p, "functionCall") is not None for p in (field(before, "parts") or []))
        if role != "user" or not asked:
            return (
                "Please ensure that function response turn comes immediately after a function "
                "call turn."
            )
        if responses != asked:
            return (
                "Please ensure that the number of function response parts is equal to the number "
                "of function call parts of the function call turn."
            )
    return None


def _inline(where: str, inline: Any) -> str | None:
    mime = field(inline, "mimeType")
    if mime not in _IMAGES + _OTHER:
        return f"Unsupported MIME type: {mime}"
    raw = field(inline, "data")
    data = b64decode(raw, lenient=True)
    if data is None:
        shown = str(raw)[:40]
        return (
            f"Invalid value at '{where}.data' (TYPE_BYTES), Base64 decoding failed for \"{shown}\""
        )
    if mime in _IMAGES and image_type(data) is None and mime not in ("image/heic", "image/heif"):
        return (
            "Unable to process input image. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting"
        )
    if mime == "application/pdf" and not data.startswith(b"%PDF-"):
        return "The document has no pages."  # approximate wording
    return None


def _standard(signature: object) -> str | None:
    """A signature in standard base64 (the SDK sends bytes URL-safe)."""
    raw = b64decode(signature, lenient=True)
    return None if raw is None else base64.b64encode(raw).decode()


def _signatures(contents: list[Any], model: str, signed: set[str]) -> str | None:
    """Signed function calls come back with their signatures, unchanged."""
    turn_start = 0  # the current turn starts after the last user text
    for i, content in enumerate(contents):
        parts = field(content, "parts") or []
        if field(content, "role", "user") == "user" and any(
            field(p, "text") is not None for p in parts
        ):
            turn_start = i + 1
    for i, content in enumerate(contents):
        if field(content, "role") != "model":
            continue
        first = True
        for part in field(content, "parts") or []:
            call = field(part, "functionCall")
            if call is None:
                continue
            signature = field(part, "thoughtSignature")
            fingerprint = call_fingerprint(call)
            needed = fingerprint in signed or (model.startswith("gemini-3") and i >= turn_start)
            if signature is None and first and needed:
                return (
                    "Function call is missing a thought_signature in functionCall parts. This is "
                    "required for tools to work correctly, and missing thought_signature may "
                    "lead to degraded model performance. Additional data, function call "
                    f"`default_api:{field(call, 'name')}` , position {i + 1}. Please refer to "
                    f"{_SIGNATURE_DOCS} for more details."
                )
            foreign = signature is None or signature in DUMMY_SIGNATURES
            if not foreign and not verify("thought", fingerprint, _standard(signature)):
                return "Corrupted thought signature."
            first = False
    return None
