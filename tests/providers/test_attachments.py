"""Attachments on every provider: each kind sent in the provider's own wire shape, or refused.

The fakes check the shapes the way the real APIs do (a base64 image whose
bytes are what its media type says, a PDF file input, inline data Gemini
reads...), so a request that reaches a fake and is answered was valid for
that provider. A refusal is an InvalidRequestError raised before anything is
sent or stored.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from _media import gif, jpeg, pdf, png, webp
from fakes.gemini_checks import field

from llmcore import InvalidRequestError, LLMCore, ProviderError
from llmcore.config.schema import ProviderSettings
from llmcore.exchange import ModelRequest, ModelSettings
from llmcore.models import Message, Role
from llmcore.parts import DocumentPart, ImagePart, TextPart
from llmcore.providers.local import LocalProvider

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]
NETWORK = ["openai", "anthropic", "gemini", "ollama"]
#: An Ollama model that sees images (``/api/show`` lists ``vision``).
VISION = "llava:7b"
TEXT = b"Line one of the notes.\nLine two.\n"

KINDS: dict[str, tuple[bytes, str]] = {
    "png": (png(40, 30), "image/png"),
    "jpeg": (jpeg(40, 30), "image/jpeg"),
    "gif": (gif(40, 30), "image/gif"),
    "webp": (webp(40, 30), "image/webp"),
    "pdf": (pdf(2), "application/pdf"),
    "text": (TEXT, "text/plain"),
}
#: What each provider refuses, before sending: Gemini reads no GIF, Ollama no PDF.
REFUSED = {("gemini", "gif"), ("ollama", "pdf")}


def model_for(provider: str) -> str | None:
    return VISION if provider == "ollama" else None


def last_user(provider: str, body: dict[str, Any]) -> Any:
    """The last user turn of a request, in the provider's wire shape."""
    turns = body["contents"] if provider == "gemini" else body["messages"]
    return [t for t in turns if t.get("role") == "user"][-1]


def sent_binaries(provider: str, turn: Any) -> list[tuple[str, bytes]]:
    """The (media type, bytes) of the images and documents a user turn carries."""
    found: list[tuple[str, bytes]] = []
    if provider == "openai":
        for part in turn["content"] if isinstance(turn["content"], list) else []:
            if part["type"] == "image_url":
                head, data = part["image_url"]["url"].split(",", 1)
                found.append((head[5:].split(";")[0], base64.b64decode(data)))
            elif part["type"] == "file":
                head, data = part["file"]["file_data"].split(",", 1)
                found.append((head[5:].split(";")[0], base64.b64decode(data)))
    elif provider == "anthropic":
        for block in turn["content"] if isinstance(turn["content"], list) else []:
            if block["type"] in ("image", "document"):
                source = block["source"]
                found.append((source["media_type"], base64.b64decode(source["data"])))
    elif provider == "gemini":
        for part in turn["parts"]:
            inline = field(part, "inlineData")
            if inline is not None:
                data = base64.urlsafe_b64decode(field(inline, "data") + "==")
                found.append((field(inline, "mimeType"), data))
    else:
        found += [("image/*", base64.b64decode(i)) for i in turn.get("images") or []]
    return found


def sent_text(provider: str, turn: Any) -> str:
    if provider == "gemini":
        return " ".join(str(p.get("text", "")) for p in turn["parts"])
    content = turn["content"]
    if isinstance(content, str):
        return content
    return " ".join(str(b.get("text", "")) for b in content)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("provider", NETWORK)
async def test_every_kind_on_every_provider(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, kind: str
) -> None:
    server = servers[provider]
    servers["ollama"].add_model(VISION, ["vision"])
    data, media_type = KINDS[kind]
    async with llm_for() as llm:
        if (provider, kind) in REFUSED:
            with pytest.raises(InvalidRequestError) as info:
                await llm.chat(
                    "What is this?",
                    session_id="s",
                    provider_name=provider,
                    model_name=model_for(provider),
                    attachments=[data],
                )
            assert await llm.get_session("s") is None  # nothing stored
            message = str(info.value)
            assert repr(provider) in message and media_type in message
            assert repr(model_for(provider) or llm.config.providers[provider].default_model) in (
                message
            )
            assert server.chat_bodies() == []  # nothing sent
            return
        reply = await llm.chat(
            "What is this?",
            session_id="s",
            provider_name=provider,
            model_name=model_for(provider),
            attachments=[data],
        )
        session = await llm.get_session("s")
    assert reply.startswith("echo: What is this?")
    (body,) = server.chat_bodies()
    turn = last_user(provider, body)
    if kind == "text":
        assert "Line one of the notes." in sent_text(provider, turn)
        assert sent_binaries(provider, turn) == []
    else:
        expected = "image/*" if provider == "ollama" else media_type
        assert sent_binaries(provider, turn) == [(expected, data)]
    assert session is not None
    stored = session.messages[0]
    if kind == "text":  # the file's text joins the message's
        assert stored.parts == [TextPart("What is this?\n\n" + TEXT.decode())]
    else:
        (binary,) = [p for p in stored.parts if isinstance(p, ImagePart | DocumentPart)]
        assert (binary.media_type, binary.data) == (media_type, data)


async def test_ollama_text_model_refuses_images_by_its_capabilities(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for() as llm:
        with pytest.raises(InvalidRequestError, match="vision") as info:
            await llm.chat("What is this?", session_id="s", provider_name="ollama",
                           attachments=[png()])  # fmt: skip
        assert await llm.get_session("s") is None
    assert "'ollama'" in str(info.value) and "'llama3.2'" in str(info.value)
    assert servers["ollama"].chat_bodies() == []


async def test_the_local_provider_refuses_attachments_before_loading_a_model(
    tmp_path: Path,
) -> None:
    # A model file that does not exist: loading it would be a ConfigError, so
    # an InvalidRequestError proves nothing was loaded or run.
    missing = str(tmp_path / "absent.gguf")
    provider = LocalProvider("local", ProviderSettings(model_path=missing, default_model="tiny"))
    for part in (ImagePart(media_type="image/png", data=png()), DocumentPart(
        media_type="application/pdf", data=pdf())):  # fmt: skip
        request = ModelRequest(
            model="tiny",
            messages=[Message(role=Role.USER, parts=[TextPart("What is this?"), part])],
            settings=ModelSettings(max_tokens=16),
        )
        with pytest.raises(InvalidRequestError) as info:
            await provider.respond(request)
        message = str(info.value)
        assert "'local'" in message and "'tiny'" in message and part.media_type in message


@pytest.mark.parametrize("provider", NETWORK)
async def test_every_way_of_giving_an_attachment(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, tmp_path: Path
) -> None:
    servers["ollama"].add_model(VISION, ["vision"])
    picture = png(20, 10)
    path = tmp_path / "photo.png"
    path.write_bytes(picture)
    given = [
        str(path),
        path,
        picture,
        (picture, "image/png"),
        ImagePart(media_type="image/png", data=picture),
    ]
    async with llm_for() as llm:
        for item in given:
            await llm.chat("Look.", provider_name=provider, model_name=model_for(provider),
                           attachments=[item])  # fmt: skip
    bodies = servers[provider].chat_bodies()
    assert len(bodies) == len(given)
    for body in bodies:
        assert [data for _, data in sent_binaries(provider, last_user(provider, body))] == [picture]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
async def test_an_image_url_is_sent_as_a_url(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    url = "https://example.com/cat.jpg"
    async with llm_for() as llm:
        await llm.chat("Look.", provider_name=provider, attachments=[url])
    (body,) = servers[provider].chat_bodies()
    turn = last_user(provider, body)
    if provider == "openai":
        assert {"type": "image_url", "image_url": {"url": url}} in turn["content"]
    elif provider == "anthropic":
        assert {"type": "image", "source": {"type": "url", "url": url}} in turn["content"]
    else:
        (file_data,) = [field(p, "fileData") for p in turn["parts"] if field(p, "fileData")]
        assert (field(file_data, "fileUri"), field(file_data, "mimeType")) == (url, "image/jpeg")


async def test_ollama_refuses_an_image_url_before_sending(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    servers["ollama"].add_model(VISION, ["vision"])
    async with llm_for() as llm:
        with pytest.raises(InvalidRequestError, match="URL"):
            await llm.chat("Look.", session_id="s", provider_name="ollama", model_name=VISION,
                           attachments=["https://example.com/cat.png"])  # fmt: skip
        assert await llm.get_session("s") is None
    assert servers["ollama"].chat_bodies() == []


@pytest.mark.parametrize(
    ("item", "match"),
    [
        (b"\x00\x01\x02 not a known format", "not a PNG, JPEG, GIF or WebP image, a PDF"),
        ((png(), "image/jpeg"), "given as 'image/jpeg', but its bytes are 'image/png'"),
        ("https://example.com/report", "extension does not say"),
        (42, "Cannot attach a int"),
    ],
)
async def test_unknown_or_mislabelled_attachments_are_refused_before_anything_happens(
    llm_for: MakeLLM, servers: dict[str, Any], item: object, match: str
) -> None:
    async with llm_for() as llm:
        with pytest.raises(InvalidRequestError, match=match):
            await llm.chat("What is this?", session_id="s", attachments=[item])
        assert await llm.get_session("s") is None
        assert await llm.list_sessions() == []
    assert servers["openai"].requests == []


async def test_a_file_over_the_limit_is_refused_before_it_is_read_or_sent(
    llm_for: MakeLLM, servers: dict[str, Any], tmp_path: Path
) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(pdf(1, padding=5000))
    async with llm_for(**{"llmcore.max_attachment_bytes": 4000}) as llm:
        for item in (str(big), big.read_bytes()):
            with pytest.raises(InvalidRequestError, match="max_attachment_bytes") as info:
                await llm.chat("Summarise.", session_id="s", attachments=[item])
            assert "over the 0.004 MB limit" in str(info.value)
        assert await llm.get_session("s") is None
    assert servers["openai"].requests == []


async def test_the_type_is_sniffed_from_the_bytes_not_the_name(
    llm_for: MakeLLM, servers: dict[str, Any], tmp_path: Path
) -> None:
    document = pdf(3)
    fake_png = tmp_path / "scan.png"
    fake_png.write_bytes(document)
    async with llm_for() as llm:
        await llm.chat("Summarise.", session_id="s", attachments=[fake_png])
        session = await llm.get_session("s")
    (body,) = servers["openai"].chat_bodies()
    (part,) = [p for p in last_user("openai", body)["content"] if p["type"] == "file"]
    assert part["file"]["filename"] == "scan.png"
    assert sent_binaries("openai", last_user("openai", body)) == [("application/pdf", document)]
    assert session is not None
    (stored,) = [p for p in session.messages[0].parts if isinstance(p, DocumentPart)]
    assert (stored.media_type, stored.name) == ("application/pdf", "scan.png")


@pytest.mark.parametrize("provider", NETWORK)
async def test_images_are_stored_once_per_hash_and_replayed_on_later_turns(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str, tmp_path: Path
) -> None:
    servers["ollama"].add_model(VISION, ["vision"])
    picture, other = png(30, 30), jpeg(30, 30)
    async with llm_for() as llm:
        model = model_for(provider)
        await llm.chat("First.", session_id="s", provider_name=provider, model_name=model,
                       attachments=[picture])  # fmt: skip
        await llm.chat("Again.", session_id="s", provider_name=provider, model_name=model,
                       attachments=[picture, other])  # fmt: skip
        await llm.chat("And now?", session_id="s", provider_name=provider, model_name=model)
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        blobs = sorted(len(row[0]) for row in db.execute("SELECT data FROM blobs"))
    assert blobs == sorted([len(picture), len(other)])  # each distinct image once
    last = servers[provider].chat_bodies()[-1]
    turns = last["contents"] if provider == "gemini" else last["messages"]
    users = [t for t in turns if t.get("role") == "user"]
    replayed = [data for t in users for _, data in sent_binaries(provider, t)]
    assert replayed == [picture, picture, other]


async def test_a_pdf_the_provider_cannot_read_is_its_own_refusal(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    # A part given as a PDF whose bytes are not one: llmcore sends it as given,
    # and the provider's own 400 says why (the fake says what Anthropic says).
    broken = DocumentPart(media_type="application/pdf", data=b"PK\x03\x04 a zip, not a PDF")
    async with llm_for() as llm:
        with pytest.raises(ProviderError, match="The PDF specified was not valid"):
            await llm.chat("Summarise.", provider_name="anthropic", attachments=[broken])
