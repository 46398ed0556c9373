"""The fakes refuse what the real APIs refuse, with the APIs' own messages.

Every provider test relies on this: a request a fake answers was valid for
its provider. OpenAI and Anthropic are called through their official SDKs;
Gemini and Ollama with plain HTTP in the APIs' own JSON.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from fakes._server import Reply, sign
from fakes.anthropic_server import FakeAnthropicServer, image_tokens
from fakes.gemini_server import IMAGE_TOKENS, FakeGeminiServer
from fakes.ollama_server import FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer
from fakes.openai_server import Reply as OpenAIReply


def picture(kind: str = "PNG", width: int = 30, height: int = 20) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, format=kind)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    with (
        FakeOpenAIServer() as o,
        FakeAnthropicServer() as a,
        FakeGeminiServer() as g,
        FakeOllamaServer() as ol,
    ):
        yield {"openai": o, "anthropic": a, "gemini": g, "ollama": ol}


@pytest.fixture
def oai(servers: dict[str, Any]) -> Iterator[openai.OpenAI]:
    servers["openai"].reset()
    with openai.OpenAI(api_key="sk-test", base_url=servers["openai"].base_url) as client:
        yield client


@pytest.fixture
def claude(servers: dict[str, Any]) -> Iterator[anthropic.Anthropic]:
    servers["anthropic"].reset()
    with anthropic.Anthropic(api_key="sk-test", base_url=servers["anthropic"].url) as client:
        yield client


@pytest.fixture
def gemini(servers: dict[str, Any]) -> Iterator[httpx.Client]:
    servers["gemini"].reset()
    with httpx.Client(base_url=servers["gemini"].url + "/v1beta/models") as client:
        yield client


@pytest.fixture
def ollama(servers: dict[str, Any]) -> Iterator[httpx.Client]:
    servers["ollama"].reset()
    with httpx.Client(base_url=servers["ollama"].url) as client:
        yield client


# -- OpenAI ---------------------------------------------------------------


def _refused(client: openai.OpenAI, **body: Any) -> openai.BadRequestError:
    body.setdefault("model", "gpt-4o-mini")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(**body)
    return info.value


def _tool_turn(call_id: str) -> list[dict[str, Any]]:
    call = {"id": call_id, "type": "function",
            "function": {"name": "f", "arguments": "{}"}}  # fmt: skip
    return [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": "done"},
    ]


def test_openai_refuses_tool_call_ids_over_40_characters(oai: openai.OpenAI) -> None:
    error = _refused(oai, messages=_tool_turn("c" * 41))
    assert error.message.endswith(
        "Invalid 'messages[1].tool_calls[0].id': string too long. Expected a string with "
        "maximum length 40, but got a string with length 41 instead."
    )
    assert error.code == "string_above_max_length"
    oai.chat.completions.create(model="gpt-4o-mini", messages=_tool_turn("c" * 40))  # type: ignore[arg-type]


def test_openai_takes_reasoning_effort_only_from_reasoning_models(oai: openai.OpenAI) -> None:
    error = _refused(oai, messages=[{"role": "user", "content": "hi"}], reasoning_effort="low")
    assert "'reasoning_effort' is not supported with this model" in error.message
    reply = oai.chat.completions.create(
        model="o3", messages=[{"role": "user", "content": "hi"}], reasoning_effort="medium"
    )
    assert reply.usage is not None and reply.usage.completion_tokens_details is not None
    assert reply.usage.completion_tokens_details.reasoning_tokens == 32


@pytest.mark.parametrize(
    ("part", "role", "message"),
    [
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,%%%"}}, "user",
         "Expected a base64-encoded data URL with an image MIME type"),
        ({"type": "image_url", "image_url": {"url": f"data:image/bmp;base64,{b64(b'BM..')}"}},
         "user", "You uploaded an unsupported image"),
        ({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}, "system",
         "Image URLs are only allowed for messages with role 'user'"),
        ({"type": "file", "file": {"filename": "a.md", "file_data":
          f"data:text/markdown;base64,{b64(b'# hi')}"}}, "user",
         "but got unsupported MIME type 'text/markdown'"),
        ({"type": "input_image", "image_url": "x"}, "user", "Invalid value: 'input_image'"),
    ],
)  # fmt: skip
def test_openai_refuses_content_parts_it_cannot_read(
    oai: openai.OpenAI, part: dict[str, Any], role: str, message: str
) -> None:
    error = _refused(oai, messages=[{"role": role, "content": [{"type": "text", "text": "hi"},
                                                                part]}])  # fmt: skip
    assert message in error.message


def test_openai_takes_images_and_pdfs_as_llmcore_sends_them(oai: openai.OpenAI) -> None:
    parts = [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": f"data:image/gif;base64,{b64(picture('GIF'))}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "file", "file": {"filename": "a.pdf",
                                  "file_data": f"data:application/pdf;base64,{b64(b'%PDF-1.4')}"}},
    ]  # fmt: skip
    reply = oai.chat.completions.create(model="gpt-4o-mini",
                                        messages=[{"role": "user", "content": parts}])  # type: ignore[list-item,misc]  # fmt: skip
    assert reply.choices[0].message.content == "echo: hi"


def test_openai_refuses_an_assistant_message_with_nothing_in_it(oai: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}]
    error = _refused(oai, messages=messages)
    assert "Invalid value for 'content': expected a string, got null." in error.message


def test_openai_reasoning_models_take_temperature_and_top_p_only_at_1(
    oai: openai.OpenAI,
) -> None:
    hi = [{"role": "user", "content": "hi"}]
    error = _refused(oai, model="o3", messages=hi, temperature=0.2)
    assert error.message.endswith(
        "Unsupported value: 'temperature' does not support 0.2 with this model. Only the "
        "default (1) value is supported."
    )
    assert (error.param, error.code) == ("temperature", "unsupported_value")
    error = _refused(oai, model="gpt-5-mini", messages=hi, top_p=0.5)
    assert "'top_p' does not support 0.5 with this model" in error.message
    assert error.param == "top_p"
    oai.chat.completions.create(model="o3", messages=hi, temperature=1, top_p=1)  # type: ignore[arg-type]
    oai.chat.completions.create(model="gpt-4o-mini", messages=hi, temperature=0.2, top_p=0.5)  # type: ignore[arg-type]


def test_openai_refuses_tool_calls_left_unanswered_at_the_end(oai: openai.OpenAI) -> None:
    error = _refused(oai, messages=_tool_turn("call_1")[:2])
    assert error.message.endswith(
        "An assistant message with 'tool_calls' must be followed by tool messages responding "
        "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        "call_1"
    )
    assert error.param == "messages"


def test_openai_streams_reasoning_content_as_compatible_servers_do(
    oai: openai.OpenAI, servers: dict[str, Any]
) -> None:
    servers["openai"].enqueue(OpenAIReply(text="Answer.", reasoning="Let me see."))
    stream = oai.chat.completions.create(model="deepseek-reasoner", stream=True,
                                         messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    deltas = [c.choices[0].delta for c in stream if c.choices]
    thought = "".join(getattr(d, "reasoning_content", None) or "" for d in deltas)
    assert (thought, "".join(d.content or "" for d in deltas)) == ("Let me see.", "Answer.")


# -- Anthropic ------------------------------------------------------------


def _claude_refused(client: anthropic.Anthropic, **body: Any) -> str:
    body.setdefault("model", "claude-sonnet-4-6")
    body.setdefault("max_tokens", 4096)
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(**body)
    assert isinstance(info.value.body, dict)
    return str(info.value.body["error"]["message"])


def _claude_loop(call_id: str) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "hi"},
        {"role": "assistant",
         "content": [{"type": "tool_use", "id": call_id, "name": "f", "input": {}}]},
        {"role": "user",
         "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "done"}]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        (_claude_loop("call.1:x"),
         "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"),
        ([*_claude_loop("toolu_1")[:2], {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "done"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "done"}]}],
         "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_2"),
        ([*_claude_loop("toolu_1")[:2], {"role": "user", "content": "and?"}],
         "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: "
         "toolu_1"),
        ([*_claude_loop("toolu_1"), {"role": "assistant", "content": "ok"},
          *_claude_loop("toolu_1")[1:]],
         "messages.4.content.0: `tool_use` ids must be unique"),
        ([{"role": "user", "content": ""}], "messages.0: all messages must have non-empty content"),
        ([{"role": "user", "content": [{"type": "image", "source": {
            "type": "base64", "media_type": "image/jpeg", "data": b64(picture())}}]}],
         "The image was specified using the image/jpeg media type, but the image appears to be "
         "a image/png image"),
        ([{"role": "user", "content": [{"type": "document", "source": {
            "type": "base64", "media_type": "application/pdf", "data": b64(b"PK zip")}}]}],
         "messages.0.content.0.pdf.source.base64.data: The PDF specified was not valid."),
    ],
)  # fmt: skip
def test_anthropic_refuses_what_the_messages_api_refuses(
    claude: anthropic.Anthropic, messages: list[dict[str, Any]], message: str
) -> None:
    assert message in _claude_refused(claude, messages=messages)


def _claude_result(*content: dict[str, Any]) -> list[dict[str, Any]]:
    """A tool loop whose tool_result holds ``content`` (blocks)."""
    loop = _claude_loop("toolu_1")
    loop[2]["content"][0]["content"] = list(content)
    return loop


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([{"type": "tool_use", "id": "toolu_2", "name": "f", "input": {}}],
         "messages.2.content.0.tool_result.content.0: Input tag 'tool_use' found using 'type' "
         "does not match any of the expected tags: 'text', 'image', 'search_result', "
         "'document'"),
        ([{"type": "text", "text": ""}, {"type": "image", "source": {
            "type": "base64", "media_type": "image/png", "data": b64(picture())}}],
         "messages: text content blocks must be non-empty"),
        ([{"type": "text", "text": "a chart"}, {"type": "image", "source": {
            "type": "base64", "media_type": "image/gif", "data": b64(picture())}}],
         "messages.2.content.0.tool_result.content.1.image.source.base64: The image was "
         "specified using the image/gif media type, but the image appears to be a image/png "
         "image"),
        ([{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                       "data": "@@not base64@@"}}],
         "messages.2.content.0.tool_result.content.0.image.source.base64.data: Could not "
         "process image"),
        ([{"type": "document", "source": {
            "type": "base64", "media_type": "application/pdf", "data": b64(b"PK zip")}}],
         "messages.2.content.0.tool_result.content.0.pdf.source.base64.data: The PDF "
         "specified was not valid."),
    ],
)  # fmt: skip
def test_anthropic_checks_a_tool_results_content_blocks(
    claude: anthropic.Anthropic, content: list[dict[str, Any]], message: str
) -> None:
    assert message in _claude_refused(claude, messages=_claude_result(*content))


def test_anthropic_takes_a_tool_result_of_any_string_or_of_media_blocks(
    claude: anthropic.Anthropic,
) -> None:
    for content in ("", " "):  # a string result may be anything, empty too
        loop = _claude_loop("toolu_1")
        loop[2]["content"][0]["content"] = content
        claude.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=loop)  # type: ignore[arg-type]
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": b64(picture())}}  # fmt: skip
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                          "data": b64(b"%PDF-1.4 fake")}}  # fmt: skip
    found = {"type": "search_result", "source": "https://example.com", "title": "Example",
             "content": [{"type": "text", "text": "Found it."}]}  # fmt: skip
    messages = _claude_result({"type": "text", "text": "a chart"}, image, pdf, found)
    claude.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=messages)  # type: ignore[arg-type]


def test_anthropic_thinking_settings_are_checked(claude: anthropic.Anthropic) -> None:
    hi = [{"role": "user", "content": "hi"}]
    low = {"type": "enabled", "budget_tokens": 512}
    assert "greater than or equal to 1024" in _claude_refused(claude, messages=hi, thinking=low)
    thinking = {"type": "enabled", "budget_tokens": 2048}
    assert "`max_tokens` must be greater than `thinking.budget_tokens`" in _claude_refused(
        claude, messages=hi, thinking=thinking, max_tokens=2048
    )
    assert "`temperature` may only be set to 1 when thinking is enabled" in _claude_refused(
        claude, messages=hi, thinking=thinking, extra_body={"temperature": 0.5}
    )


def test_anthropic_signs_its_thinking_and_streams_it(
    claude: anthropic.Anthropic, servers: dict[str, Any]
) -> None:
    servers["anthropic"].enqueue(Reply(text="Answer.", thinking="Let me think."))
    thinking = {"type": "enabled", "budget_tokens": 1024}
    with claude.messages.stream(model="claude-sonnet-4-6", max_tokens=4096, thinking=thinking,
                                messages=[{"role": "user", "content": "hi"}]) as stream:  # type: ignore[arg-type]  # fmt: skip
        kinds = [e.delta.type for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    assert kinds[0] == "thinking_delta" and "signature_delta" in kinds
    assert kinds.index("signature_delta") < kinds.index("text_delta")
    block = final.content[0]
    assert block.type == "thinking"
    assert (block.thinking, block.signature) == ("Let me think.", sign("thinking", "Let me think."))


def test_anthropic_wants_the_signed_thinking_back_in_a_tool_loop(
    claude: anthropic.Anthropic,
) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    loop = _claude_loop("toolu_1")
    message = _claude_refused(claude, messages=loop, thinking=thinking)
    assert message.startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`. When `thinking` is enabled, a final `assistant` message must start with a "
        "thinking block"
    )
    signed = {"type": "thinking", "thinking": "Plan.", "signature": sign("thinking", "Plan.")}
    loop[1]["content"].insert(0, signed)
    claude.messages.create(model="claude-sonnet-4-6", max_tokens=4096, thinking=thinking,
                           messages=loop)  # type: ignore[arg-type]  # fmt: skip
    loop[1]["content"][0] = {**signed, "thinking": "Plan B."}
    assert "messages.1.content.0: Invalid `signature` in `thinking` block" in _claude_refused(
        claude, messages=loop, thinking=thinking
    )


def test_anthropic_counts_images_and_pdfs(claude: anthropic.Anthropic) -> None:
    image = picture("PNG", 300, 200)
    content = [{"type": "text", "text": "hi"}, {"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": b64(image)}}]  # fmt: skip
    plain = claude.messages.count_tokens(model="claude-sonnet-4-6",
                                         messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    counted = claude.messages.count_tokens(model="claude-sonnet-4-6",
                                           messages=[{"role": "user", "content": content}])  # type: ignore[list-item,misc]  # fmt: skip
    assert counted.input_tokens - plain.input_tokens == image_tokens(image) == 80


# -- Gemini ---------------------------------------------------------------


def _generate(client: httpx.Client, body: dict[str, Any], model: str = "gemini-2.5-flash") -> Any:
    return client.post(f"/{model}:generateContent", json=body)


def _gemini_refusal(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    return str(error["message"])


def _inline(mime: str, data: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": "hi"}, {"inlineData": {"mimeType": mime,
                                                                       "data": data}}]}  # fmt: skip


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ([_inline("image/gif", b64(picture("GIF")))], "Unsupported MIME type: image/gif"),
        ([_inline("image/png", "@@not base64@@")], "Base64 decoding failed"),
        ([_inline("image/png", b64(b"not an image"))], "Unable to process input image"),
        ([{"role": "user", "parts": [{"text": "hi"}]},
          {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}],
         "function response turn comes immediately after a function call turn"),
        ([{"role": "user", "parts": [{"text": "hi"}]},
          {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}},
                                      {"functionCall": {"name": "g", "args": {}}}]},
          {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}],
         "the number of function response parts is equal to the number of function call parts"),
        ([{"role": "user", "parts": []}], "contents.parts must not be empty"),
        ([{"role": "assistant", "parts": [{"text": "hi"}]}],
         "Please use a valid role: user, model."),
    ],
)  # fmt: skip
def test_gemini_refuses_what_generate_content_refuses(
    gemini: httpx.Client, contents: list[Any], message: str
) -> None:
    assert message in _gemini_refusal(_generate(gemini, {"contents": contents}))


def test_gemini_takes_thinking_config_only_on_models_that_think(gemini: httpx.Client) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}  # fmt: skip
    refused = _generate(gemini, body, "gemini-2.0-flash")
    assert _gemini_refusal(refused) == "thinking_config is not supported."
    reply = _generate(gemini, body).json()
    parts = reply["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and parts[0]["text"].startswith("Thinking about")
    assert parts[-1]["thoughtSignature"]  # no function call: the last part is signed
    assert reply["usageMetadata"]["thoughtsTokenCount"] == len(parts[0]["text"].split())


def test_gemini_wants_its_thought_signature_back_on_the_function_call(
    gemini: httpx.Client, servers: dict[str, Any]
) -> None:
    servers["gemini"].enqueue(Reply(tool_calls=[{"name": "f", "arguments": {"x": 1}}]))
    asked = {"role": "user", "parts": [{"text": "hi"}]}
    config = {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}}
    reply = _generate(gemini, {"contents": [asked], "generationConfig": config}).json()
    (call,) = [p for p in reply["candidates"][0]["content"]["parts"] if "functionCall" in p]
    answer = {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}

    def replay(part: dict[str, Any]) -> httpx.Response:
        contents = [asked, {"role": "model", "parts": [part]}, answer]
        return _generate(gemini, {"contents": contents, "generationConfig": config})

    assert replay(call).status_code == 200
    missing = _gemini_refusal(replay({"functionCall": call["functionCall"]}))
    assert missing.startswith("Function call is missing a thought_signature in functionCall parts")
    assert "function call `default_api:f` , position 2" in missing
    other = {**call, "thoughtSignature": b64(b"someone else's")}
    assert _gemini_refusal(replay(other)) == "Corrupted thought signature."


def test_gemini_3_wants_a_signature_on_every_call_of_the_current_turn(
    gemini: httpx.Client,
) -> None:
    answer = {"functionResponse": {"name": "f", "response": {}}}
    contents = [{"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
                {"role": "user", "parts": [answer]}]  # fmt: skip
    assert "missing a thought_signature" in _gemini_refusal(
        _generate(gemini, {"contents": contents}, "gemini-3-pro-preview")
    )
    contents[1]["parts"][0]["thoughtSignature"] = "skip_thought_signature_validator"
    assert _generate(gemini, {"contents": contents}, "gemini-3-pro-preview").status_code == 200


def test_gemini_counts_inline_images(gemini: httpx.Client) -> None:
    plain = [{"role": "user", "parts": [{"text": "hi"}]}]
    image = [_inline("image/png", b64(picture()))]
    count = [gemini.post("/gemini-2.5-flash:countTokens", json={"contents": c}).json()
             for c in (plain, image)]  # fmt: skip
    assert count[1]["totalTokens"] - count[0]["totalTokens"] == IMAGE_TOKENS


# -- Ollama ---------------------------------------------------------------


def _chat(client: httpx.Client, **body: Any) -> httpx.Response:
    body.setdefault("stream", False)
    return client.post("/api/chat", json=body)


def test_ollama_checks_think_and_images_against_the_models_capabilities(
    ollama: httpx.Client, servers: dict[str, Any]
) -> None:
    servers["ollama"].add_model("qwen3:4b", ["thinking", "tools"])
    servers["ollama"].add_model("llava:7b", ["vision"])
    hi = [{"role": "user", "content": "hi"}]
    shown = ollama.post("/api/show", json={"model": "qwen3:4b"}).json()
    assert shown["capabilities"] == ["completion", "thinking", "tools"]
    refused = _chat(ollama, model="llama3.2", messages=hi, think=True)
    assert (refused.status_code, refused.json()) == (
        400, {"error": '"llama3.2" does not support thinking'})  # fmt: skip
    refused = _chat(ollama, model="qwen3:4b", messages=hi, think="high")
    assert refused.json() == {"error": 'think value "high" is not supported for this model'}
    image = b64(picture())
    as_url = [{"role": "user", "content": "hi", "images": [f"data:image/png;base64,{image}"]}]
    refused = _chat(ollama, model="llava:7b", messages=as_url)
    assert (refused.status_code, refused.json()) == (
        400, {"error": "illegal base64 data at input byte 4"})  # fmt: skip
    with_image = [{"role": "user", "content": "hi", "images": [image]}]
    assert "missing data required for image input" in _chat(
        ollama, model="llama3.2", messages=with_image).text  # fmt: skip
    assert _chat(ollama, model="llava:7b", messages=with_image).status_code == 200


def test_ollama_refuses_tools_to_a_model_without_the_tools_capability(
    ollama: httpx.Client, servers: dict[str, Any]
) -> None:
    servers["ollama"].add_model("gemma3:4b", ["vision"])
    servers["ollama"].add_model("llava", ["vision"])
    hi = [{"role": "user", "content": "hi"}]
    tools = [{"type": "function", "function": {"name": "f", "description": "F.",
                                               "parameters": {"type": "object"}}}]  # fmt: skip
    refused = _chat(ollama, model="gemma3:4b", messages=hi, tools=tools)
    assert (refused.status_code, refused.json()) == (
        400, {"error": "registry.ollama.ai/library/gemma3:4b does not support tools"})  # fmt: skip
    refused = _chat(ollama, model="llava", messages=hi, tools=tools)
    assert refused.json() == {"error": "registry.ollama.ai/library/llava:latest does not support "
                                       "tools"}  # fmt: skip
    assert _chat(ollama, model="gemma3:4b", messages=hi, tools=[]).status_code == 200
    assert _chat(ollama, model="llama3.2", messages=hi, tools=tools).status_code == 200


def test_ollama_thinks_when_asked_and_streams_the_thinking_first(
    ollama: httpx.Client, servers: dict[str, Any]
) -> None:
    servers["ollama"].add_model("qwen3:4b", ["thinking"])
    servers["ollama"].enqueue(Reply(text="Answer.", thinking="Hmm, let me see."))
    hi = [{"role": "user", "content": "hi"}]
    whole = _chat(ollama, model="qwen3:4b", messages=hi, think=True).json()
    assert whole["message"] == {"role": "assistant", "content": "Answer.",
                                "thinking": "Hmm, let me see."}  # fmt: skip
    body = {"model": "qwen3:4b", "messages": hi, "think": True}
    with ollama.stream("POST", "/api/chat", json=body) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    thinking = [m["message"].get("thinking", "") for m in lines]
    content = [m["message"]["content"] for m in lines]
    assert "".join(thinking) == "Thinking about: hi" and "".join(content) == "echo: hi"
    assert max(i for i, t in enumerate(thinking) if t) < min(i for i, c in enumerate(content) if c)
