"""Stages used by the pipeline tests, loaded from TOML by 'custom_stages:Name'."""

from __future__ import annotations

from typing import Any

import msgspec

from llmcore import ContextDocument, Message, ProviderError, Role, Turn
from llmcore.exchange import ModelRequest, ModelResponse
from llmcore.providers import BaseProvider
from llmcore.providers.openai import OpenAIProvider


class Shout:
    """Upper-cases the user's message in the payload and notes it in turn.state."""

    def __init__(self, *, times: int = 1):
        if times < 1:
            raise ValueError("times must be at least 1")
        self.times = times

    async def __call__(self, turn: Turn) -> None:
        for message in turn.payload:
            if message.role is Role.USER and message is turn.user_message:
                message.content = message.content.upper() + "!" * self.times
        turn.state["shouted"] = True


class Sign:
    """Signs the reply after the provider answered."""

    def __init__(self, *, signature: str = "-- llmcore"):
        self.signature = signature

    async def __call__(self, turn: Turn) -> None:
        turn.response.text = f"{turn.response.text} {self.signature}"


async def record_history_size(turn: Turn) -> None:
    """A plain async function used as a stage."""
    turn.state["history_size"] = len(turn.history)


class Explode:
    """Fails with an ordinary exception."""

    async def __call__(self, turn: Turn) -> None:
        raise RuntimeError("boom")


NOT_A_STAGE = 42


class LoudOpenAI(OpenAIProvider):
    """A provider registered through the llmcore.providers entry point group."""

    def decode(self, raw: Any, request: ModelRequest) -> ModelResponse:
        response = super().decode(raw, request)
        response.text = response.text.upper()
        return response


class PlaceDocuments:
    """Puts fixed documents on the Turn, as the retrieve stage would."""

    def __init__(self, *, documents: list[dict[str, Any]]):
        self.documents = [ContextDocument(**d) for d in documents]

    async def __call__(self, turn: Turn) -> None:
        turn.documents = [ContextDocument(**msgspec.structs.asdict(d)) for d in self.documents]


class Around:
    """A wrapping stage: notes what it sees before and after the rest of the turn."""

    def __init__(self, *, rescue: bool = False):
        self.rescue = rescue

    async def __call__(self, turn: Turn, call_next: Any) -> None:
        seen = turn.state.setdefault("around", [])
        seen.append(("before", turn.response.text, turn.response.complete))
        try:
            await call_next(turn)
        except ProviderError as exc:
            seen.append(("caught", exc.kind, turn.response.complete))
            if not self.rescue:
                raise
            turn.response.text = "Sorry, the model is unavailable."
            turn.response.complete = True
            return
        finally:
            turn.note("wrapped the rest")
        seen.append(("after", turn.response.text, turn.response.complete))


async def timed(turn: Turn, call_next: Any) -> None:
    """A wrapping stage written as a plain function."""
    turn.state["timed"] = "started"
    await call_next(turn)
    turn.state["timed"] = f"done: {turn.response.text}"


CLEANED: list[BaseException | None] = []


class Cleanup:
    """The older cleanup form: a plain stage with always_run, seeing turn.error."""

    always_run = True

    async def __call__(self, turn: Turn) -> None:
        CLEANED.append(turn.error)


class NeedsVerdict:
    """Declares that it reads something only Judge provides."""

    reads = ("verdict",)

    async def __call__(self, turn: Turn) -> None:
        turn.state["verdict_seen"] = turn.state.get("verdict")


class Judge:
    """Provides what NeedsVerdict reads."""

    provides = ("verdict",)

    async def __call__(self, turn: Turn) -> None:
        turn.state["verdict"] = "fine"


class SpecEcho(BaseProvider):
    """A provider written to the specification: __init__(config), chat_completion -> dicts."""

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self.config = config

    async def chat_completion(  # type: ignore[override]
        self, context: Any, model: str | None = None, stream: bool = False, **kwargs: Any
    ) -> Any:
        text = f"{self.config['name']}:{context[-1].content}"
        if not stream:
            return {
                "choices": [{"message": {"content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 2, "completion_tokens": 1},
                "model": model,
            }

        async def chunks() -> Any:
            for piece in (text[:3], text[3:]):
                yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
            yield {"choices": [{"delta": {}, "finish_reason": "stop"}], "model": model}

        return chunks()

    def count_tokens(self, text: str, model: str | None = None) -> int:
        return len(text.split())

    def message_tokens(self, message: Message, model: str | None = None) -> int:
        return 3 + self.count_tokens(message.content)
