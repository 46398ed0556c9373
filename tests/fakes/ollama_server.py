"""A local fake of Ollama's HTTP API.

Endpoints: ``POST /api/chat`` (one JSON object, or NDJSON lines when
``stream`` is true or absent, the last with ``done: true`` and the counts
``prompt_eval_count`` / ``eval_count``), ``GET /api/tags`` and
``POST /api/show`` (``model_info`` with ``<arch>.context_length``, the
Modelfile ``parameters`` and the model's ``capabilities``). Faults are
scripted with :class:`~fakes._server.Reply`.

Requests are checked as Ollama checks them: ``think`` only for a model with
the ``thinking`` capability (an effort string only for ``gpt-oss``), images
as base64 strings, and only to a model with ``vision``, ``tools`` only to a
model with ``tools``. With ``think`` the
reply carries ``message.thinking`` (streamed before the answer).
Counts: a prompt counts the words of all messages, a reply its words.
"""

from __future__ import annotations

import json
from typing import Any

from fakes import structured_checks
from fakes._server import FakeServer, Handler, RecordedRequest, Reply, b64decode

__all__ = ["FakeOllamaServer", "Reply"]

#: Model name -> (architecture, context_length, Modelfile parameters).
DEFAULT_MODELS: dict[str, tuple[str, int, str]] = {
    "llama3.2:latest": ("llama", 131072, 'stop "<|eot_id|>"'),
    "qwen2.5:0.5b": ("qwen2", 32768, "num_ctx 8192"),
}
#: What ``/api/show`` lists as each model's ``capabilities`` (default: completion).
DEFAULT_CAPABILITIES: dict[str, list[str]] = {
    "llama3.2:latest": ["completion", "tools"],
    "qwen2.5:0.5b": ["completion", "tools"],
}


class FakeOllamaServer(FakeServer):
    """Speaks Ollama's ``/api``; point a provider's ``base_url`` at :attr:`url`."""

    name = "ollama"
    chat_paths = ("/api/chat",)

    def __init__(self) -> None:
        super().__init__()
        #: Model name -> (architecture, context_length, Modelfile parameters).
        self.models: dict[str, tuple[str, int, str]] = dict(DEFAULT_MODELS)
        #: Model name -> its ``capabilities`` (``thinking``, ``vision``, ``tools``...).
        self.capabilities: dict[str, list[str]] = dict(DEFAULT_CAPABILITIES)

    def add_model(
        self, name: str, capabilities: list[str], arch: str = "qwen3", context: int = 40960
    ) -> None:
        """Serve another model (until :meth:`reset`), e.g. one with ``thinking``."""
        with self._lock:
            self.models[name] = (arch, context, "")
            self.capabilities[name] = ["completion", *capabilities]

    def reset(self) -> None:
        """Forget requests, replies and settings; serve the default models again."""
        super().reset()
        with self._lock:
            self.models = dict(DEFAULT_MODELS)
            self.capabilities = dict(DEFAULT_CAPABILITIES)

    def handle(self, handler: Handler, request: RecordedRequest) -> None:
        """Route a request to an endpoint."""
        body = request.json if isinstance(request.json, dict) else {}
        if request.method == "GET" and request.path == "/api/tags":
            tags = [
                {"name": name, "model": name, "size": 1, "digest": "sha256:0", "details": {}}
                for name in self.models
            ]
            handler.send_json(200, {"models": tags})
        elif request.method == "POST" and request.path == "/api/show":
            info = self._model(str(body.get("model", "")))
            if info is None:
                handler.send_json(404, {"error": f"model '{body.get('model')}' not found"})
                return
            arch, context, parameters = info
            handler.send_json(
                200,
                {
                    "parameters": parameters,
                    "template": "{{ .Prompt }}",
                    "details": {"family": arch},
                    "model_info": {"general.architecture": arch, f"{arch}.context_length": context},
                    "capabilities": self._capabilities(str(body.get("model", ""))),
                },
            )
        elif request.method == "POST" and request.path == "/api/chat":
            self._chat(handler, body, self.next_reply())
        else:
            handler.send_json(404, {"error": "404 page not found"})

    def _model(self, name: str) -> tuple[str, int, str] | None:
        return self.models.get(name) or self.models.get(f"{name}:latest")

    def _capabilities(self, name: str) -> list[str]:
        found = self.capabilities.get(name) or self.capabilities.get(f"{name}:latest")
        return list(found or ["completion"])

    def _refusal(self, body: dict[str, Any]) -> tuple[int, str] | None:
        """Ollama's status and error for a request it refuses, or None."""
        model = str(body.get("model", ""))
        capabilities = self._capabilities(model)
        if body.get("tools") and "tools" not in capabilities:
            # Ollama names the model in full: registry.ollama.ai/library/llama3.2:latest
            name = model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"
            name = name if "/" in name else f"registry.ollama.ai/library/{name}"
            return 400, f"{name} does not support tools"
        think = body.get("think")
        if think not in (None, False):
            if "thinking" not in capabilities:
                return 400, f'"{model}" does not support thinking'
            if isinstance(think, str) and not model.startswith("gpt-oss"):
                return 400, f'think value "{think}" is not supported for this model'
        for message in body.get("messages") or []:
            for image in message.get("images") or []:
                if b64decode(image) is None:
                    text = str(image)
                    bad = next((i for i, c in enumerate(text) if not _is_b64(c)), len(text))
                    return 400, f"illegal base64 data at input byte {bad}"
                if "vision" not in capabilities:
                    return 500, (
                        "Failed to create new sequence: failed to process inputs: this model "
                        "is missing data required for image input"
                    )
        return None

    def _chat(self, handler: Handler, body: dict[str, Any], reply: Reply) -> None:
        model = str(body.get("model", ""))
        if reply.status != 200:
            error = b"<html>" if reply.malformed else reply.error_body or {"error": "fake error"}
            handler.send_json(reply.status, error, reply.headers)
            return
        if self._model(model) is None:
            message = f'model "{model}" not found, try pulling it first'
            handler.send_json(404, {"error": message})
            return
        schema_problem = structured_checks.ollama(body)
        problem = self._refusal(body) or (schema_problem and (400, schema_problem))
        if problem is not None:  # what Ollama refuses, it refuses here too
            handler.send_json(problem[0], {"error": problem[1]})
            return
        messages = body.get("messages") or []
        users = [m for m in messages if m.get("role") == "user"]
        last = str(users[-1].get("content", "")) if users else ""
        text = self.reply_text(reply, last)
        thinking = (
            self.reply_thinking(reply, last) if body.get("think") not in (None, False) else ""
        )
        calls = [
            {"function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in reply.tool_calls or []
        ]
        if calls and reply.text is None and reply.chunks is None:
            text = ""
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
        prompt_tokens, eval_tokens = reply.usage or (prompt, len(text.split()))
        base = {"model": model, "created_at": "2025-01-01T00:00:00.000000Z"}
        final = {
            "done": True,
            "done_reason": reply.finish_reason or "stop",
            "total_duration": 1000,
            "prompt_eval_count": prompt_tokens,
            "eval_count": eval_tokens,
        }
        if body.get("stream") is False:
            if reply.malformed:
                handler.send_json(200, b'{"model": "broken", "message": {', reply.headers)
                return
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if thinking:
                message["thinking"] = thinking
            if calls:
                message["tool_calls"] = calls
            handler.send_json(200, {**base, "message": message, **final}, reply.headers)
            return
        handler.begin_chunked("application/x-ndjson", reply.headers)

        def line(payload: dict[str, Any] | bytes) -> None:
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            handler.chunk(raw + b"\n")

        if reply.error_event:
            line({"error": reply.error_event})
            handler.end_chunks()
            return
        if reply.malformed:
            line(b"{not json")
        for piece in self.reply_chunks(Reply(), thinking) if thinking else ():
            message = {"role": "assistant", "content": "", "thinking": piece}
            line({**base, "message": message, "done": False})
        for piece in self.reply_chunks(reply, text)[: reply.cut_after]:
            line({**base, "message": {"role": "assistant", "content": piece}, "done": False})
        if reply.cut_after is not None:
            handler.cut()
            return
        if calls:  # Ollama streams tool calls whole, in a chunk of their own
            message = {"role": "assistant", "content": "", "tool_calls": calls}
            line({**base, "message": message, "done": False})
        line({**base, "message": {"role": "assistant", "content": ""}, **final})
        handler.end_chunks()


def _is_b64(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "+/=")
