"""Token counts that include attachments, and a context window that attachments fill.

OpenAI (and Ollama's estimate) count an image with OpenAI's published tile
formula and a PDF at 1,500 tokens a page; Anthropic and Gemini ask their
count APIs, which the fakes answer with their own deterministic numbers
(so a count that matches them came from the API, not the estimate).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from _media import gif, image, jpeg, pdf, png, webp
from fakes.anthropic_server import PAGE_TOKENS as ANTHROPIC_PAGE
from fakes.anthropic_server import image_tokens as anthropic_image
from fakes.gemini_server import IMAGE_TOKENS as GEMINI_IMAGE
from fakes.gemini_server import PAGE_TOKENS as GEMINI_PAGE

from llmcore import ContextLengthError, LLMCore
from llmcore.tokens.attachments import TOKENS_PER_PAGE

MakeLLM = Callable[..., AbstractAsyncContextManager[LLMCore]]


async def attachment_cost(llm: LLMCore, provider: str, attachments: list[Any], **kw: Any) -> int:
    """The tokens the attachments add to the new message's count."""
    with_them = await llm.chat_turn("Look at this.", provider_name=provider,
                                    attachments=attachments, **kw)  # fmt: skip
    without = await llm.chat_turn("Look at this.", provider_name=provider, **kw)
    return with_them.budget.used["user"] - without.budget.used["user"]


@pytest.mark.parametrize(
    ("size", "tokens"),
    [
        ((512, 512), 85 + 170),  # one tile
        ((1024, 1024), 85 + 170 * 4),  # shortest side 768: 2 x 2 tiles
        ((2048, 4096), 85 + 170 * 6),  # fit in 2048, shortest side 768: 768 x 1536
        ((100, 5000), 85 + 170 * 4),  # 41 x 2048: 1 x 4 tiles
        ((300, 200), 85 + 170),
    ],
)
async def test_openai_counts_images_with_its_tile_formula(
    llm_for: MakeLLM, size: tuple[int, int], tokens: int
) -> None:
    async with llm_for() as llm:
        assert await attachment_cost(llm, "openai", [png(*size)]) == tokens


@pytest.mark.parametrize("make", [png, jpeg, gif, webp])
async def test_every_image_format_is_measured_from_its_header(
    llm_for: MakeLLM, make: Callable[[int, int], bytes]
) -> None:
    async with llm_for() as llm:
        assert await attachment_cost(llm, "openai", [make(1024, 1024)]) == 765


async def test_a_pdf_costs_its_pages(llm_for: MakeLLM) -> None:
    async with llm_for() as llm:
        assert await attachment_cost(llm, "openai", [pdf(3)]) == 3 * TOKENS_PER_PAGE
        assert await attachment_cost(llm, "openai", [pdf(1), png(512, 512)]) == (
            TOKENS_PER_PAGE + 255
        )


async def test_ollama_estimates_attachments_the_same_way(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    servers["ollama"].add_model("llava:7b", ["vision"])
    async with llm_for() as llm:
        cost = await attachment_cost(llm, "ollama", [png(1024, 1024)], model_name="llava:7b")
    assert cost == 765


async def test_anthropic_counts_attachments_with_its_api(
    llm_for: MakeLLM, servers: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    picture, document = png(300, 200), pdf(2)
    with caplog.at_level(logging.WARNING, logger="llmcore.tokens"):
        async with llm_for() as llm:
            assert await attachment_cost(llm, "anthropic", [picture]) == anthropic_image(picture)
            assert await attachment_cost(llm, "anthropic", [document]) == 2 * ANTHROPIC_PAGE
    assert not caplog.records  # the API answered: no fallback to the estimate
    counted = [r.json for r in servers["anthropic"].requests_to("/count_tokens")]
    kinds = [b["type"] for body in counted for m in body["messages"]
             if isinstance(m["content"], list) for b in m["content"]]  # fmt: skip
    assert "image" in kinds and "document" in kinds


async def test_gemini_counts_attachments_with_its_api(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    async with llm_for() as llm:
        assert await attachment_cost(llm, "gemini", [png(300, 200)]) == GEMINI_IMAGE
        assert await attachment_cost(llm, "gemini", [pdf(3)]) == 3 * GEMINI_PAGE
        assert await attachment_cost(llm, "gemini", [png(), jpeg()]) == 2 * GEMINI_IMAGE


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
async def test_an_attachment_is_counted_once_per_content(
    llm_for: MakeLLM, servers: dict[str, Any], provider: str
) -> None:
    document = pdf(2)
    path = "/count_tokens" if provider == "anthropic" else ":countTokens"
    async with llm_for() as llm:
        await llm.chat("Summarise it.", session_id="s", provider_name=provider,
                       attachments=[document])  # fmt: skip
        before = len(servers[provider].requests_to(path))
        await llm.chat("And the second page?", session_id="s", provider_name=provider)
    # The second turn counts only its own new message and the reply, not the PDF again.
    assert len(servers[provider].requests_to(path)) - before == 2


async def test_truncation_drops_old_history_with_a_large_image_before_the_new_attachment(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    old, new = png(2048, 2048), png(512, 512)  # 765 and 255 tokens
    window = {"providers.openai.context_length": 1000, "providers.openai.max_tokens": 100}
    async with llm_for(**window) as llm:
        await llm.chat("Here is a big picture.", session_id="s", attachments=[old])
        await llm.chat("Now something else.", session_id="s")
        turn = await llm.chat_turn("And this small one?", session_id="s", attachments=[new])
        session = await llm.get_session("s")
    assert session is not None
    first_unit = [m.id for m in session.messages[:2]]
    assert turn.context.dropped == first_unit  # the old unit with its large image went
    assert [m.content for m in turn.history] == ["Now something else.", "echo: Now something else."]
    second, third = (r.json for r in servers["openai"].requests[1:])
    assert sent_images(second) == [old]  # while it fit, the old image was sent again
    assert sent_images(third) == [new]  # then it went, and the new one was sent
    assert turn.budget.total_used <= turn.budget.available


async def test_an_attachment_that_cannot_fit_alone_is_named_in_the_error(
    llm_for: MakeLLM, servers: dict[str, Any]
) -> None:
    window = {"providers.openai.context_length": 1000, "providers.openai.max_tokens": 100}
    async with llm_for(**window) as llm:
        with pytest.raises(ContextLengthError) as info:
            await llm.chat("What is this?", session_id="s", attachments=[image("PNG", 2048, 4096)])
        message = str(info.value)
        assert "The attachment alone cannot fit" in message
        assert "image (image/png) needs about 1105 tokens, more than the 900" in message
        with pytest.raises(ContextLengthError, match=r"report\.pdf \(application/pdf\)"):
            await llm.chat("Summarise.", session_id="s", attachments=[
                _named_pdf("report.pdf", 3)])  # fmt: skip
        assert await llm.get_session("s") is None
    assert info.value.limit == 900 and info.value.needed > 900
    assert servers["openai"].requests == []


async def test_several_attachments_that_only_fit_apart_say_so(llm_for: MakeLLM) -> None:
    window = {"providers.openai.context_length": 1000, "providers.openai.max_tokens": 100}
    async with llm_for(**window) as llm:
        with pytest.raises(ContextLengthError, match="Its attachments take about 1530"):
            await llm.chat("Compare.", attachments=[png(1024, 1024), png(1024, 1024)])


def _named_pdf(name: str, pages: int) -> Any:
    from llmcore.parts import DocumentPart

    return DocumentPart(media_type="application/pdf", data=pdf(pages), name=name)


def sent_images(body: dict[str, Any]) -> list[bytes]:
    import base64

    return [
        base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
        for message in body["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part["type"] == "image_url"
    ]
